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

from planning.access import COMMUNES_SQL, Sources, commune_rows  # noqa: E402
from planning.siting import siting_run  # noqa: E402

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
        candidates = [Point(x, y, srid=4326) for x, y in cur.fetchall()]
        setup = time.perf_counter() - start
        sources = Sources(
            villages="SELECT id, name, geom, commune_id, children FROM bench_village",
            playgrounds="SELECT id, geom, commune_id FROM bench_playground",
        )
        access_med, access_min, rows = timed(lambda: commune_rows(sources, 1000.0))
        children = sum(r.children for r in rows)
        served = sum(r.children_served for r in rows)
        siting_med, siting_min, result = timed(
            lambda: siting_run(
                sources=sources,
                budget=BUDGET,
                candidates=candidates,
                threshold_m=1000,
                only_extremely_difficult=False,
                year=None,
            )
        )
    lines = [
        "# Planning benchmark",
        "",
        f"Data: {n_v:,} villages, {n_p:,} playgrounds, {len(candidates):,} candidate points "
        f"(ST_GeneratePoints in today's communes, temporary tables; made in {setup:.1f} s). "
        f"Median of {ROUNDS} rounds.",
        "",
        "| what | median | best | target | result |",
        "|---|---|---|---|---|",
        f"| commune_access (ST_DWithin on UTM 48N, checked on the spheroid, GROUP BY commune) "
        f"| {access_med:.2f} s | {access_min:.2f} s | ≤ 2 s "
        f"| {served:,} of {children:,} children within 1 km |",
        f"| greedy_sites, {BUDGET} picks among {len(candidates):,} candidates "
        f"| {siting_med:.2f} s | {siting_min:.2f} s | ≤ 5 s | {len(result.picks)} picks, "
        f"+{result.served_after - result.served_before:,} children served |",
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
