"""Walking distance along the loaded road and path network (pgRouting's pgr_drivingDistance).

In effect whenever the topology (planning_pathsegment, planning.paths) holds a segment;
otherwise access is the straight line (planning.access.METHOD).

Places join the network where it is nearest to them: each village, playground or
candidate is a virtual vertex tied to the two ends of its nearest segment, at cost
connector + the part of the segment to that end, where the connector is the straight
line (on the spheroid) from the place to the nearest point of the segment. Two places on
the same segment are also tied directly (both connectors + the stretch between them).
A village and a playground closer to each other than their two connectors together,
and than the threshold, are tied by the straight line between them: someone who walks
off the network to reach it may as well walk straight there (a playground next to a
village far from any path serves it). So a village whose connector alone exceeds the
threshold is served only by a playground closer to it than that.

Access: one search from a super-source tied to every playground at cost 0 (so each
village gets the distance to its nearest playground), stopped at the threshold, or
unbounded for village_access, which also traces which playground that is. Siting: one
search per candidate (pgr_drivingDistance with many starts), stopped at the threshold.
The graph is directed: segments both ways, virtual edges only out of a start and into a
village, so no route passes through another place. Virtual vertex ids lie far above any
PathVertex id. (pgRouting 3.4's equicost option is not used: it keeps the first start to
reach a vertex, not the nearest.)
"""

# ruff: noqa: S608 - SQL assembled from this module's constant snippets; values travel as parameters.

from functools import lru_cache

from django.db import connection

UTM_SRID = 32648
UTM_MARGIN = 1.005  # as planning.access: the projection's scale error in the province is < 0.06 %
OFFSET = {"village": 1 << 40, "playground": 2 << 40, "candidate": 3 << 40}
SUPER_SOURCE = 4 << 40  # one search from all playgrounds at once: tied to each at cost 0
EDGE_ID_START = 1 << 40
# Directed: segments both ways; virtual edges one way, out of a start (playground,
# candidate) and into a sink (village), so no path runs through another place.
EDGES_SQL = (
    "SELECT id, source, target, length_m AS cost, length_m AS reverse_cost FROM planning_pathsegment"
    " UNION ALL SELECT id, source, target, cost, -1::float8 FROM planning_net_edge"
)
UNLIMITED_M = 1e9
NEAR_M = 1000  # attach: a place this close to a segment finds it by ST_DWithin, else by KNN


def loaded() -> bool:
    """Is a network loaded (then every access output says method = "network")?"""
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass('planning_pathsegment') IS NOT NULL")
        if not cur.fetchone()[0]:
            return False
        cur.execute("SELECT EXISTS (SELECT 1 FROM planning_pathsegment)")
        return bool(cur.fetchone()[0])


@lru_cache(maxsize=1)
def _start_column() -> str:
    """pgr_drivingDistance names the start vertex from_v (pgRouting 3.0–3.5) or start_vid (3.6+)."""
    with connection.cursor() as cur:
        cur.execute("SELECT proargnames FROM pg_proc WHERE proname = 'pgr_drivingdistance'")
        names = {n for row in cur.fetchall() for n in (row[0] or [])}
    return "start_vid" if "start_vid" in names else "from_v"


def attach(cur, table: str, role: str, source_sql: str, params=()) -> None:
    """Temporary table `table` (vid, id, geom, utm, seg, a, b, len, frac, conn) of the rows
    (id, geom) of source_sql, each tied to its nearest segment (in UTM 48N; ties: lowest id).

    Set-based first: the segments within NEAR_M of each place through the GiST index, the
    nearest kept (~3× faster than a KNN probe per place); the few places farther from
    every segment get the KNN probe."""
    cur.execute(f"DROP TABLE IF EXISTS {table}, {table}_src, {table}_seg")
    # UTM first, in a table of its own: inside the probes the transform costs half their time.
    cur.execute(
        f"CREATE TEMP TABLE {table}_src ON COMMIT DROP AS"
        f" SELECT q.id, q.geom, ST_Transform(q.geom, {UTM_SRID}) AS utm FROM ({source_sql}) q",
        list(params),
    )
    cur.execute(
        f"CREATE TEMP TABLE {table}_seg ON COMMIT DROP AS"
        f" SELECT DISTINCT ON (x.id) x.id, s.id AS seg FROM {table}_src x"
        " JOIN planning_pathsegment s ON ST_DWithin(s.geom_utm, x.utm, %s)"
        " ORDER BY x.id, ST_Distance(s.geom_utm, x.utm), s.id",
        [NEAR_M],
    )
    cur.execute(
        f"INSERT INTO {table}_seg (id, seg) SELECT x.id, ("
        "   SELECT s.id FROM planning_pathsegment s ORDER BY s.geom_utm <-> x.utm LIMIT 1)"
        f" FROM {table}_src x WHERE NOT EXISTS (SELECT 1 FROM {table}_seg n WHERE n.id = x.id)"
    )
    cur.execute(
        f"""CREATE TEMP TABLE {table} ON COMMIT DROP AS
            SELECT %s::bigint + x.id AS vid, x.id, x.geom, x.utm, s.id AS seg, s.source AS a,
                   s.target AS b, s.length_m AS len, ST_LineLocatePoint(s.geom_utm, cp) AS frac,
                   ST_Distance(x.geom::geography, ST_Transform(cp, 4326)::geography) AS conn
              FROM {table}_src x
              JOIN {table}_seg n ON n.id = x.id
              JOIN planning_pathsegment s ON s.id = n.seg
             CROSS JOIN LATERAL ST_ClosestPoint(s.geom_utm, x.utm) AS cp""",
        [OFFSET[role]],
    )
    cur.execute(f"CREATE INDEX ON {table} (seg)")
    cur.execute(f"CREATE INDEX ON {table} USING gist (utm)")
    cur.execute(f"ANALYZE {table}")


def start_edges(cur) -> None:
    cur.execute("DROP TABLE IF EXISTS planning_net_edge")
    cur.execute(
        "CREATE TEMP TABLE planning_net_edge (id bigint GENERATED ALWAYS AS IDENTITY (START WITH %s),"
        " source bigint, target bigint, cost float8) ON COMMIT DROP".replace("%s", str(EDGE_ID_START))
    )


def tie_to_segments(cur, table: str, *, start: bool) -> None:
    """Each place to both ends of its segment: connector + the stretch to that end (a start
    leads out to them, a sink is reached from them)."""
    ends = "vid, a" if start else "a, vid"
    other = "vid, b" if start else "b, vid"
    cur.execute(
        "INSERT INTO planning_net_edge (source, target, cost)"
        f" SELECT {ends}, conn + frac * len FROM {table}"
        f" UNION ALL SELECT {other}, conn + (1 - frac) * len FROM {table}"
    )


def tie_pairs(cur, starts: str, sinks: str, threshold_m: float) -> None:
    """Places of `starts` to places of `sinks`: on the same segment along it, and by the
    straight line when that is shorter than both connectors together and the threshold."""
    cur.execute(
        "INSERT INTO planning_net_edge (source, target, cost)"
        f" SELECT p.vid, v.vid, p.conn + v.conn + abs(p.frac - v.frac) * p.len"
        f" FROM {starts} p JOIN {sinks} v ON v.seg = p.seg"
    )
    cur.execute(f"SELECT coalesce(max(conn), 0) FROM {sinks}")
    widest = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO planning_net_edge (source, target, cost)"
        f" SELECT p.vid, v.vid, d FROM {starts} p JOIN {sinks} v"
        "   ON ST_DWithin(v.utm, p.utm, least(%s, p.conn + %s) * %s)"
        " CROSS JOIN LATERAL ST_Distance(p.geom::geography, v.geom::geography) AS d"
        " WHERE d <= least(%s, p.conn + v.conn)",
        [threshold_m, widest, UTM_MARGIN, threshold_m],
    )


def reach_sql(starts_sql: str, sinks_role: str, limit_m: float) -> tuple[str, list]:
    """SELECT start vid, sink vid, network distance (m) for every sink within limit_m of each
    start of `starts_sql` (a SELECT of vids); each start its own search."""
    lo = OFFSET[sinks_role]
    sql = (
        f"SELECT d.{_start_column()} AS start, d.node AS sink, d.agg_cost AS distance_m"
        f" FROM pgr_drivingDistance(%s, (SELECT array_agg(s.vid ORDER BY s.vid) FROM ({starts_sql}) s), %s,"
        " directed := true) d"
        " WHERE d.node >= %s AND d.node < %s"
    )
    return sql, [EDGES_SQL, limit_m, lo, lo + (1 << 40)]


def has_rows(cur, table: str) -> bool:
    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
    return bool(cur.fetchone()[0])


def stage_village_reach(
    cur,
    *,
    villages_sql: str,
    village_params,
    playgrounds_sql: str,
    playground_params,
    limit_m: float,
    threshold_m: float,
    nearest: bool = False,
) -> None:
    """Temporary table planning_net_reach (id, playground_id, distance_m): each village with a
    playground within limit_m along the network and the distance to the nearest; with
    `nearest`, which playground that is (else NULL).

    One search from a super-source tied to every playground at cost 0 (pgRouting 3.4's
    equicost option keeps the first start to reach a vertex, not the nearest)."""
    attach(
        cur, "planning_net_p", "playground", f"SELECT id, geom FROM ({playgrounds_sql}) p0", playground_params
    )
    attach(cur, "planning_net_v", "village", f"SELECT id, geom FROM ({villages_sql}) v0", village_params)
    cur.execute("DROP TABLE IF EXISTS planning_net_reach")
    cur.execute(
        "CREATE TEMP TABLE planning_net_reach (id bigint PRIMARY KEY, playground_id bigint,"
        " distance_m float8) ON COMMIT DROP"
    )
    if not has_rows(cur, "planning_net_p") or not has_rows(cur, "planning_net_v"):
        return
    start_edges(cur)
    cur.execute(
        "INSERT INTO planning_net_edge (source, target, cost) SELECT %s, vid, 0 FROM planning_net_p",
        [SUPER_SOURCE],
    )
    tie_to_segments(cur, "planning_net_p", start=True)
    tie_to_segments(cur, "planning_net_v", start=False)
    tie_pairs(cur, "planning_net_p", "planning_net_v", threshold_m)
    lo, hi = OFFSET["village"], OFFSET["village"] + (1 << 40)
    if not nearest:
        sql, params = reach_sql("SELECT %s::bigint AS vid", "village", limit_m)
        cur.execute(
            "INSERT INTO planning_net_reach (id, distance_m) SELECT r.sink - %s, min(r.distance_m)"
            f" FROM ({sql}) r WHERE r.distance_m <= %s GROUP BY r.sink",
            [lo, params[0], SUPER_SOURCE, *params[1:], limit_m],
        )
    else:
        # The tree of the search: each vertex's playground is its parent's (its own for a playground).
        cur.execute(
            "SELECT d.node, CASE WHEN e.source = d.node THEN e.target ELSE e.source END, d.agg_cost"
            " FROM pgr_drivingDistance(%s, %s::bigint, %s, directed := true) d"
            f" LEFT JOIN ({EDGES_SQL}) e ON e.id = d.edge ORDER BY d.agg_cost, d.seq",
            [EDGES_SQL, SUPER_SOURCE, limit_m],
        )
        root: dict[int, int] = {}
        pending = []
        ids, pgs, dists = [], [], []
        for node, parent, dist in cur.fetchall():
            pending.append((node, parent, dist))
        for _round in range(3):  # a parent reached at the same cost may come later
            later = []
            for node, parent, dist in pending:
                if parent == SUPER_SOURCE:
                    root[node] = node
                elif parent in root:
                    root[node] = root[parent]
                elif parent is not None:
                    later.append((node, parent, dist))
                    continue
                if lo <= node < hi and dist <= limit_m:
                    ids.append(node - lo)
                    pgs.append(root[node] - OFFSET["playground"])
                    dists.append(dist)
            pending = later
        cur.execute(
            "INSERT INTO planning_net_reach (id, playground_id, distance_m)"
            " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::float8[])",
            [ids, pgs, dists],
        )
    cur.execute("ANALYZE planning_net_reach")


def coverage_pairs(
    cur, *, candidates_sql: str, villages_sql: str, threshold_m: float, attached: str | None = None
) -> list[tuple[int, int]]:
    """(candidate id, village id) for every village within threshold_m of a candidate along the network.

    attached: a table made by attach() for villages (stage_village_reach's planning_net_v)
    holding those of villages_sql: they are taken from it rather than tied to the network again."""
    attach(cur, "planning_net_c", "candidate", candidates_sql)
    if attached is None:
        attach(cur, "planning_net_u", "village", villages_sql)
    else:
        cur.execute("DROP TABLE IF EXISTS planning_net_u")
        cur.execute(
            f"CREATE TEMP TABLE planning_net_u ON COMMIT DROP AS SELECT a.* FROM {attached} a"
            f" WHERE a.id IN (SELECT v.id FROM ({villages_sql}) v)"
        )
        cur.execute("CREATE INDEX ON planning_net_u (seg)")
        cur.execute("CREATE INDEX ON planning_net_u USING gist (utm)")
        cur.execute("ANALYZE planning_net_u")
    if not has_rows(cur, "planning_net_c") or not has_rows(cur, "planning_net_u"):
        return []
    start_edges(cur)
    tie_to_segments(cur, "planning_net_c", start=True)
    tie_to_segments(cur, "planning_net_u", start=False)
    tie_pairs(cur, "planning_net_c", "planning_net_u", threshold_m)
    sql, params = reach_sql("SELECT vid FROM planning_net_c", "village", threshold_m)
    cur.execute(
        f"SELECT DISTINCT r.start - %s, r.sink - %s FROM ({sql}) r WHERE r.distance_m <= %s",
        [OFFSET["candidate"], OFFSET["village"], *params, threshold_m],
    )
    return cur.fetchall()
