"""Benchmark: planning on 10^5 villages and 10^4 playgrounds.

- access: commune_access's one statement (KNN per village + GROUP BY commune), target ≤ 2 s
- siting: greedy 20 picks among 10^4 planner candidates, target ≤ 5 s (pairs in PostGIS
  + lazy-heap greedy in Python, candidate validation included)

Data: temporary tables made in the run with ST_GeneratePoints inside each commune in
force today (points in proportion to its area), so the commune key is known as in the
Site table. Nothing is written to the database. Run with
`DJANGO_DEBUG=1 .venv/bin/python bench/planning.py`; writes bench/results/planning.md.
"""

# ruff: noqa: S608 - SQL assembled from this package's constant snippets and Django-compiled querysets; values travel as parameters.

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "childsafe.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.gis.geos import Point  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from places.selectors import unit_ids_at  # noqa: E402
from planning.access import (  # noqa: E402
    COMMUNES_SQL,
    UTM_SRID,
    Sources,
    commune_rows,
    served_params,
    served_sql,
    stage_playgrounds,
)
from planning.siting import _communes_of, siting_run  # noqa: E402

VILLAGES = 100_000
PLAYGROUNDS = 10_000
CANDIDATES = 10_000
BUDGET = 20
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
OUT = ROOT / "bench" / "results" / "planning.md"


def make_points(cur, table: str, n: int, seed: int, with_children: bool) -> None:
    children = ", (5 + floor(random() * 60))::int AS children" if with_children else ""
    cur.execute("SELECT setseed(%s)", [seed / 10])
    cur.execute(
        f"""
        CREATE TEMP TABLE {table} ON COMMIT DROP AS
        WITH u AS (SELECT c.id, a.geom, ST_Area(a.geom::geography) AS area
                     FROM ({COMMUNES_SQL}) c JOIN places_adminunit a ON a.id = c.id),
             q AS (SELECT id, geom, greatest(1, round(%s * area / sum(area) OVER ()))::int AS n FROM u)
        SELECT row_number() OVER ()::bigint AS id, 'b' AS name, d.geom::geometry(Point, 4326) AS geom,
               q.id AS commune_id {children}
          FROM q, LATERAL (SELECT (ST_Dump(ST_GeneratePoints(q.geom, q.n, %s))).geom) d
        """,
        [n, seed],
    )
    cur.execute(f"CREATE INDEX ON {table} USING gist (geom)")
    cur.execute(f"ANALYZE {table}")


def probe_served(sources: Sources, threshold: float) -> int:
    """The former way: per village, an index probe on the playgrounds' UTM GiST index."""
    with transaction.atomic(), connection.cursor() as cur:
        staged = stage_playgrounds(cur, sources)
        served = served_sql(staged.playgrounds, f"ST_Transform(v.geom, {UTM_SRID})", "v.geom")
        cur.execute(
            f"SELECT coalesce(sum(v.children) FILTER (WHERE {served}), 0) FROM ({sources.villages}) v",
            served_params(threshold),
        )
        return cur.fetchone()[0]


def alternate(a, b, rounds=ROUNDS):
    """Rounds of a then b (alternating, so load drifts hit both): medians, bests, results."""
    ta, tb, ra, rb = [], [], None, None
    for _ in range(rounds):
        start = time.perf_counter()
        ra = a()
        ta.append(time.perf_counter() - start)
        start = time.perf_counter()
        rb = b()
        tb.append(time.perf_counter() - start)
    return (statistics.median(ta), min(ta), ra), (statistics.median(tb), min(tb), rb)


def timed(fn, rounds=ROUNDS):
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def main() -> int:
    with transaction.atomic(), connection.cursor() as cur:
        start = time.perf_counter()
        make_points(cur, "bench_village", VILLAGES, 1, True)
        make_points(cur, "bench_playground", PLAYGROUNDS, 2, False)
        make_points(cur, "bench_candidate", CANDIDATES, 3, False)
        cur.execute("SELECT count(*) FROM bench_village")
        n_v = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM bench_playground")
        n_p = cur.fetchone()[0]
        cur.execute("SELECT ST_X(geom), ST_Y(geom) FROM bench_candidate ORDER BY id")
        pairs = cur.fetchall()  # (lon, lat), as the API passes them
        candidates = [Point(x, y, srid=4326) for x, y in pairs]
        setup = time.perf_counter() - start
        if n_v == 0:
            print("No communes in the database: load the reference data first")
            return 1
        sources = Sources(
            villages="SELECT id, name, geom, commune_id, children FROM bench_village",
            playgrounds="SELECT id, geom, commune_id FROM bench_playground",
        )
        (access_med, access_min, rows), (probe_med, probe_min, probe_served_children) = alternate(
            lambda: commune_rows(sources, 1000.0), lambda: probe_served(sources, 1000.0)
        )
        children = sum(r.children for r in rows)
        served = sum(r.children_served for r in rows)
        assert served == probe_served_children, (served, probe_served_children)
        (cells_med, _cm, ours), (units_med, _um, theirs) = alternate(
            lambda: _communes_of([x for x, _y in pairs], [y for _x, y in pairs]),
            lambda: unit_ids_at(geoms=candidates),
        )
        assert ours == theirs
        siting_med, siting_min, result = timed(
            lambda: siting_run(
                sources=sources,
                budget=BUDGET,
                candidates=pairs,
                threshold_m=1000,
                only_extremely_difficult=False,
                year=None,
            )
        )
    load = os.getloadavg()
    lines = [
        "# Planning benchmark",
        "",
        f"Data: {n_v:,} villages, {n_p:,} playgrounds, {len(candidates):,} candidate points "
        f"(ST_GeneratePoints in today's communes, temporary tables; made in {setup:.1f} s). "
        f"Median of {ROUNDS} rounds, alternatives alternating. Load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores.",
        "",
        "| what | median | best | target | result |",
        "|---|---|---|---|---|",
        f"| commune_access: UTM grid cells + hash semi-join (village_service_sql), GROUP BY commune "
        f"| {access_med:.2f} s | {access_min:.2f} s | ≤ 2 s "
        f"| {served:,} of {children:,} children within 1 km |",
        f"| served children, index probe per village (served_sql, the former way) "
        f"| {probe_med:.2f} s | {probe_min:.2f} s | | same {probe_served_children:,}; "
        f"grid is **{probe_med / access_med:.1f}×** faster |",
        f"| greedy_sites, {BUDGET} picks among {len(candidates):,} candidates, all included "
        f"| {siting_med:.2f} s | {siting_min:.2f} s | ≤ 5 s | {len(result.picks)} picks, "
        f"+{result.served_after - result.served_before:,} children served |",
        f"| communes of the {len(candidates):,} candidates: _communes_of vs unit_ids_at "
        f"| {cells_med:.2f} s vs {units_med:.2f} s | | | same answers; **{units_med / cells_med:.1f}×** |",
        "",
        "History (same data): a nearest-neighbour walk per village took 14.97 s (access) and 16.2 s",
        "(greedy); an index probe per village (the second row above) 2.10 s and 5.72 s on a lighter",
        "load. The greedy now finds the candidates' communes with one join (last row), computes",
        "served villages with the grid, keeps UTM geometry only where used, and reads each",
        "candidate's coordinates once (each GEOS call from Python costs ~40 µs). The machine is",
        "shared (load average above): compare the ratios of rows measured in the same run.",
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
