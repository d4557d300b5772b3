"""Load and fault run: 50 simulated inspectors against gunicorn for N minutes, with a database outage.

    .venv/bin/python bench/load/run.py --minutes 5

Creates a private database (default cs_load_bench) with the demo province, starts gunicorn on
loopback with its database behind bench/load/proxy.py, runs the load (10 % replays, 5 % same-UUID
races, 1 % cut connections) and cuts the database off in the middle for --outage-seconds. Then it
checks in SQL that every UUID sent is stored exactly once with all its answers, and that there
was no 5xx but 503 during the outage. Writes bench/results/load.md; exits 1 on any problem.
"""

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.load import loadgen  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5)
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
        help="restart the real cluster (pg_ctlcluster 15 main) instead of the proxy outage: "
        "stops the machine's shared PostgreSQL server, never use it where others work",
    )
    p.add_argument("--out", default=str(ROOT / "bench/results/load.md"))
    p.add_argument("--append", action="store_true", help="add this run to --out instead of replacing it")
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
    )
    if args.pg_restart and not loadgen.have_pg_ctlcluster():
        p.error("pg_ctlcluster is not installed")
    if not args.reuse_db:
        loadgen.drop_database(args.db)
    try:
        world = loadgen.prepare_database(
            args.db,
            users=args.clients,
            sites=args.sites,
            steps="migrate" if args.reuse_db or args.quick else "full",
        )
        with tempfile.TemporaryDirectory(prefix="cs-load-") as tmp:
            started = time.time()
            result = loadgen.load_and_check(
                args.db, world, cfg, workers=args.workers, threads=args.threads, log_dir=Path(tmp)
            )
            took = time.time() - started
    finally:
        if not args.keep_db:
            loadgen.drop_database(args.db)
    text = report(args, cfg, result, took)
    out = Path(args.out)
    if args.append and out.exists():
        text = out.read_text() + "\n" + text.replace("# Load and fault run", "## Another run", 1)
    out.write_text(text)
    print(text)
    return 1 if result.problems else 0


def report(args, cfg: loadgen.Config, result: loadgen.Result, took: float) -> str:
    f = result.figures
    lines = [
        "# Load and fault run",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `bench/load/run.py"
        f"{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}`; whole run {took:.0f} s. "
        "gunicorn "
        f"({args.workers} {'gthread' if args.threads > 1 else 'sync'} workers"
        f"{f' x {args.threads} threads' if args.threads > 1 else ''}, "
        "DJANGO_DEBUG=1) on loopback, PostgreSQL 15 behind the outage proxy, on the shared 2-core "
        "machine (load generator, server and database on the same cores: the figures are a floor, "
        "not a capacity).",
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
    lines += [
        "",
        "Checks (SQL on the private database after the run): every UUID sent stored exactly once "
        "with all its answers, nothing else stored, no UUID created twice, no half body stored, "
        "no 5xx but 503 (with Retry-After) during the outage, /healthz 503 only then.",
        "",
        f"**Problems: {len(result.problems)}**" + (" (clean run)" if not result.problems else ""),
    ]
    lines += [f"- {p}" for p in result.problems[:50]]
    if result.server_errors:
        lines += ["", f"Server log lines with errors ({len(result.server_errors)}):", ""]
        lines += [f"    {e[:200]}" for e in result.server_errors[:20]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
