"""Planning collection: the play-area priority of today's communes, as features.

`planning-priority`: one feature per commune of the reader's planning scope
(planning.scope.planning_scope: the province for planners, the coordinator and
administrators; an area leader's communes), ranked with the planning page's default weights
and walking threshold (planning.priority.DEFAULT_WEIGHTS, 1,000 m). Properties are flat so
GIS clients see columns: rank, score, the method of distance, children and access figures,
and for each component its raw value, weight and contribution. Incident numbers are exact or
the published suppressed ones exactly as the planning page gives them to that reader
(`incidents_hidden` when a small count is withheld).

Readers who may not plan do not see the collection at all: it is left out of /collections
and its URLs answer 404 like an unknown collection. There is no temporal property (the ranking
uses the latest statistics and the last five years of incidents): `datetime` is a 400.
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from planning.analysis import ranking
from planning.priority import DEFAULT_WEIGHTS, PriorityRow
from planning.scope import planning_scope

from .collections import CRS84, GREGORIAN, NEW_STRUCTURE_DAY, Collection, UnitsCollection, units_in_box
from .common import bad_param, not_found
from .indicators import unit_features

THRESHOLD_M = 1000.0


def properties(row: PriorityRow) -> dict:
    access = row.access
    props = {
        "code": row.code,
        "name": row.name,
        "name_en": row.name_en,
        "rank": row.rank,
        "score": round(row.score, 4),
        "method": row.method,
        "threshold_m": row.threshold_m,
        "incidents": row.incidents,
        "incidents_hidden": row.incidents is None,
        "children_0_15": row.children_0_15,
        "villages": access.villages if access else None,
        "children_in_villages": access.children if access else None,
        "children_unserved": access.children_unserved if access else None,
        "playgrounds": access.playgrounds if access else None,
        "missing": ", ".join(row.missing),
    }
    for name in DEFAULT_WEIGHTS:
        part = row.components.get(name)
        props[f"{name}_value"] = None if part is None else part.raw
        props[f"{name}_weight"] = None if part is None else round(part.weight, 4)
        props[f"{name}_contribution"] = None if part is None else round(part.contribution, 4)
    return props


@dataclass(frozen=True)
class PlanningCollection(Collection):
    layer_type = "planning"

    def visible(self, user) -> bool:
        try:
            planning_scope(user)
        except PermissionDenied:
            return False
        return True

    def _units(self):
        return UnitsCollection("units-2025", "", "", day=NEW_STRUCTURE_DAY)

    def _rows(self, user, *, bbox=None, ids=None) -> list[tuple[int, dict]]:
        if not self.visible(user):
            raise not_found(_("no collection '%(id)s'") % {"id": self.id})
        rows = ranking(user=user, weights=None, threshold_m=THRESHOLD_M).rows
        if bbox is not None:
            inside = units_in_box(NEW_STRUCTURE_DAY, bbox)
            rows = [r for r in rows if r.commune_id in inside]
        if ids is not None:
            rows = [r for r in rows if r.commune_id in ids]
        return [(r.commune_id, properties(r)) for r in rows]

    def page(self, user, *, bbox, interval, limit: int, offset: int) -> tuple[int, int, str]:
        if interval is not None:
            raise bad_param("datetime", _("this collection has no time: leave datetime out"))
        rows = self._rows(user, bbox=bbox)
        returned, features = unit_features(rows[offset : offset + limit])
        return len(rows), returned, features

    def single(self, user, feature_id: int) -> str | None:
        returned, features = unit_features(self._rows(user, ids={feature_id}))
        return features[1:-1] if returned else None

    def extent(self, user) -> dict:
        scope = planning_scope(user)
        units = self._units().rows(user).filter(level="commune")
        if scope.communes is not None:
            units = units.filter(id__in=scope.communes)
        ids_sql, params = units.order_by().values("id").query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"  # noqa: S608
                f" (SELECT ST_Extent(geom) e FROM places_adminunit WHERE id IN ({ids_sql})) t",
                params,
            )
            box = cur.fetchone()
        return {
            "spatial": {"bbox": [list(box)] if box[0] is not None else [], "crs": CRS84},
            "temporal": {"interval": [[None, None]], "trs": GREGORIAN},
        }

    def tile_fields(self) -> dict[str, str]:
        return {}


def planning_collections() -> list[Collection]:
    return [
        PlanningCollection(
            "planning-priority",
            gettext_lazy("Play-area priority per commune"),
            gettext_lazy(
                "Today's communes ranked for new play areas with the planning page's default "
                "weights and a 1,000 m walk; each component's value, weight and contribution. "
                "Only for planners, the coordinator, administrators and area leaders (their area)."
            ),
        )
    ]
