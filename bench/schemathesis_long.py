"""The long schemathesis run: every operation of both OpenAPI documents, with the coverage phase.

Run: `.venv/bin/python bench/schemathesis_long.py [--examples N]` (default 100 examples per
operation and role). It runs tests/test_schemathesis.py (the API schema: /api/v1/, the tiles)
and tests/test_schemathesis_ogc.py (/ogcapi/ from its own OpenAPI document) with
SCHEMATHESIS_FULL=1 (the coverage phase: every boundary and negative case the schemas define)
in a private test database, anonymous and as an inspector, and writes the counts, the time and
any failure to bench/results/schemathesis.md. Exits 1 when a case fails (a 5xx or an answer the
schema does not document). CI runs the same tests bounded (8 examples, no coverage phase).
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "schemathesis.md"
LOG = ROOT / "bench" / ".cache" / "schemathesis_long.log"  # the whole pytest output (not committed)
FILES = ["tests/test_schemathesis.py", "tests/test_schemathesis_ogc.py"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--examples", type=int, default=100, help="examples per operation and role")
    p.add_argument("--db", default="test_cs_schemathesis_long", help="private test database")
    args = p.parse_args()
    env = {
        **os.environ,
        "SCHEMATHESIS_FULL": "1",
        "SCHEMATHESIS_MAX_EXAMPLES": str(args.examples),
        "DB_TEST_NAME": args.db,
        "DJANGO_DEBUG": os.environ.get("DJANGO_DEBUG", "1"),
    }
    cmd = [sys.executable, "-m", "pytest", *FILES, "-q", "-p", "no:cacheprovider", "--create-db", "-rf"]
    start = time.monotonic()
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    took = time.monotonic() - start
    tail = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-500:]
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|error|errors)", tail)}
    failures = [line for line in run.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    # What schemathesis found, and how to reproduce it: the check, the answer, the curl line.
    found = [
        line.strip(" |")
        for line in run.stdout.splitlines()
        if re.match(r"\s*\|?\s*(- [A-Z]+\d+ |\[\d{3}\] |Received: |curl |_+ test_)", line)
    ]
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text(run.stdout + run.stderr, encoding="utf-8")
    lines = [
        f"# schemathesis, long run ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        f"`bench/schemathesis_long.py --examples {args.examples}`: {', '.join(FILES)} with the coverage "
        f"phase on and {args.examples} examples per operation, anonymous and as an inspector (HTTP "
        "Basic); checks: no 5xx, status codes, content types, headers and bodies as documented "
        "(positive_data_acceptance and ignored_auth left out, as in CI: see tests/test_schemathesis.py).",
        "",
        "| tests (operation × role) | passed | failed | time |",
        "|---|---|---|---|",
        f"| {sum(counts.values())} | {counts.get('passed', 0)} | "
        f"{counts.get('failed', 0) + counts.get('error', 0) + counts.get('errors', 0)} | {took:.0f} s |",
        "",
    ]
    if failures:
        lines += ["Failures:", "", *[f"    {f}" for f in failures], "", "What was found:", ""]
        lines += [f"    {f}" for f in found[:60]] + ["", f"Full output: {LOG.relative_to(ROOT)}", ""]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0 if run.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
