"""Benchmark: inspection coverage per unit at 10^4, 10^5 and 10^6 sites and inspections, for
38, 106 and 10,000 units, side by side in one run:
- state: maps.indicators.coverage_query over the per-site inspection state (as
  maps_site_inspection_state, kept by triggers), for a period ending today (one scan of the
  state) and for a period ending a year earlier (sites inspected since then probed by index);
- before: maps.indicators.coverage_query_joined (inspections hash-joined to the sites by their
  stored unit key, grouped per site), what the indicator ran before the state table;
- naive: the same with the unit of each site found at query time with ST_Contains.

Data: unlogged tables (regular tables, not temporary ones, so that they sit in shared buffers,
scan in parallel and get vacuumed as the real tables do), dropped at the end; the project's
tables are not touched.
- units: Voronoi cells of random seeds over Lai Châu's bounding box, densified to about 200
  vertices each (the real communes have hundreds), so that ST_Contains costs what it costs
  on real boundaries;
- sites: ST_GeneratePoints inside each unit (the unit key stored, as Site.commune_id is),
  kinds and status drawn at random; inspections: as many as sites, on random sites, dates over
  two years, 80 % passing. All by SQL (generate_series, setseed): the 10^6 rows take seconds.
The state table is built as the migration's backfill builds maps_site_inspection_state and the
inspections get the migration's index (site_id, performed_at DESC) INCLUDE (result). Rounds
alternate the variants; medians. Answers compared: state vs before, for both periods.

    DJANGO_DEBUG=1 .venv/bin/python bench/indicators.py           # full: 10^4, 10^5, 10^6
    DJANGO_DEBUG=1 .venv/bin/python bench/indicators.py --quick   # 10^4, 10^5 only

    DJANGO_DEBUG=1 .venv/bin/python bench/indicators.py --only 10000x1000000   # one case

Writes bench/results/indicators.md. Target: 10^6 rows at 10,000 units ≤ 1.5 s.
"""

# ruff: noqa: S608 - SQL assembled from this module's constants; values travel as parameters.

import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "childsafe.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from maps.indicators import (  # noqa: E402
    COVERAGE_WORK_MEM,
    coverage_query,
    coverage_query_joined,
    inspection_rules,
)

QUICK = "--quick" in sys.argv
ROWS = [10_000, 100_000] if QUICK else [10_000, 100_000, 1_000_000]
UNITS = [38, 106, 10_000]
ONLY = None
if "--only" in sys.argv:  # e.g. --only 10000x1000000
    ONLY = tuple(int(x) for x in sys.argv[sys.argv.index("--only") + 1].split("x"))
    UNITS, ROWS = [ONLY[0]], [ONLY[1]]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
# The naive join at 10^6 rows takes tens of seconds a round: one round is enough to show the ratio.
JOIN_ROUNDS_LARGE = 1
OUT = ROOT / "bench" / "results" / "indicators.md"
BBOX = (102.3, 21.65, 103.95, 22.85)  # Lai Châu, lon/lat
KINDS = ["construction_site", "drowning_hotspot", "school_route", "playground"]
ON = date(2026, 6, 30)
PAST = ON - timedelta(days=365)  # a past period: most sites were inspected after it
TABLES = ("bench_unit", "bench_site", "bench_inspection", "bench_state")


def make_units(cur, n: int) -> None:
    x0, y0, x1, y1 = BBOX
    cur.execute("SELECT setseed(0.42)")
    cur.execute("DROP TABLE IF EXISTS bench_unit")
    cur.execute(
        """
        CREATE UNLOGGED TABLE bench_unit AS
        WITH seeds AS (
            SELECT ST_Collect(ST_MakePoint(%(x0)s + random() * (%(x1)s - %(x0)s),
                                           %(y0)s + random() * (%(y1)s - %(y0)s))) AS g
              FROM generate_series(1, %(n)s)
        ), cells AS (
            SELECT (ST_Dump(ST_VoronoiPolygons(g, 0, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s)))).geom
                   AS g FROM seeds
        ), clipped AS (
            SELECT ST_Intersection(g, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s)) AS g FROM cells
        )
        SELECT row_number() OVER ()::bigint AS id,
               ST_SetSRID(ST_Segmentize(g, sqrt(ST_Area(g)) / 50), 4326)::geometry(Polygon, 4326) AS geom
          FROM clipped WHERE ST_GeometryType(g) = 'ST_Polygon'
        """,
        {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "n": n},
    )
    cur.execute("CREATE INDEX ON bench_unit USING gist (geom)")
    cur.execute("ANALYZE bench_unit")


def make_rows(cur, n: int) -> None:
    cur.execute("SELECT setseed(0.17)")
    for t in ("bench_site", "bench_inspection"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    cur.execute(
        """
        CREATE UNLOGGED TABLE bench_site AS
        WITH u AS (SELECT id, geom, ST_Area(geom) AS area FROM bench_unit),
             q AS (SELECT id, geom, greatest(1, round(%(n)s * area / sum(area) OVER ()))::int AS k FROM u)
        SELECT row_number() OVER ()::bigint AS id, q.id AS commune_id, d.geom::geometry(Point, 4326) AS geom,
               (%(kinds)s::text[])[1 + floor(random() * 4)::int] AS kind,
               CASE WHEN random() < 0.95 THEN 'active' ELSE 'closed' END AS status
          FROM q, LATERAL (SELECT (ST_Dump(ST_GeneratePoints(q.geom, q.k, 7))).geom) d
        """,
        {"n": n, "kinds": KINDS},
    )
    cur.execute("SELECT count(*) FROM bench_site")
    sites = cur.fetchone()[0]
    cur.execute(
        """
        CREATE UNLOGGED TABLE bench_inspection AS
        SELECT 1 + floor(random() * %(sites)s)::bigint AS site_id,
               %(on)s::timestamptz - random() * interval '730 days' AS performed_at,
               CASE WHEN random() < 0.8 THEN 'pass' ELSE 'fail' END AS result
          FROM generate_series(1, %(n)s)
        """,
        {"sites": sites, "n": n, "on": datetime.combine(ON, datetime.min.time(), tzinfo=ZoneInfo("UTC"))},
    )
    cur.execute("CREATE INDEX ON bench_site USING gist (geom)")
    cur.execute("ALTER TABLE bench_site ADD PRIMARY KEY (id)")
    # The index of maps/migrations/0001_site_inspection_state.py.
    cur.execute("CREATE INDEX ON bench_inspection (site_id, performed_at DESC) INCLUDE (result)")
    cur.execute("VACUUM ANALYZE bench_site")
    cur.execute("VACUUM ANALYZE bench_inspection")


KEY_SITES = "SELECT id, commune_id, geom, kind FROM bench_site WHERE status = 'active'"
JOIN_SITES = (
    "SELECT s.id, u.id AS commune_id, s.geom, s.kind FROM bench_site s"
    " JOIN bench_unit u ON ST_Contains(u.geom, s.geom) WHERE s.status = 'active'"
)


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of a local process (the PostgreSQL backend), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


STATE_SITES = (
    "SELECT site_id AS id, commune_id, NULL::geometry AS geom, kind, last_at, last_pass_at"
    " FROM bench_state WHERE status = 'active' AND kind = ANY(%s)"
)


def windows_on(day: date) -> tuple[dict, datetime]:
    rules = inspection_rules()
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    windows = {k: datetime.combine(rules[k].window_start(day), datetime.min.time(), tzinfo=tz) for k in KINDS}
    return windows, datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)


def timed(cur, sql: str, params: list) -> tuple[float, list]:
    start = time.perf_counter()
    cur.execute(sql, params)
    rows = cur.fetchall()
    return time.perf_counter() - start, sorted(rows)


def run_state(cur, day: date = ON) -> tuple[float, list]:
    windows, end = windows_on(day)
    sql, params = coverage_query(STATE_SITES, [KINDS], "k.commune_id", windows, end, "bench_inspection")
    return timed(cur, sql, params)


def run_joined(cur, sites_sql: str, day: date = ON) -> tuple[float, list]:
    windows, end = windows_on(day)
    sql, params = coverage_query_joined(sites_sql, [], "k.commune_id", windows, end, "bench_inspection")
    cur.execute(f"SET work_mem = '{COVERAGE_WORK_MEM}'")  # its per-site grouping spills otherwise
    try:
        return timed(cur, sql, params)
    finally:
        cur.execute("RESET work_mem")


def make_state(cur) -> None:
    """As the migration's backfill fills maps_site_inspection_state."""
    cur.execute("DROP TABLE IF EXISTS bench_state")
    cur.execute(
        """
        CREATE UNLOGGED TABLE bench_state AS
        SELECT s.id AS site_id, s.commune_id, s.kind, s.status, NULL::bigint AS agency_id,
               l.last_at, l.last_pass_at
          FROM bench_site s LEFT JOIN (
                SELECT site_id, max(performed_at) AS last_at,
                       max(performed_at) FILTER (WHERE result = 'pass') AS last_pass_at
                  FROM bench_inspection GROUP BY site_id) l ON l.site_id = s.id
        """
    )
    cur.execute("ALTER TABLE bench_state ADD PRIMARY KEY (site_id)")
    cur.execute("CREATE INDEX ON bench_state (last_at)")  # as the migration's maps_state_last_at
    cur.execute("VACUUM ANALYZE bench_state")


def serial_cpu(cur, backend: int, fn) -> float:
    """CPU seconds of the backend for one run without parallel workers: robust to the load."""
    cur.execute("SET max_parallel_workers_per_gather = 0")
    try:
        before = cpu_seconds(backend)
        fn()
        return cpu_seconds(backend) - before
    finally:
        cur.execute("RESET max_parallel_workers_per_gather")


def main() -> int:
    results = []
    total = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET jit = off")
        cur.execute("SELECT pg_backend_pid()")
        backend = cur.fetchone()[0]
        try:
            for n_units in UNITS:
                start = time.perf_counter()
                make_units(cur, n_units)
                cur.execute("SELECT count(*), avg(ST_NPoints(geom)) FROM bench_unit")
                made_units, vertices = cur.fetchone()
                unit_setup = time.perf_counter() - start
                for n in ROWS:
                    start = time.perf_counter()
                    make_rows(cur, n)
                    make_state(cur)
                    setup = time.perf_counter() - start
                    t_state, t_past, t_before, t_naive = [], [], [], []
                    naive_rounds = JOIN_ROUNDS_LARGE if n >= 1_000_000 else ROUNDS
                    for r in range(ROUNDS):
                        t, state_rows = run_state(cur)
                        t_state.append(t)
                        t, past_rows = run_state(cur, PAST)
                        t_past.append(t)
                        t, before_rows = run_joined(cur, KEY_SITES)
                        t_before.append(t)
                        if r < naive_rounds:
                            t, naive_rows = run_joined(cur, JOIN_SITES)
                            t_naive.append(t)
                    _t, before_past_rows = run_joined(cur, KEY_SITES, PAST)
                    cpu_state = serial_cpu(cur, backend, lambda: run_state(cur))
                    cpu_past = serial_cpu(cur, backend, lambda: run_state(cur, PAST))
                    cpu_before = serial_cpu(cur, backend, lambda: run_joined(cur, KEY_SITES))
                    # Exact equality state / before, both periods. The naive join: points are
                    # generated inside their unit, but one on a shared edge may be counted in the
                    # neighbour: compare totals.
                    same = state_rows == before_rows and past_rows == before_past_rows
                    naive_same = sum(x[1] for x in naive_rows) == sum(x[1] for x in before_rows)
                    row = {
                        "units": n_units,
                        "made": made_units,
                        "vertices": vertices,
                        "rows": n,
                        "state": statistics.median(t_state),
                        "state_best": min(t_state),
                        "state_cpu": cpu_state,
                        "past": statistics.median(t_past),
                        "past_cpu": cpu_past,
                        "before": statistics.median(t_before),
                        "before_cpu": cpu_before,
                        "naive": statistics.median(t_naive),
                        "same": same,
                        "naive_same": naive_same,
                    }
                    results.append(row)
                    print(
                        f"{made_units:>6} units {n:>9,} rows: state {row['state']:.3f} s"
                        f" (CPU {cpu_state:.2f}),"
                        f" past {row['past']:.3f} s (CPU {cpu_past:.2f}), before {row['before']:.3f} s"
                        f" (CPU {cpu_before:.2f}), naive {row['naive']:.3f} s, same={same}/{naive_same},"
                        f" setup {setup + unit_setup:.1f} s",
                        flush=True,
                    )
                    unit_setup = 0.0
        finally:
            for t in TABLES:
                cur.execute(f"DROP TABLE IF EXISTS {t}")
    load = os.getloadavg()[0]
    lines = [
        "# Indicator benchmark: inspection coverage per unit",
        "",
        "Side by side in one run, on unlogged tables (sites with a stored unit key, as many inspections",
        "as sites, dates over two years, 80 % passing; synthetic Voronoi units over Lai Châu's box):",
        "",
        "- **state**: `maps.indicators.coverage_query` over the per-site inspection state (latest and",
        "  latest passing inspection per site, kept by triggers in `maps_site_inspection_state`), period",
        f"  ending {ON} (as a period ending today): one (parallel) scan of the state; the sites",
        "  inspected after the end of the period, found by the index on last_at, are none;",
        f"- **state, past**: the same query for the period ending {PAST}: sites inspected after",
        "  that day are probed by index (site_id, performed_at DESC) INCLUDE (result);",
        "- **before**: `coverage_query_joined`, inspections hash-joined to the sites by the stored key and",
        "  grouped per site (what the indicator ran before the state table);",
        "- **naive**: the same with each site's unit found by ST_Contains at query time.",
        "",
        f"Median of {ROUNDS} rounds (naive at 10^6 rows: {JOIN_ROUNDS_LARGE} round). JIT off.",
        "CPU = CPU seconds of the backend for one serial run (max_parallel_workers_per_gather = 0),",
        "robust to the load.",
        f"Mode: {'quick' if QUICK else ('only ' + 'x'.join(map(str, ONLY)) if ONLY else 'full')};"
        f" total run {time.perf_counter() - total:.0f} s. Load average at the end: {load:.1f} on a 2-core",
        "machine shared with other work: wall times are inflated by the load, CPU and ratios are what count.",
        "",
        "| units | vertices/unit | rows | state | state CPU | state, past | past CPU | before | before CPU "
        "| naive ST_Contains | naive ÷ state | before ÷ state | same answers |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['made']:,} (asked {r['units']:,}) | {r['vertices']:.0f} | {r['rows']:,} "
            f"| {r['state']:.3f} s "
            f"| {r['state_cpu']:.2f} s | {r['past']:.3f} s | {r['past_cpu']:.2f} s | {r['before']:.3f} s "
            f"| {r['before_cpu']:.2f} s | {r['naive']:.3f} s | {r['naive'] / r['state']:.1f}× "
            f"| {r['before'] / r['state']:.1f}× | {'yes' if r['same'] else 'NO'}"
            f"{'' if r['naive_same'] else ' (naive totals differ)'} |"
        )
    big = [r for r in results if r["units"] == 10_000 and r["rows"] == 1_000_000]
    if big:
        r = big[0]
        verdict = "met" if r["state"] <= 1.5 else "missed in wall time under this load"
        lines += [
            "",
            f"Target: 10^6 rows at 10,000 units ≤ 1.5 s — state: {r['state']:.2f} s median wall"
            f" (best {r['state_best']:.2f} s), {r['state_cpu']:.2f} s CPU serially: {verdict}."
            f" Before: {r['before']:.2f} s ({r['before_cpu']:.2f} s CPU); naive join {r['naive']:.1f} s.",
            f"A past period (the sites inspected since probed): {r['past']:.2f} s"
            f" ({r['past_cpu']:.2f} s CPU).",
        ]
    lines.append("")
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
