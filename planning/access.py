"""Play-area access: how far each village is from the nearest playground, and per commune
how many children live within walking reach of one.

Method of distance (stated in every output as `method`):
- "straight line" (METHOD, the baseline, while no road/path network is loaded): the
  straight line on the spheroid (ST_Distance on geography, metres);
- "network" (NETWORK_METHOD, as soon as `manage.py import_paths` has loaded one): the
  walking distance along the network, pgRouting; see planning.network for how places
  join it. Which one is in effect is decided once per analysis (distance_method()).

The rest of this note is about the straight line.

Served or not (commune_access, siting): a grid of UTM 48N cells and a hash semi-join,
no probe per village (village_service_ctes); only distances within ±0.5 % of the
threshold are measured on the spheroid.

Nearest playground (village_access): the index-backed KNN operator `<->` (GiST on the geometry,
ordering in degrees) picks KNN_CANDIDATES candidates in a LATERAL subquery, then the
exact geography distance decides among them. Degrees are not metres (at 22° N one
degree of longitude is ~7 % shorter than one of latitude), which is why several
candidates are re-ranked rather than trusting the first.
"""

# ruff: noqa: S608 - SQL assembled from this package's constant snippets and Django-compiled querysets; values travel as parameters.

from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from places.models import Site

from . import network
from .exceptions import PlanningInvalid

METHOD = "straight line"
NETWORK_METHOD = "network"
METHOD_LABEL = _("straight line")
METHOD_LABELS = {METHOD: METHOD_LABEL, NETWORK_METHOD: _("along the road and path network")}


def distance_method() -> str:
    """NETWORK_METHOD when a road/path network is loaded, else METHOD (the straight line)."""
    return NETWORK_METHOD if network.loaded() else METHOD


KNN_CANDIDATES = 8
UTM_SRID = 32648  # metric work in UTM 48N
UTM_MARGIN = 1.005
# UTM 48N's scale factor in the province lies in 0.9996–1.0006 (central meridian 105° E,
# the province 102.3–103.9° E): a UTM distance within 0.5 % of the threshold on either
# side settles the question without the (costly) distance on the spheroid.
UTM_INNER = 0.995


def served_sql(playgrounds: str, village_utm: str, village_geom: str) -> str:
    """EXISTS: any playground of `playgrounds` (staged: geom, geom_utm) within the threshold.

    Three parameters: threshold × UTM_MARGIN, threshold × UTM_INNER, threshold. The GiST
    index on UTM finds the candidates; one clearly inside (UTM distance under 99.5 % of
    the threshold) decides at once; only the band 99.5–100.5 % is measured on the spheroid.
    """
    return (
        f"EXISTS (SELECT 1 FROM ({playgrounds}) p"
        f" WHERE ST_DWithin(p.geom_utm, {village_utm}, %s)"
        f" AND (ST_DWithin(p.geom_utm, {village_utm}, %s)"
        f" OR ST_DWithin(p.geom::geography, {village_geom}::geography, %s)))"
    )


def served_params(threshold_m: float) -> list[float]:
    return [threshold_m * UTM_MARGIN, threshold_m * UTM_INNER, threshold_m]


MIN_CELL_M = 250.0
STAGED_CELLS = "planning_playground_cell"


def _cell(threshold_m: float) -> float:
    # A floor: a polygon's box at a 1 m threshold would otherwise make millions of cells.
    return max(threshold_m * UTM_MARGIN, MIN_CELL_M)


def stage_cells(cur, staged: "Sources", threshold_m: float) -> None:
    """Each staged playground copied into every grid cell (UTM 48N, side _cell(threshold))
    its bounding box touches and their neighbours: 9 for a point. A temporary table, so
    the planner knows its size (from its pages; ANALYZE would add ~0.2 s and change no
    plan): inside one statement it would guess 10^6 cells per playground
    (generate_series) and hash them in 262,144 batches (30 s instead of 1 s)."""
    cell = _cell(threshold_m)
    cur.execute(f"DROP TABLE IF EXISTS {STAGED_CELLS}")
    cur.execute(
        f"""CREATE TEMP TABLE {STAGED_CELLS} ON COMMIT DROP AS
            SELECT p.geom, p.geom_utm, p.pt, p.x, p.y, gx AS cx, gy AS cy
              FROM (SELECT q.geom, q.geom_utm, GeometryType(q.geom_utm) = 'POINT' AS pt,
                           CASE WHEN GeometryType(q.geom_utm) = 'POINT' THEN ST_X(q.geom_utm) END AS x,
                           CASE WHEN GeometryType(q.geom_utm) = 'POINT' THEN ST_Y(q.geom_utm) END AS y,
                           floor(ST_XMin(q.geom_utm) / %s)::int AS x0,
                           floor(ST_XMax(q.geom_utm) / %s)::int AS x1,
                           floor(ST_YMin(q.geom_utm) / %s)::int AS y0,
                           floor(ST_YMax(q.geom_utm) / %s)::int AS y1
                      FROM ({staged.playgrounds}) q) p
             CROSS JOIN LATERAL generate_series(p.x0 - 1, p.x1 + 1) gx
             CROSS JOIN LATERAL generate_series(p.y0 - 1, p.y1 + 1) gy""",
        [cell, cell, cell, cell, *staged.playground_params],
    )


def village_service_ctes(staged: "Sources", threshold_m: float) -> tuple[str, list]:
    """Two CTEs: vv (every village: id, commune_id, children, geom, utm in UTM 48N) and
    hit (id, commune_id, children of the villages with a playground within the threshold).

    Set-based, no probe per village: villages fall in square cells of UTM 48N at least
    as wide as the threshold (+0.5 %), each playground was copied into the 3×3 cells
    around it (stage_cells: every cell its bounding box touches, for a polygon), and a
    hash semi-join on the cell finds for each village the few playgrounds near enough
    to test. A point playground is tested by arithmetic on UTM coordinates, a polygon by
    ST_DWithin on UTM; as in served_sql, only the band 99.5–100.5 % of the threshold is
    measured on the spheroid. ~3× faster than an index probe per village
    (bench/planning.py). Needs stage_playgrounds, then stage_cells with the same threshold.
    """
    outer, inner = threshold_m * UTM_MARGIN, threshold_m * UTM_INNER
    cell = _cell(threshold_m)
    sql = f"""
        vv AS MATERIALIZED (
            SELECT v.id, v.commune_id, v.children, v.geom, utm, ST_X(utm) AS x, ST_Y(utm) AS y,
                   floor(ST_X(utm) / %s)::int AS cx, floor(ST_Y(utm) / %s)::int AS cy
              FROM ({staged.villages}) v
             CROSS JOIN LATERAL ST_Transform(v.geom, {UTM_SRID}) AS utm  -- once per village
        ),
        hit AS MATERIALIZED (
            SELECT vv.id, vv.commune_id, vv.children FROM vv WHERE EXISTS (
                SELECT 1 FROM {STAGED_CELLS} pc WHERE pc.cx = vv.cx AND pc.cy = vv.cy AND CASE WHEN pc.pt
                    THEN (vv.x - pc.x) ^ 2 + (vv.y - pc.y) ^ 2 <= %s
                         AND ((vv.x - pc.x) ^ 2 + (vv.y - pc.y) ^ 2 <= %s
                              OR ST_DWithin(pc.geom::geography, vv.geom::geography, %s))
                    ELSE ST_DWithin(pc.geom_utm, vv.utm, %s)
                         AND (ST_DWithin(pc.geom_utm, vv.utm, %s)
                              OR ST_DWithin(pc.geom::geography, vv.geom::geography, %s))
                    END)
        )"""
    params = [
        cell,
        cell,
        *staged.village_params,
        outer * outer,
        inner * inner,
        threshold_m,
        outer,
        inner,
        threshold_m,
    ]
    return sql, params


def network_service_ctes(staged: "Sources") -> tuple[str, list]:
    """village_service_ctes's vv and hit when a network is in effect: hit = the villages of
    planning_net_reach (stage_service with method "network")."""
    sql = f"""
        vv AS MATERIALIZED (
            SELECT v.id, v.commune_id, v.children, v.geom, ST_Transform(v.geom, {UTM_SRID}) AS utm
              FROM ({staged.villages}) v
        ),
        hit AS MATERIALIZED (
            SELECT vv.id, vv.commune_id, vv.children FROM vv JOIN planning_net_reach r ON r.id = vv.id
        )"""
    return sql, list(staged.village_params)


def stage_service(cur, staged: "Sources", threshold_m: float, method: str) -> None:
    """What village_service_* needs: the grid cells (straight line) or, along the network,
    each village's nearest playground within the threshold (planning_net_reach)."""
    if method == NETWORK_METHOD:
        network.stage_village_reach(
            cur,
            villages_sql=staged.villages,
            village_params=staged.village_params,
            playgrounds_sql=staged.playgrounds,
            playground_params=staged.playground_params,
            limit_m=threshold_m,
            threshold_m=threshold_m,
        )
    else:
        stage_cells(cur, staged, threshold_m)


def service_ctes(staged: "Sources", threshold_m: float, method: str = METHOD) -> tuple[str, list]:
    if method == NETWORK_METHOD:
        return network_service_ctes(staged)
    return village_service_ctes(staged, threshold_m)


def village_service_sql(staged: "Sources", threshold_m: float, method: str = METHOD) -> tuple[str, list]:
    """SELECT per village: id, commune_id, children, geom, utm (UTM 48N), served (bool);
    see village_service_ctes (network: network_service_ctes)."""
    ctes, params = service_ctes(staged, threshold_m, method)
    sql = f"""WITH {ctes}
        SELECT vv.id, vv.commune_id, vv.children, vv.geom, vv.utm, hit.id IS NOT NULL AS served
          FROM vv LEFT JOIN hit ON hit.id = vv.id"""
    return sql, params


# The active villages and playgrounds of the Site table. Any other relation with the
# same columns can stand in (bench/planning.py uses temporary tables of 10^5 villages).
VILLAGES_SQL = (
    "SELECT s.id, s.name, s.geom, s.commune_id,"
    " coalesce((s.attributes ->> 'child_count')::int, 0) AS children"
    " FROM places_site s WHERE s.kind = 'village' AND s.status = 'active'"
)
PLAYGROUNDS_SQL = (
    "SELECT s.id, s.geom, s.commune_id FROM places_site s WHERE s.kind = 'playground' AND s.status = 'active'"
)
# Today's communes: the ones with a start of validity and no end.
COMMUNES_SQL = (
    "SELECT u.id, u.code, u.name, u.name_en FROM places_adminunit u"
    " WHERE u.level = 'commune' AND u.valid_to IS NULL AND u.valid_from IS NOT NULL"
)


@dataclass(frozen=True)
class Sources:
    """SQL (with params) of the villages (id, name, geom, commune_id, children) and the
    playgrounds (id, geom, commune_id) an analysis runs on."""

    villages: str = VILLAGES_SQL
    village_params: tuple = ()
    playgrounds: str = PLAYGROUNDS_SQL
    playground_params: tuple = ()


def sources_for(
    *, villages: QuerySet[Site] | None = None, playgrounds: QuerySet[Site] | None = None
) -> Sources:
    """Restrict the analysis to the given site querysets (e.g. `site_list(user=...)`).

    Only their active villages and playgrounds count; the querysets may hold other kinds.
    """

    def restrict(base: str, qs: QuerySet[Site] | None) -> tuple[str, tuple]:
        if qs is None:
            return base, ()
        try:
            sub, params = qs.order_by().values("id").query.sql_with_params()
        except EmptyResultSet:  # e.g. Site.objects.none()
            return f"{base} AND false", ()
        return f"{base} AND s.id IN ({sub})", tuple(params)

    v_sql, v_params = restrict(VILLAGES_SQL, villages)
    p_sql, p_params = restrict(PLAYGROUNDS_SQL, playgrounds)
    return Sources(villages=v_sql, village_params=v_params, playgrounds=p_sql, playground_params=p_params)


def check_threshold(threshold_m) -> float:
    try:
        value = float(threshold_m)
    except (TypeError, ValueError):
        raise PlanningInvalid({"threshold_m": [str(_("expected a number of metres"))]}) from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0 or isinstance(threshold_m, bool):
        raise PlanningInvalid({"threshold_m": [str(_("must be a finite number of metres, at least 0"))]})
    return value


STAGED_PLAYGROUNDS = "planning_knn_playground"


def stage_playgrounds(cur, sources: Sources, *, knn: bool = True) -> Sources:
    """Copy the playgrounds into a temporary table with its own GiST index, ANALYZEd
    (knn=False: no index, no ANALYZE, for stage_cells which reads it once in full).

    The Site table's geometry index holds every kind (routes, hotspots, villages...);
    a KNN walk on it filtering for playgrounds discards ~1,400 rows per village on the
    demo data (10 ms per village). On its own index the walk reads only playgrounds.
    Must run inside a transaction (ON COMMIT DROP).
    """
    cur.execute(f"DROP TABLE IF EXISTS {STAGED_PLAYGROUNDS}")
    cur.execute(
        f"CREATE TEMP TABLE {STAGED_PLAYGROUNDS} ON COMMIT DROP AS"
        f" SELECT p.id, p.geom, ST_Transform(p.geom, {UTM_SRID}) AS geom_utm, p.commune_id"
        f" FROM ({sources.playgrounds}) p",
        list(sources.playground_params),
    )
    if knn:
        cur.execute(f"CREATE INDEX ON {STAGED_PLAYGROUNDS} USING gist (geom)")
        cur.execute(f"CREATE INDEX ON {STAGED_PLAYGROUNDS} USING gist (geom_utm)")
        cur.execute(f"ANALYZE {STAGED_PLAYGROUNDS}")
    return Sources(
        villages=sources.villages,
        village_params=sources.village_params,
        playgrounds=f"SELECT id, geom, geom_utm, commune_id FROM {STAGED_PLAYGROUNDS}",
    )


def nearest_sql(sources: Sources) -> tuple[str, list]:
    """SELECT per village: id, name, commune_id, children, nearest playground id and distance (m).

    Villages with no playground at all get NULLs (and count as unserved).
    """
    sql = f"""
        SELECT v.id, v.name, v.commune_id, v.children, n.playground_id, n.distance_m
          FROM ({sources.villages}) v
          LEFT JOIN LATERAL (
              SELECT c.id AS playground_id, ST_Distance(c.geom::geography, v.geom::geography) AS distance_m
                FROM (SELECT p.id, p.geom FROM ({sources.playgrounds}) p
                       ORDER BY p.geom <-> v.geom LIMIT {KNN_CANDIDATES}) c
               ORDER BY distance_m, c.id
               LIMIT 1
          ) n ON true
    """
    return sql, [*sources.village_params, *sources.playground_params]


@dataclass(frozen=True)
class VillageAccess:
    village_id: int
    name: str
    commune_id: int
    children: int
    nearest_playground_id: int | None
    distance_m: float | None  # None: no playground anywhere
    served: bool
    threshold_m: float
    method: str = METHOD


def village_access(
    *,
    threshold_m: float = 1000,
    villages: QuerySet[Site] | None = None,
    playgrounds: QuerySet[Site] | None = None,
) -> list[VillageAccess]:
    """Each active village with the distance (m) to the nearest active playground: straight
    line, or along the network when one is loaded (then None when no playground can be
    reached through it at all)."""
    threshold = check_threshold(threshold_m)
    method = distance_method()
    with transaction.atomic(), connection.cursor() as cur:
        sources = stage_playgrounds(cur, sources_for(villages=villages, playgrounds=playgrounds))
        if method == NETWORK_METHOD:
            network.stage_village_reach(
                cur,
                villages_sql=sources.villages,
                village_params=sources.village_params,
                playgrounds_sql=sources.playgrounds,
                playground_params=sources.playground_params,
                limit_m=network.UNLIMITED_M,
                threshold_m=threshold,
                nearest=True,
            )
            cur.execute(
                f"SELECT v.id, v.name, v.commune_id, v.children, r.playground_id, r.distance_m"
                f" FROM ({sources.villages}) v LEFT JOIN planning_net_reach r ON r.id = v.id ORDER BY v.id",
                list(sources.village_params),
            )
        else:
            sql, params = nearest_sql(sources)
            cur.execute(f"{sql} ORDER BY v.id", params)
        rows = cur.fetchall()
    return [
        VillageAccess(
            village_id=vid,
            name=name,
            commune_id=commune_id,
            children=children,
            nearest_playground_id=pid,
            distance_m=dist,
            served=dist is not None and dist <= threshold,
            threshold_m=threshold,
            method=method,
        )
        for vid, name, commune_id, children, pid, dist in rows
    ]


@dataclass(frozen=True)
class CommuneAccess:
    commune_id: int
    code: str
    name: str
    name_en: str
    villages: int
    children: int
    children_served: int
    children_unserved: int
    share_served: float | None  # None: no children mapped in villages
    playgrounds: int
    playgrounds_per_1000_children: float | None  # None: no children mapped
    threshold_m: float
    method: str = METHOD


def commune_access_sql(sources: Sources, threshold_m: float, method: str = METHOD) -> tuple[str, list]:
    """One statement: is any playground within the threshold of each village, then GROUP BY
    the stored commune key of each village and each playground, joined to every one of
    today's communes (zeros included). Needs stage_playgrounds and stage_cells.

    Served or not needs no nearest-neighbour walk (~80 µs per village here), nor an
    index probe per village (~20 µs): see village_service_ctes.
    MATERIALIZED: the planner guesses one commune and would otherwise re-run the
    aggregate for each of the 38 (21 s instead of 0.8 s on the demo data).
    """
    ctes, ctes_params = service_ctes(sources, threshold_m, method)
    sql = f"""
        WITH {ctes},
        v AS MATERIALIZED (
            SELECT vv.commune_id, count(*) AS villages, sum(vv.children) AS children
              FROM vv GROUP BY vv.commune_id
        ),
        s AS MATERIALIZED (
            SELECT hit.commune_id, sum(hit.children) AS served FROM hit GROUP BY hit.commune_id
        ),
        p AS MATERIALIZED (
            SELECT pg.commune_id, count(*) AS n FROM ({sources.playgrounds}) pg GROUP BY pg.commune_id
        )
        SELECT u.id, u.code, u.name, u.name_en,
               coalesce(v.villages, 0), coalesce(v.children, 0)::bigint, coalesce(s.served, 0)::bigint,
               coalesce(p.n, 0)
          FROM ({COMMUNES_SQL}) u
          LEFT JOIN v ON v.commune_id = u.id
          LEFT JOIN s ON s.commune_id = u.id
          LEFT JOIN p ON p.commune_id = u.id
         ORDER BY u.code
    """
    return sql, [*ctes_params, *sources.playground_params]


def commune_rows(sources: Sources, threshold_m: float) -> list[CommuneAccess]:
    method = distance_method()
    with transaction.atomic(), connection.cursor() as cur:
        staged = stage_playgrounds(cur, sources, knn=False)
        stage_service(cur, staged, threshold_m, method)
        sql, params = commune_access_sql(staged, threshold_m, method)
        cur.execute(sql, params)
        rows = cur.fetchall()
    out = []
    for uid, code, name, name_en, villages, children, served, playgrounds in rows:
        out.append(
            CommuneAccess(
                commune_id=uid,
                code=code,
                name=name,
                name_en=name_en,
                villages=villages,
                children=children,
                children_served=served,
                children_unserved=children - served,
                share_served=served / children if children else None,
                playgrounds=playgrounds,
                playgrounds_per_1000_children=playgrounds * 1000 / children if children else None,
                threshold_m=threshold_m,
                method=method,
            )
        )
    return out


def commune_access(
    *,
    threshold_m: float = 1000,
    villages: QuerySet[Site] | None = None,
    playgrounds: QuerySet[Site] | None = None,
) -> list[CommuneAccess]:
    """Per commune in force today: children (sum of the villages' child_count) served and
    unserved at `threshold_m`, playgrounds, playgrounds per 1,000 children. One SQL statement
    (after staging; along the network, one pgr_drivingDistance before it)."""
    return commune_rows(sources_for(villages=villages, playgrounds=playgrounds), check_threshold(threshold_m))
