"""What the page and the API run for a user: the ranking, "where to build", their files and
the commune shapes of the map, always within planning.scope.planning_scope(user)."""

# ruff: noqa: S608 - SQL assembled from this package's constant snippets; values travel as parameters.

import json
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

from . import exports
from .access import COMMUNES_SQL, distance_method
from .priority import PriorityRow, clean_weights, commune_priority
from .scope import PlanningScope, planning_scope
from .siting import SitingResult, greedy_sites

# Boundaries drawn from data (no tile server): simplified to ~50 m, 5 decimals (~1 m).
SIMPLIFY_DEG = 0.0005


def scope_label(scope: PlanningScope) -> str:
    if scope.area is None:
        return _("Lai Châu province")
    return scope.area.name


@dataclass
class Ranking:
    rows: list[PriorityRow]
    weights: dict[str, float]  # as used (scaled to sum 1)
    threshold_m: float
    scope: PlanningScope

    @property
    def method(self) -> str:
        """The method of distance the ranking was computed with (access.distance_method)."""
        return self.rows[0].method if self.rows else distance_method()

    def file(self, fmt: str) -> tuple[bytes, str]:
        params = exports.ranking_parameters(
            rows=self.rows,
            weights=self.weights,
            threshold_m=self.threshold_m,
            scope_label=scope_label(self.scope),
            exact=self.scope.exact_incidents,
            method=self.method,
        )
        return exports.render(fmt, params, [exports.ranking_table(self.rows)])


def ranking(*, user, weights: dict | None, threshold_m: float, year: int | None = None) -> Ranking:
    scope = planning_scope(user)
    rows = commune_priority(
        weights=weights,
        threshold_m=threshold_m,
        year=year,
        sources=scope.sources(),
        communes=scope.communes,
        exact_incidents=scope.exact_incidents,
    )
    return Ranking(rows=rows, weights=clean_weights(weights), threshold_m=threshold_m, scope=scope)


@dataclass
class Siting:
    result: SitingResult
    scope: PlanningScope
    only_extremely_difficult: bool
    points: int | None  # None: the villages are the candidates

    def candidates_label(self) -> str:
        if self.points is None:
            return _("the villages")
        return _("%(n)s point(s) given by the planner") % {"n": self.points}

    def file(self, fmt: str) -> tuple[bytes, str]:
        params = exports.siting_parameters(
            result=self.result,
            threshold_m=self.result.threshold_m,
            scope_label=scope_label(self.scope),
            only_ed=self.only_extremely_difficult,
            candidates_label=self.candidates_label(),
        )
        return exports.render(fmt, params, exports.picks_tables(self.result))


def siting(
    *,
    user,
    budget,
    candidates: list | None,
    threshold_m: float,
    only_extremely_difficult: bool,
    year: int | None = None,
    with_villages: bool = False,
) -> Siting:
    scope = planning_scope(user)
    result = greedy_sites(
        budget=budget,
        candidates=candidates,
        threshold_m=threshold_m,
        only_extremely_difficult=only_extremely_difficult,
        year=year,
        sources=scope.sources(),
        communes=scope.communes,
        with_villages=with_villages,
    )
    return Siting(
        result=result,
        scope=scope,
        only_extremely_difficult=only_extremely_difficult,
        points=None if candidates is None else len(candidates),
    )


def commune_shapes(communes: frozenset[int] | None) -> dict:
    """Today's communes (of the scope) as a GeoJSON FeatureCollection: id, code, name, name_en."""
    where, params = ("", []) if communes is None else (" WHERE u.id = ANY(%s)", [list(communes)])
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT u.id, u.code, u.name, u.name_en,"
            f" ST_AsGeoJSON(ST_SimplifyPreserveTopology(g.geom, %s), 5)"
            f" FROM ({COMMUNES_SQL}) u JOIN places_adminunit g ON g.id = u.id{where} ORDER BY u.code",
            [SIMPLIFY_DEG, *params],
        )
        rows = cur.fetchall()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": uid,
                "properties": {"id": uid, "code": code, "name": name, "name_en": name_en},
                "geometry": json.loads(geom),
            }
            for uid, code, name, name_en, geom in rows
        ],
    }
