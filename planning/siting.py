"""Where would N new play areas reach the most children: greedy maximum coverage.

1. Villages already within threshold_m of an active playground are served (access.py).
2. Candidate × unserved-village pairs within threshold_m are computed ONCE in PostGIS:
   the unserved villages go into a temporary table in UTM 48N (EPSG:32648) with a
   GiST index, ST_DWithin on the projected geometry finds the pairs through the index
   (with a 0.5 % margin for the projection's scale error, up to 0.06 % in the province),
   and ST_DWithin on geography confirms them on the spheroid, as access measures.
3. Greedy in Python over the sparse pairs: each step picks the candidate newly serving
   the most children (ties → lowest candidate index); a max-heap with lazy updates
   (a candidate's gain only shrinks, so a popped gain that is still current is the best).

Straight-line distance: see access.METHOD.
"""

# ruff: noqa: S608 - SQL assembled from this package's constant snippets and Django-compiled querysets; values travel as parameters.

import heapq
from dataclasses import dataclass, field

from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils.translation import gettext as _

from places.models import StatIndicator, UnitStatistic
from places.selectors import today, unit_ids_at

from .access import (
    COMMUNES_SQL,
    METHOD,
    UTM_MARGIN,
    UTM_SRID,
    Sources,
    check_threshold,
    stage_playgrounds,
)
from .exceptions import PlanningInvalid
from .priority import _stat_years


@dataclass
class Pick:
    order: int
    candidate_index: int
    village_id: int | None  # when the candidates are the villages
    lon: float
    lat: float
    commune_id: int | None
    commune_code: str | None
    children_newly_served: int
    villages_newly_served: int
    cumulative_children_newly_served: int


@dataclass
class CommuneBeforeAfter:
    commune_id: int
    code: str
    name: str
    children: int
    served_before: int
    served_after: int


@dataclass
class SitingResult:
    budget: int
    threshold_m: float
    picks: list[Pick]
    stop_reason: str
    children: int
    served_before: int
    served_after: int
    communes: list[CommuneBeforeAfter] = field(default_factory=list)
    candidates: int = 0
    method: str = METHOD


def _clean_budget(budget) -> int:
    if isinstance(budget, bool) or not isinstance(budget, int):
        try:
            if isinstance(budget, bool) or float(budget) != int(float(budget)):
                raise ValueError
            budget = int(float(budget))
        except (TypeError, ValueError):
            raise PlanningInvalid({"budget": [_("expected a whole number of play areas")]}) from None
    if budget < 0:
        raise PlanningInvalid({"budget": [_("must be at least 0")]})
    return budget


def _clean_candidates(candidates: list[Point]) -> list[Point]:
    errors: dict[str, list[str]] = {}
    points = []
    for i, p in enumerate(candidates):
        if not isinstance(p, Point) or p.empty:
            errors[f"candidates[{i}]"] = [_("expected a point")]
            continue
        if p.srid not in (None, 4326):
            p = p.transform(4326, clone=True)
        points.append(Point(p.x, p.y, srid=4326))
    if errors:
        raise PlanningInvalid(errors)
    communes = unit_ids_at(geoms=points)
    for i, c in enumerate(communes):
        if c is None:
            errors[f"candidates[{i}]"] = [_("outside the province")]
    if errors:
        raise PlanningInvalid(errors)
    return points


def _extremely_difficult_ids(year: int | None) -> set[int]:
    y = _stat_years(year, [StatIndicator.EXTREMELY_DIFFICULT])[StatIndicator.EXTREMELY_DIFFICULT]
    return set(
        UnitStatistic.objects.filter(
            indicator=StatIndicator.EXTREMELY_DIFFICULT, year=y, value=1
        ).values_list("unit_id", flat=True)
    )


def siting_run(
    *,
    sources: Sources,
    budget,
    candidates: list[Point] | None,
    threshold_m,
    only_extremely_difficult: bool,
    year: int | None,
) -> SitingResult:
    budget = _clean_budget(budget)
    threshold = check_threshold(threshold_m)
    points = _clean_candidates(candidates) if candidates is not None else None
    with transaction.atomic(), connection.cursor() as cur:
        staged = stage_playgrounds(cur, sources)
        cur.execute("DROP TABLE IF EXISTS planning_village")
        # Served today: any playground within the threshold (index on UTM, decided on the
        # spheroid), as in planning.access.commune_access_sql — no nearest-neighbour walk.
        cur.execute(
            f"CREATE TEMP TABLE planning_village ON COMMIT DROP AS"
            f" SELECT v.id, v.commune_id, v.children,"
            f" EXISTS (SELECT 1 FROM ({staged.playgrounds}) p"
            f"  WHERE ST_DWithin(p.geom_utm, ST_Transform(v.geom, {UTM_SRID}), %s)"
            f"  AND ST_DWithin(p.geom::geography, v.geom::geography, %s)) AS served,"
            f" v.geom, ST_Transform(v.geom, {UTM_SRID}) AS utm"
            f" FROM ({sources.villages}) v",
            [*staged.playground_params, threshold * UTM_MARGIN, threshold, *sources.village_params],
        )
        cur.execute("CREATE INDEX ON planning_village USING gist (utm) WHERE NOT served")
        cur.execute("ANALYZE planning_village")
        cur.execute("DROP TABLE IF EXISTS planning_candidate")
        if points is None:
            cur.execute(
                "CREATE TEMP TABLE planning_candidate ON COMMIT DROP AS"
                " SELECT (row_number() OVER (ORDER BY id) - 1)::int AS i, id AS village_id, commune_id, geom,"
                " utm FROM planning_village"
            )
        else:
            cur.execute(
                "CREATE TEMP TABLE planning_candidate ON COMMIT DROP AS"
                " SELECT (t.i - 1)::int AS i, NULL::bigint AS village_id, places_unit_at(g, %s, 'commune')"
                " AS commune_id, g AS geom, ST_Transform(g, %s) AS utm"
                " FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS t(x, y, i),"
                " LATERAL ST_SetSRID(ST_MakePoint(t.x, t.y), 4326) AS g",
                [today(), UTM_SRID, [p.x for p in points], [p.y for p in points]],
            )
        if only_extremely_difficult:
            cur.execute(
                "DELETE FROM planning_candidate WHERE commune_id IS NULL OR NOT commune_id = ANY(%s)",
                [list(_extremely_difficult_ids(year))],
            )
        cur.execute(
            "SELECT c.i, v.id, v.children, v.commune_id FROM planning_candidate c JOIN planning_village v"
            " ON NOT v.served AND ST_DWithin(v.utm, c.utm, %s)"
            " AND ST_DWithin(v.geom::geography, c.geom::geography, %s)"
            " ORDER BY c.i, v.id",
            [threshold * UTM_MARGIN, threshold],
        )
        pairs = cur.fetchall()
        cur.execute(
            "SELECT i, village_id, ST_X(geom), ST_Y(geom), commune_id FROM planning_candidate ORDER BY i"
        )
        cands = {i: (vid, x, y, cid) for i, vid, x, y, cid in cur.fetchall()}
        cur.execute(
            "SELECT v.commune_id, sum(v.children)::bigint, sum(v.children) FILTER (WHERE v.served)::bigint"
            " FROM planning_village v GROUP BY v.commune_id"
        )
        before = {cid: (children or 0, served or 0) for cid, children, served in cur.fetchall()}
        cur.execute("SELECT id, code, name FROM (" + COMMUNES_SQL + ") u ORDER BY code")
        communes = cur.fetchall()

    covers: dict[int, list[int]] = {}
    children_of: dict[int, int] = {}
    village_commune: dict[int, int] = {}
    for i, vid, children, cid in pairs:
        covers.setdefault(i, []).append(vid)
        children_of[vid] = children
        village_commune[vid] = cid

    picks, stop_reason = _greedy(budget, covers, children_of, cands)
    codes = {uid: code for uid, code, _name in communes}
    newly: dict[int, int] = {}
    for p in picks:
        p.commune_code = codes.get(p.commune_id)
    for vid in _served_by(picks, covers, children_of):
        cid = village_commune[vid]
        newly[cid] = newly.get(cid, 0) + children_of[vid]
    rows = [
        CommuneBeforeAfter(
            commune_id=uid,
            code=code,
            name=name,
            children=before.get(uid, (0, 0))[0],
            served_before=before.get(uid, (0, 0))[1],
            served_after=before.get(uid, (0, 0))[1] + newly.get(uid, 0),
        )
        for uid, code, name in communes
    ]
    total = sum(c for c, _s in before.values())
    served_before = sum(s for _c, s in before.values())
    gained = picks[-1].cumulative_children_newly_served if picks else 0
    return SitingResult(
        budget=budget,
        threshold_m=threshold,
        picks=picks,
        stop_reason=stop_reason,
        children=total,
        served_before=served_before,
        served_after=served_before + gained,
        communes=rows,
        candidates=len(cands),
    )


def _greedy(budget, covers, children_of, cands) -> tuple[list[Pick], str]:
    served: set[int] = set()
    heap = [(-sum(children_of[v] for v in vs), i) for i, vs in covers.items()]
    heapq.heapify(heap)
    picks: list[Pick] = []
    cumulative = 0
    while len(picks) < budget:
        if not heap:
            break
        stored, i = heapq.heappop(heap)
        fresh = [v for v in covers[i] if v not in served]
        gain = sum(children_of[v] for v in fresh)
        if gain != -stored:
            if fresh:
                covers[i] = fresh  # shrink: later re-evaluations are cheaper
                heapq.heappush(heap, (-gain, i))
            continue
        if gain == 0:
            break
        served.update(fresh)
        cumulative += gain
        vid, x, y, cid = cands[i]
        picks.append(
            Pick(
                order=len(picks) + 1,
                candidate_index=i,
                village_id=vid,
                lon=x,
                lat=y,
                commune_id=cid,
                commune_code=None,
                children_newly_served=gain,
                villages_newly_served=len(fresh),
                cumulative_children_newly_served=cumulative,
            )
        )
        covers[i] = fresh
    if len(picks) >= budget:
        reason = _("budget used: %(n)s play area(s) placed") % {"n": budget}
    elif not cands:
        reason = _("no candidate to choose from")
    else:
        reason = _(
            "only %(n)s of %(budget)s play area(s) placed: no other candidate would newly serve any child "
            "within the distance"
        ) % {"n": len(picks), "budget": budget}
    return picks, reason


def _served_by(picks: list[Pick], covers, children_of) -> list[int]:
    """The villages newly served by the picks (covers[i] holds each pick's own new villages)."""
    return [v for p in picks for v in covers[p.candidate_index]]


def greedy_sites(
    *,
    budget: int,
    candidates: list[Point] | None = None,
    threshold_m: float = 1000,
    only_extremely_difficult: bool = False,
    year: int | None = None,
) -> SitingResult:
    """Greedy maximum coverage of the children not yet within threshold_m of a playground.

    candidates: the planner's points (any SRID, must lie in the province) or, if None,
    the active villages (candidate index = position by village id). With
    only_extremely_difficult, only candidates in communes flagged extremely difficult
    (UnitStatistic, `year` or the latest) may be picked; any unserved village counts.
    """
    return siting_run(
        sources=Sources(),
        budget=budget,
        candidates=candidates,
        threshold_m=threshold_m,
        only_extremely_difficult=only_extremely_difficult,
        year=year,
    )
