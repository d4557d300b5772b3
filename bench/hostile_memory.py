"""Benchmark: peak memory of each hostile input (tests/hostile/cases.py) in the server process.

Run with `DJANGO_DEBUG=1 .venv/bin/python bench/hostile_memory.py` (`--quick`: the test suite's
sizes; `--only TEXT`: the cases whose name holds TEXT). Each case runs in a forked child that
sends one request through the Django handler, the body streamed from a file as a WSGI server
streams it; the table gives the child's peak RSS growth over its RSS before the request, the
request's time and the answer. It works in the test database (DB_TEST_NAME, made and migrated
if missing, kept with --keep-db) and every child rolls back what it did.
Writes bench/results/hostile_memory.md.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "childsafe.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import translation  # noqa: E402

from tests.hostile.cases import CASES  # noqa: E402
from tests.hostile.memory import run_forked  # noqa: E402

BOUND_MIB = 256
SIZES = {
    True: "the test suite's (--quick)",
    False: "the real limits: the import files just under IMPORT_MAX_BYTES (20 MB) or at IMPORT_MAX_ROWS"
    " (50 000 points), the zips at the 512 MB unzip budget",
}  # what tests/test_hostile_memory.py asserts for the cases it runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the test suite's sizes, not the real limits")
    parser.add_argument("--only", default="", help="run the cases whose name holds this text")
    parser.add_argument("--keep-db", action="store_true", help="keep the test database afterwards")
    args = parser.parse_args()

    test_name = connection.creation._get_test_db_name()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True)
    try:
        from tests.conftest import _ensure_reference_data

        _ensure_reference_data()
        rows = []
        translation.activate("en")
        for case in CASES:
            if args.only.lower() not in case.name.lower():
                continue
            with tempfile.TemporaryDirectory(prefix="hostile-mem-") as tmp:
                built = time.monotonic()
                setup, act, scale = case.build(Path(tmp), not args.quick)
                size = Path(tmp, "body").stat().st_size
                print(
                    f"{case.name}: body {size / 2**20:.1f} MB built in {time.monotonic() - built:.1f} s",
                    flush=True,
                )
                m = run_forked(setup, act, timeout=900)
            ok = m.status == case.status and case.text in m.text
            rows.append((case, size, m, ok, scale))
            print(
                f"  → {m.status}  peak +{m.peak_mib:.0f} MiB  {m.seconds:.1f} s  "
                f"{'as expected' if ok else 'UNEXPECTED'}: {m.text[:160]}",
                flush=True,
            )
        table = render(rows, quick=args.quick)
        print(table)
        if not args.only:
            out = ROOT / "bench/results/hostile_memory.md"
            out.write_text(table, encoding="utf-8")
            print(f"written to {out.relative_to(ROOT)}")
    finally:
        if not args.keep_db:
            connection.creation.destroy_test_db(test_name, verbosity=0)
    return 0


def render(rows, *, quick: bool) -> str:
    lines = [
        "# Peak memory of hostile input (bench/hostile_memory.py)",
        "",
        f"Sizes: {SIZES[quick]}. Peak RSS growth of a forked child over its RSS just before the request"
        " (Linux VmHWM after clear_refs), the body streamed from a file. 'At the limit': the peak"
        " extrapolated linearly to the limit that bounds the case (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, the"
        " 512 MB unzip budget) for the cases whose cost grows with the body; blank where the case is run"
        f" at it. tests/test_hostile_memory.py bounds both at {BOUND_MIB} MiB.",
        "",
        "| case | body MB | peak RSS growth MiB | at the limit MiB | time s | status | as expected "
        "| answer |",
        "|---|---:|---:|---:|---:|---|---|---|",
    ]
    for case, size, m, ok, scale in rows:
        answer = m.text.replace("|", "/").replace("\n", " ")[:100]
        at_limit = f"{m.peak_mib * scale:.0f}" if scale != 1.0 else ""
        lines.append(
            f"| {case.name} | {size / 2**20:.1f} | {m.peak_mib:.0f} | {at_limit} | {m.seconds:.1f} "
            f"| {m.status} | {'yes' if ok else '**no**'} | {answer} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
