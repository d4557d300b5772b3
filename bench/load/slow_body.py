"""Slow clients against gunicorn: requests whose body never finishes arriving.

    .venv/bin/python bench/load/slow_body.py [--slow 4] [--timeout 20]

A phone on a poor link (or anyone) sends the headers of a JSON POST and part of its body, then
nothing. core.middleware.RejectNulMiddleware reads every JSON body before any view runs, so a sync
gunicorn worker waits on that socket until gunicorn's --timeout kills it: as many slow clients
as workers stop the whole service. This measures /healthz with N such clients held open, for
sync workers (as docker-compose.yml runs them) and for gthread workers, side by side, and
appends the table to bench/results/load.md (--out).
"""

import argparse
import contextlib
import http.client
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.load import loadgen  # noqa: E402


def healthz(port: int, timeout: float) -> tuple[int | None, float]:
    start = time.time()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        r.read()
        conn.close()
        return r.status, time.time() - start
    except (OSError, http.client.HTTPException):
        return None, time.time() - start


def slow_clients(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(
            b"POST /api/v1/inspections/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2000\r\n\r\n"
            b'{"client_uuid": "'
        )
        socks.append(s)
    return socks


def measure(db: str, *, workers: int, threads: int, slow: int, timeout: int, tmp: Path) -> dict:
    server = loadgen.Gunicorn(db, db_port=None, workers=workers, threads=threads, log_path=tmp / "g.log")
    server.args[server.args.index("--timeout") + 1] = str(timeout)
    server.start()
    try:
        for _ in range(3 * workers * threads):  # warm every worker (URLconf, database connection)
            healthz(server.port, 30)
        before = healthz(server.port, 30)
        socks = slow_clients(server.port, slow)
        time.sleep(0.5)
        during = healthz(server.port, timeout * 3)
        for s in socks:
            with contextlib.suppress(OSError):
                s.close()
        after = healthz(server.port, 30)
    finally:
        server.stop()
    timeouts = sum("WORKER TIMEOUT" in line for line in (tmp / "g.log").read_text().splitlines())
    return {"before": before, "during": during, "after": after, "worker_timeouts": timeouts}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=4, help="threads per worker of the gthread variant")
    p.add_argument("--slow", type=int, default=None, help="slow clients (default: as many as workers)")
    p.add_argument("--timeout", type=int, default=20, help="gunicorn --timeout")
    p.add_argument("--out", default=str(ROOT / "bench/results/load.md"))
    args = p.parse_args(argv)
    slow = args.slow or args.workers

    db = f"cs_slow_body_{os.getpid()}"
    conn = loadgen.pg_connect("postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{db}"')
    conn.close()
    conn = loadgen.pg_connect(db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE EXTENSION postgis")  # /healthz asks for its version
    conn.close()
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="cs-slow-") as tmp:
            for label, threads in (("sync", 1), (f"gthread x {args.threads}", args.threads)):
                m = measure(
                    db, workers=args.workers, threads=threads, slow=slow, timeout=args.timeout, tmp=Path(tmp)
                )
                rows.append((label, m))
                print(label, m, flush=True)
    finally:
        loadgen.drop_database(db)

    def cell(result):
        status, seconds = result
        return f"{status} in {seconds:.2f} s"

    lines = [
        "",
        "## Slow clients (bench/load/slow_body.py)",
        "",
        f"{slow} clients send the headers and part of a JSON body, then nothing; gunicorn "
        f"{args.workers} workers, --timeout {args.timeout}. /healthz answer time:",
        "",
        "| workers | before | with the slow clients | after they leave | worker timeouts |",
        "|---|---|---|---|---|",
    ]
    for label, m in rows:
        lines.append(
            f"| {label} | {cell(m['before'])} | {cell(m['during'])} | {cell(m['after'])}"
            f" | {m['worker_timeouts']} |"
        )
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    out.write_text((out.read_text() if out.exists() else "") + text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
