"""Where would N new play areas reach the most children: greedy maximum coverage.

1. Villages already within threshold_m of an active playground are served (access.py).
2. Candidate × unserved-village pairs within threshold_m are computed ONCE in PostGIS:
   the unserved villages go into a temporary table in UTM 48N (EPSG:32648) with a
   GiST index, ST_DWithin on the projected geometry finds the pairs through the index
   (with a 0.5 % margin for the projection's scale error, up to 0.06 % in the province),
   and only pairs in the band 99.5–100.5 % of the threshold are measured on the
   spheroid (access.served_sql), as access measures.
3. Greedy in Python over the sparse pairs: each step picks the candidate newly serving
   the most children (ties → lowest candidate index); a max-heap with lazy updates
   (a candidate's gain only shrinks, so a popped gain that is still current is the best).

With a road/path network loaded (access.distance_method() == "network"), "served" in 1.
is along the network (access.stage_service) and step 2's pairs are the unserved villages
within threshold_m of each candidate along it: one pgr_drivingDistance from every
candidate at once, each search stopped at the threshold (planning.network.coverage_pairs).
Candidates join the network as villages do (nearest segment + straight connector); a
village chosen as a candidate covers itself. The greedy step is the same.
"""

# ruff: noqa: S608 - SQL assembled from this package's constant snippets and Django-compiled querysets; values travel as parameters.

import heapq
import math
from dataclasses import dataclass, field

from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.utils.translation import gettext as _

from places.models import StatIndicator, UnitStatistic
from places.selectors import today

from . import network
from .access import (
    COMMUNES_SQL,
    METHOD,
    NETWORK_METHOD,
    UTM_SRID,
    Sources,
    check_threshold,
    distance_method,
    served_params,
    stage_playgrounds,
    stage_service,
    village_service_sql,
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
    # With with_villages: (village id, lon, lat, children, served before, served after).
    villages: list[tuple[int, float, float, int, bool, bool]] = field(default_factory=list)


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


def _communes_of(xs: list[float], ys: list[float]) -> list[int | None]:
    """places.selectors.unit_ids_at (today's commune of each point lon xs[i], lat ys[i]), set-based.

    places_commune_at per point costs ~0.2 ms (10^4 points: 2 s). A point covered by
    exactly one commune in force gets that commune from the function's first rule, so
    those are found by one join driven by the communes (each polygon prepared once,
    an index on the points); the rest (on a shared boundary, in a gap, outside) go to
    places_commune_at itself, so the answers are the function's. The temporary tables
    planning_point (i, g) and planning_point_commune (i, commune_id) stay for the rest of
    an enclosing transaction (siting_run makes its candidates from them).
    """
    day = today()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS planning_point")
        cur.execute(
            "CREATE TEMP TABLE planning_point ON COMMIT DROP AS"
            " SELECT t.i, ST_SetSRID(ST_MakePoint(t.x, t.y), 4326) AS g"
            " FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS t(x, y, i)",
            [xs, ys],
        )
        cur.execute("CREATE INDEX ON planning_point USING gist (g)")
        cur.execute("DROP TABLE IF EXISTS planning_point_commune")
        cur.execute(
            "CREATE TEMP TABLE planning_point_commune ON COMMIT DROP AS"
            " SELECT p.i, CASE WHEN c.n = 1 THEN c.id ELSE places_commune_at(p.g, %s) END AS commune_id"
            " FROM planning_point p LEFT JOIN ("
            "  SELECT t.i, count(*) AS n, min(u.id) AS id FROM places_adminunit u"
            "  JOIN planning_point t ON ST_Covers(u.geom, t.g)"
            "  WHERE u.level = 'commune' AND (u.valid_from IS NULL OR u.valid_from <= %s)"
            "  AND (u.valid_to IS NULL OR u.valid_to >= %s) GROUP BY t.i"
            " ) c ON c.i = p.i",
            [day, day, day],
        )
        cur.execute("SELECT commune_id FROM planning_point_commune ORDER BY i")
        return [row[0] for row in cur.fetchall()]


def _lon_lat(p) -> tuple[float, float] | None:
    """(lon, lat) of a (lon, lat) pair of finite numbers in range, else None."""
    try:
        lon, lat = (float(v) for v in p)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return lon, lat


def _clean_candidates(
    candidates: list, allowed: frozenset[int] | None = None
) -> tuple[list[float], list[float], list[int]]:
    """Longitudes and latitudes (WGS 84) of the candidates and the commune of today holding
    each (refused outside). A candidate is a (lon, lat) pair in WGS 84 or a GEOS Point in
    any SRID; each GEOS call from Python costs ~40 µs, so pairs are the fast way for many."""
    errors: dict[str, list[str]] = {}
    xs: list[float] = []
    ys: list[float] = []
    for i, p in enumerate(candidates):
        if isinstance(p, tuple | list):
            pair = _lon_lat(p)
            if pair is None:
                errors[f"candidates[{i}]"] = [_("expected a point")]
                continue
            xs.append(pair[0])
            ys.append(pair[1])
            continue
        if not isinstance(p, Point) or p.empty:
            errors[f"candidates[{i}]"] = [_("expected a point")]
            continue
        if p.srid not in (None, 4326):
            p = p.transform(4326, clone=True)
        x, y = p.coords[:2]
        xs.append(x)
        ys.append(y)
    if errors:
        raise PlanningInvalid(errors)
    communes = _communes_of(xs, ys)
    for i, c in enumerate(communes):
        if c is None:
            errors[f"candidates[{i}]"] = [_("outside the province")]
        elif allowed is not None and c not in allowed:
            errors[f"candidates[{i}]"] = [_("outside your area")]
    if errors:
        raise PlanningInvalid(errors)
    return xs, ys, communes


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
    candidates: list | None,
    threshold_m,
    only_extremely_difficult: bool,
    year: int | None,
    communes: frozenset[int] | None = None,
    with_villages: bool = False,
) -> SitingResult:
    """communes: candidates only there (planner's points elsewhere are refused) and the
    before/after table only for them; the villages come from `sources`."""
    budget = _clean_budget(budget)
    threshold = check_threshold(threshold_m)
    method = distance_method()
    with transaction.atomic(), connection.cursor() as cur:
        points = None  # (longitudes, latitudes, communes); in planning_point(_commune) too
        if candidates is not None:
            points = _clean_candidates(candidates, communes)
        staged = stage_playgrounds(cur, sources, knn=False)
        cur.execute("DROP TABLE IF EXISTS planning_village")
        # Served today: any playground within the threshold (access.village_service_sql, as
        # access.commune_access_sql counts). No index or ANALYZE on this table of every
        # village: only the unserved ones are searched spatially.
        stage_service(cur, staged, threshold, method)
        served, served_args = village_service_sql(staged, threshold, method)
        # The UTM geometry is kept only where it is used: unserved villages, and every
        # village when the villages are the candidates.
        cur.execute(
            f"CREATE TEMP TABLE planning_village ON COMMIT DROP AS SELECT d.id, d.commune_id, d.children,"
            f" d.served, d.geom, CASE WHEN %s OR NOT d.served THEN d.utm END AS utm FROM ({served}) d",
            [points is None, *served_args],
        )
        cur.execute("DROP TABLE IF EXISTS planning_unserved")
        cur.execute(
            "CREATE TEMP TABLE planning_unserved ON COMMIT DROP AS"
            " SELECT id, commune_id, children, geom, utm FROM planning_village WHERE NOT served"
        )
        cur.execute("CREATE INDEX ON planning_unserved USING gist (utm)")
        cur.execute("ANALYZE planning_unserved")
        cur.execute("DROP TABLE IF EXISTS planning_candidate")
        if points is None:
            cur.execute(
                "CREATE TEMP TABLE planning_candidate ON COMMIT DROP AS"
                " SELECT (row_number() OVER (ORDER BY id) - 1)::int AS i, id AS village_id, commune_id, geom,"
                " utm FROM planning_village"
            )
        else:
            # The points and their communes, found once when checked (_clean_candidates).
            cur.execute(
                "CREATE TEMP TABLE planning_candidate ON COMMIT DROP AS"
                " SELECT (p.i - 1)::int AS i, NULL::bigint AS village_id, c.commune_id,"
                " p.g AS geom, ST_Transform(p.g, %s) AS utm"
                " FROM planning_point p JOIN planning_point_commune c ON c.i = p.i",
                [UTM_SRID],
            )
        if communes is not None:
            cur.execute(
                "DELETE FROM planning_candidate WHERE commune_id IS NULL OR NOT commune_id = ANY(%s)",
                [list(communes)],
            )
        if only_extremely_difficult:
            cur.execute(
                "DELETE FROM planning_candidate WHERE commune_id IS NULL OR NOT commune_id = ANY(%s)",
                [list(_extremely_difficult_ids(year))],
            )
        if method == NETWORK_METHOD:
            pairs = _network_pairs(cur, threshold)
        else:
            # Candidate × unserved-village pairs, once, through the index (served_sql's test).
            cur.execute(
                "SELECT c.i, v.id, v.children, v.commune_id FROM planning_candidate c"
                " JOIN planning_unserved v ON ST_DWithin(v.utm, c.utm, %s)"
                " AND (ST_DWithin(v.utm, c.utm, %s) OR ST_DWithin(v.geom::geography, c.geom::geography, %s))"
                " ORDER BY c.i, v.id",
                served_params(threshold),
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
        unit_rows = [r for r in cur.fetchall() if communes is None or r[0] in communes]
        village_rows = []
        if with_villages:
            cur.execute(
                "SELECT id, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)), children, served"
                " FROM planning_village ORDER BY id"
            )
            village_rows = cur.fetchall()

    covers: dict[int, list[int]] = {}
    children_of: dict[int, int] = {}
    village_commune: dict[int, int] = {}
    for i, vid, children, cid in pairs:
        covers.setdefault(i, []).append(vid)
        children_of[vid] = children
        village_commune[vid] = cid

    picks, stop_reason = _greedy(budget, covers, children_of, cands)
    codes = {uid: code for uid, code, _name in unit_rows}
    newly: dict[int, int] = {}
    for p in picks:
        p.commune_code = codes.get(p.commune_id)
    newly_served = set(_served_by(picks, covers, children_of))
    for vid in newly_served:
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
        for uid, code, name in unit_rows
    ]
    total = sum(c for c, _s in before.values())
    served_before = sum(s for _c, s in before.values())
    villages_out = [
        (vid, x, y, children, served, served or vid in newly_served)
        for vid, x, y, children, served in village_rows
    ]
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
        villages=villages_out,
        method=method,
    )


def _network_pairs(cur, threshold: float) -> list[tuple[int, int, int, int]]:
    """(candidate i, village id, children, commune id) of the unserved villages within the
    threshold of each candidate along the network, ordered as the straight-line pairs."""
    found = network.coverage_pairs(
        cur,
        candidates_sql="SELECT i AS id, geom FROM planning_candidate",
        villages_sql="SELECT id, geom FROM planning_unserved",
        threshold_m=threshold,
        attached="planning_net_v",  # every village, tied to the network by access.stage_service
    )
    cur.execute("SELECT id, children, commune_id FROM planning_unserved")
    info = {vid: (children, cid) for vid, children, cid in cur.fetchall()}
    # A village chosen as a candidate serves itself, however far it lies from any path.
    cur.execute(
        "SELECT c.i, c.village_id FROM planning_candidate c JOIN planning_unserved v ON v.id = c.village_id"
    )
    pairs = set(found) | set(cur.fetchall())
    return sorted((i, vid, *info[vid]) for i, vid in pairs)


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
    candidates: list | None = None,
    threshold_m: float = 1000,
    only_extremely_difficult: bool = False,
    year: int | None = None,
    sources: Sources | None = None,
    communes: frozenset[int] | None = None,
    with_villages: bool = False,
) -> SitingResult:
    """Greedy maximum coverage of the children not yet within threshold_m of a playground.

    candidates: the planner's points ((lon, lat) pairs in WGS 84, or GEOS Points in any
    SRID; they must lie in the province) or, if None,
    the active villages (candidate index = position by village id). With
    only_extremely_difficult, only candidates in communes flagged extremely difficult
    (UnitStatistic, `year` or the latest) may be picked; any unserved village counts.
    """
    return siting_run(
        sources=sources or Sources(),
        budget=budget,
        candidates=candidates,
        threshold_m=threshold_m,
        only_extremely_difficult=only_extremely_difficult,
        year=year,
        communes=communes,
        with_villages=with_villages,
    )
