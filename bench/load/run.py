"""Load and fault run: 50 simulated inspectors against gunicorn for N minutes, with a database outage.

    # the long runs (issue 11): locust makes the traffic (installed on first use into
    # bench/.cache/locust-venv, run as a subprocess)
    .venv/bin/python bench/load/run.py --engine locust --pg-restart --minutes 5 --append
    .venv/bin/python bench/load/run.py --engine locust --minutes 2 --append
    # the same with the project's own thread engine (as tests/test_load_bounded.py)
    .venv/bin/python bench/load/run.py --engine threads --minutes 5
    # the bounded CI version
    DJANGO_DEBUG=1 DB_TEST_NAME=test_cs_load .venv/bin/python -m pytest tests/test_load_bounded.py -q

Two engines make the traffic, with the same mix and the same checks:
  locust (default)  bench/load/locustfile.py run by bench/load/locust_engine.py as a subprocess
                    (`locust --headless --users N --spawn-rate N --only-summary --csv ...`); its
                    JSON-line logs of every request and body are read back and checked here, and
                    locust's own p50/p95/p99 and requests per second are reported next to ours.
  threads           bench/load/loadgen.py's LoadRun: one thread per simulated inspector.
The /healthz prober and the outage are this process's threads with either engine.

Creates a private database (default cs_load_bench) with the demo province, starts gunicorn on
loopback, runs the load (10 % replays, 5 % same-UUID races, 1 % cut connections) and takes the
database away in the middle for --outage-seconds. Then it checks in SQL that every UUID sent is
stored exactly once with all its answers, and that there was no 5xx but 503 during the outage,
and that the service recovered by itself. Exits 1 on any problem.

Two kinds of outage:
  proxy (default)  the database lives on the machine's PostgreSQL server; gunicorn reaches it
                   through bench/load/proxy.py, which cuts every connection (RST) and refuses new
                   ones for the outage. Writes bench/results/load.md.
  --pg-restart     the database lives in a private, throw-away PostgreSQL 15 cluster
                   (bench/load/cluster.py: initdb in a temporary directory, 127.0.0.1 on a free
                   port, fsync and synchronous_commit on) that gunicorn connects to directly. In
                   the middle the cluster is really stopped (`pg_ctl stop -m immediate`, a crash:
                   no checkpoint, WAL replay at the next start; or --stop-mode fast) and started
                   again after --outage-seconds. The database is prepared inside the cluster
                   (migrations, reference data, demo province, users, sites), and everything is
                   removed afterwards. The machine's shared server is never restarted.
                   Writes bench/results/load-restart.md.
"""

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.load import cluster, loadgen  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5)
    p.add_argument(
        "--engine",
        choices=("locust", "threads"),
        default="locust",
        help="who makes the traffic: locust in a subprocess (default) or loadgen's threads",
    )
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread if > 1)")
    p.add_argument("--db", default="cs_load_bench", help="private database (dropped and re-created)")
    p.add_argument("--reuse-db", action="store_true", help="keep an existing prepared database")
    p.add_argument("--keep-db", action="store_true", help="do not drop the database afterwards")
    p.add_argument("--quick", action="store_true", help="reference data only, no demo province")
    p.add_argument("--sites", type=int, default=40)
    p.add_argument("--replay", type=float, default=0.10)
    p.add_argument("--race", type=float, default=0.05)
    p.add_argument("--cut", type=float, default=0.01)
    p.add_argument("--outage-at", type=float, default=None, help="seconds after the start (default: middle)")
    p.add_argument("--outage-seconds", type=float, default=15)
    p.add_argument("--no-outage", action="store_true")
    p.add_argument(
        "--pg-restart",
        action="store_true",
        help="run against a private, throw-away PostgreSQL cluster and really stop and start it "
        "for the outage (never the machine's shared server)",
    )
    p.add_argument(
        "--stop-mode",
        choices=("immediate", "fast"),
        default="immediate",
        help="with --pg-restart: pg_ctl stop -m immediate (a crash, WAL replay) or fast",
    )
    p.add_argument(
        "--out", default=None, help="default bench/results/load.md (load-restart.md with --pg-restart)"
    )
    p.add_argument("--append", action="store_true", help="add this run to --out instead of replacing it")
    p.add_argument(
        "--logs",
        default=None,
        help="keep the run's logs (gunicorn.log; with locust its CSV stats, locust.log and the JSON "
        "lines of every request and body) in this directory instead of a temporary one",
    )
    args = p.parse_args(argv)

    seconds = args.minutes * 60
    cfg = loadgen.Config(
        clients=args.clients,
        seconds=seconds,
        replay=args.replay,
        race=args.race,
        cut=args.cut,
        outage_at=None if args.no_outage else (args.outage_at if args.outage_at is not None else seconds / 2),
        outage_seconds=args.outage_seconds,
        outage_mode="restart" if args.pg_restart else "proxy",
        stop_mode=args.stop_mode,
    )
    if args.pg_restart:
        if not cluster.available():
            p.error(f"PostgreSQL server binaries not found in {cluster.BIN}")
        if args.reuse_db or args.keep_db:
            p.error("--reuse-db and --keep-db do not apply to --pg-restart (the cluster is thrown away)")
        with cluster.PrivateCluster(prefix="cs-load-pg-") as pg:
            print(f"private cluster in {pg.root} on 127.0.0.1:{pg.port}")
            result, took, prep = _run(args, cfg, pg)
            pg_log = pg.recovery_lines()
            refused = pg.refused_while_down()
            pg_log.append(f"(connections refused while shutting down or recovering: {refused})")
    else:
        result, took, prep = _run(args, cfg, None)
        pg_log = []
    text = report(args, cfg, result, took, prep, pg_log)
    default = "bench/results/load-restart.md" if args.pg_restart else "bench/results/load.md"
    out = Path(args.out or ROOT / default)
    if args.append and out.exists():
        text = out.read_text() + "\n" + text.replace(text.splitlines()[0], "## Another run", 1)
    out.write_text(text)
    print(text)
    return 1 if result.problems else 0


def _run(args, cfg: loadgen.Config, pg) -> tuple[loadgen.Result, float, float]:
    """Prepare the database (on the shared server, or in the private cluster `pg`), load, check."""
    if not args.reuse_db:
        loadgen.drop_database(args.db, pg)
    try:
        t = time.time()
        world = loadgen.prepare_database(
            args.db,
            users=args.clients,
            sites=args.sites,
            steps="migrate" if args.reuse_db or args.quick else "full",
            pg=pg,
        )
        prep = time.time() - t
        with tempfile.TemporaryDirectory(prefix="cs-load-") as tmp:
            log_dir = Path(args.logs or tmp)
            log_dir.mkdir(parents=True, exist_ok=True)
            started = time.time()
            result = loadgen.load_and_check(
                args.db,
                world,
                cfg,
                workers=args.workers,
                threads=args.threads,
                log_dir=log_dir,
                pg=pg,
                engine=args.engine,
            )
            took = time.time() - started
    finally:
        if not args.keep_db:
            loadgen.drop_database(args.db, pg)
    return result, took, prep


def report(
    args, cfg: loadgen.Config, result: loadgen.Result, took: float, prep: float, pg_log: list[str]
) -> str:
    f = result.figures
    title = "# Load and fault run"
    if cfg.outage_mode == "restart":
        title = "# Load run with a real PostgreSQL restart"
        where = (
            "a private, throw-away PostgreSQL 15 cluster (bench/load/cluster.py; fsync, "
            "synchronous_commit and full_page_writes on) reached directly on loopback"
        )
    else:
        where = "PostgreSQL 15 behind the outage proxy"
    lines = [
        title,
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `bench/load/run.py"
        f"{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`; database prepared in {prep:.0f} s, "
        f"load, drain and checks {took:.0f} s. "
        "gunicorn "
        f"({args.workers} {'gthread' if args.threads > 1 else 'sync'} workers"
        f"{f' x {args.threads} threads' if args.threads > 1 else ''}, "
        f"DJANGO_DEBUG=1) on loopback, {where}, on the shared 2-core "
        "machine (load generator, server and database on the same cores: the figures are a floor, "
        "not a capacity).",
        "",
        f"Traffic: {_engine(f['engine'])}.",
        "",
        f"{cfg.clients} simulated inspectors for {f['seconds']} s, each logged in with a session: "
        f"{cfg.replay:.0%} replays, {cfg.race:.0%} same-UUID pairs sent at once, "
        f"{cfg.cut:.0%} connections cut mid-request; sends without an answer are queued and re-sent "
        "(as the phone does), everything unacknowledged is re-sent at the end.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| requests (all kinds) | {f['requests']} |",
        f"| by kind | {', '.join(f'{k} {v}' for k, v in sorted(f['by_kind'].items()))} |",
        f"| by status | {', '.join(f'{k} {v}' for k, v in sorted(f['by_status'].items()))} |",
        f"| UUIDs sent / stored inspections created (201) | {f['uuids']} / {f['created']} |",
        f"| acknowledged submissions per second | {f['acknowledged_per_s']} |",
        f"| latency p50 / p95 / p99 (2xx, outside the outage) | "
        f"{f['p50_ms']} / {f['p95_ms']} / {f['p99_ms']} ms (mean {f['mean_ms']} ms) |",
    ]
    lc = f.get("locust")
    if lc and "requests" in lc:
        lines += [
            f"| locust's own summary (every request it timed, 503s, retries and drain included; "
            f"cuts not timed) | {lc['requests']} requests, {lc['failures']} failures, "
            f"p50 / p95 / p99 {lc['p50_ms']} / {lc['p95_ms']} / {lc['p99_ms']} ms, {lc['rps']} requests/s |",
            "| locust per kind (requests, failures, p50 / p95 / p99 ms) | "
            + "; ".join(
                f"{name} {v['requests']}, {v['failures']}, {v['p50_ms']} / {v['p95_ms']} / {v['p99_ms']}"
                for name, v in sorted(lc["by_name"].items())
            )
            + " |",
        ]
    elif f["engine"] == "locust":
        lines.append("| locust's own summary | missing (no --csv stats written) |")
    lines.append(f"| phases (s) | {', '.join(f'{k} {v}' for k, v in f['phases_s'].items())} |")
    if "outage_s" in f:
        lines += [
            f"| database outage ({cfg.outage_mode}) | {f['outage_s']} s, from {cfg.outage_at:.0f} s |",
            f"| answers during the outage | 503: {f['outage_503']}, 500: {f['outage_500']}, "
            f"2xx: {f['outage_2xx']}, connection failed: {f['outage_conn_failed']} |",
            f"| /healthz during the outage | {f['healthz_during']} |",
            f"| recovery: first stored submission after the database is back | {f['recovery_s']} s |",
            f"| recovery: first /healthz 200 after the database is back | {f['healthz_recovery_s']} s |",
        ]
        if "proxy_cut" in f:
            lines.append(f"| proxy: connections cut / refused | {f['proxy_cut']} / {f['proxy_refused']} |")
        if "pg_stop_s" in f:
            lines.append(
                f"| PostgreSQL: `pg_ctl stop -m {f['stop_mode']}` / `pg_ctl start` (until it accepts "
                f"connections) took | {f['pg_stop_s']} / {f['pg_start_s']} s |"
            )
    lines += [
        "",
        "Checks (SQL on the private database after the run): every UUID sent stored exactly once "
        "with all its answers, nothing else stored, no UUID created twice, no half body stored, "
        "no 5xx but 503 (with Retry-After) during the outage, /healthz 503 only then.",
        "",
        f"**Problems: {len(result.problems)}**" + (" (clean run)" if not result.problems else ""),
    ]
    lines += [f"- {p}" for p in result.problems[:50]]
    if pg_log:
        lines += ["", "The private cluster's log about the stop and the recovery:", ""]
        lines += [f"    {line[:200]}" for line in pg_log[-16:]]
    if result.server_errors:
        lines += ["", f"Server log lines with errors ({len(result.server_errors)}):", ""]
        lines += [f"    {e[:200]}" for e in result.server_errors[:20]]
    return "\n".join(lines) + "\n"


def _engine(name: str) -> str:
    if name == "locust":
        return (
            "locust (bench/load/locustfile.py, HttpUser, one greenlet per simulated inspector) in a "
            "subprocess, from bench/.cache/locust-venv; every request and body logged as JSON lines "
            "and checked here"
        )
    return "the thread engine (bench/load/loadgen.py LoadRun, one thread per simulated inspector)"


if __name__ == "__main__":
    sys.exit(main())
