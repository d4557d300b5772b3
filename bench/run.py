"""Run every benchmark under bench/ in turn (`make bench`)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Every bench/*.py but this one and private modules (names starting with "_").
BENCHES = sorted(p.name for p in HERE.glob("*.py") if p.name != "run.py" and not p.name.startswith("_"))

if __name__ == "__main__":
    failed = 0
    for name in BENCHES:
        print(f"== {name}", flush=True)
        failed |= subprocess.call([sys.executable, str(HERE / name)])
    sys.exit(failed)
