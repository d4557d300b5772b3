"""Benchmark: a per-commune count over 10^6 points, from a stored commune key versus a
live spatial join, each with PostgreSQL's JIT on and off (the app runs with jit=off).

Run: `DJANGO_DEBUG=1 .venv/bin/python bench/jit_and_keys.py` (part of `make bench`).
The points live in a temporary table, so nothing is left behind.
"""

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

from django.db import connection  # noqa: E402

N = int(os.environ.get("BENCH_POINTS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))

QUERIES = {
    "stored key": "SELECT commune_id, count(*) FROM bench_points GROUP BY commune_id",
    "spatial join": (
        "SELECT c.id, count(*) FROM bench_points p JOIN places_adminunit c"
        " ON c.level = 'commune' AND c.valid_from = '2025-07-01' AND ST_Intersects(c.geom, p.geom)"
        " GROUP BY c.id"
    ),
}


def main() -> int:
    with connection.cursor() as cur:
        started = time.perf_counter()
        cur.execute(
            """CREATE TEMP TABLE bench_points AS
               SELECT g AS geom,
                      (SELECT c.id FROM places_adminunit c WHERE c.level = 'commune'
                          AND c.valid_from = '2025-07-01' AND ST_Covers(c.geom, g) LIMIT 1) AS commune_id
                 FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, %s, 1))).geom g
                         FROM places_adminunit WHERE level = 'province') s""",
            [N],
        )
        cur.execute("CREATE INDEX ON bench_points USING gist (geom)")
        cur.execute("CREATE INDEX ON bench_points (commune_id)")
        cur.execute("ANALYZE bench_points")
        setup = time.perf_counter() - started
        times = {(q, jit): [] for q in QUERIES for jit in ("off", "on")}
        for _ in range(ROUNDS):
            for name, sql in QUERIES.items():
                for jit in ("off", "on"):
                    cur.execute(f"SET jit = {jit}")
                    t = time.perf_counter()
                    cur.execute(sql)
                    cur.fetchall()
                    times[(name, jit)].append(time.perf_counter() - t)
        cur.execute("SET jit = off")
        cur.execute("DROP TABLE bench_points")
    med = {k: statistics.median(v) for k, v in times.items()}
    lines = [
        f"# per-commune count over {N:,} points, {ROUNDS} alternating rounds "
        f"({time.strftime('%Y-%m-%d %H:%M')})",
        f"(setup: {setup:.1f} s to generate and index the points)",
        "",
        "| query | jit | median s | min s | max s |",
        "|---|---|---|---|---|",
    ]
    for (name, jit), v in times.items():
        lines.append(f"| {name} | {jit} | {med[(name, jit)]:.3f} | {min(v):.3f} | {max(v):.3f} |")
    key, join = med[("stored key", "off")], med[("spatial join", "off")]
    lines += [
        "",
        f"spatial join / stored key (jit off): **{join / key:.0f}×**; "
        f"jit on / off: stored key {med[('stored key', 'on')] / key:.2f}×, "
        f"spatial join {med[('spatial join', 'on')] / join:.2f}×",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "bench/results/jit_and_keys.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
