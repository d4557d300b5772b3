"""The locust engine of the load run: the traffic from locust, everything else as with threads.

bench/load/run.py --engine locust (the default). LocustRun is a loadgen.RunRecord: this process
logs the simulated inspectors in (loadgen.Session, before the clock starts), runs the /healthz
prober and the outage (proxy or private cluster) in its own threads exactly as the thread engine
does, and starts locust as a subprocess:

    bench/.cache/locust-venv/bin/locust -f bench/load/locustfile.py --headless \\
        --users 50 --spawn-rate 50 --run-time <load + drain + 90>s --stop-timeout 30 \\
        --only-summary --csv <tmp>/locust --host http://127.0.0.1:<gunicorn port>

locust is installed on first use into its own virtualenv, bench/.cache/locust-venv (like tipg in
bench/ogc.py): it is no dependency of the project, and it is never imported here (gevent's
monkey-patching would reach this process's threads). The locustfile writes one JSON line per
request and per submission body; they are read back into loadgen.Sent and loadgen.Submission, and
RunRecord.check() and figures() run on them unchanged. locust's own summary (the locustfile's
locust-summary.json, from locust's statistics: requests, failures, p50/p95/p99, requests per
second, in total and per kind) is kept next to ours; its --csv files stay in the log directory.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .loadgen import ROOT, RunRecord, Sent, Submission

VENV = ROOT / "bench" / ".cache" / "locust-venv"
REQUIREMENT = "locust>=2.24,<3"
LOCUSTFILE = Path(__file__).with_name("locustfile.py")


def ensure_locust(log=print) -> Path:
    """The locust executable of bench/.cache/locust-venv, installed there on first use."""
    locust = VENV / "bin" / "locust"
    if not locust.exists():
        log(f"installing {REQUIREMENT} into {VENV}")
        VENV.parent.mkdir(parents=True, exist_ok=True)
        python = shutil.which("python3") or sys.executable
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", REQUIREMENT], check=True)
    return locust


class LocustRun(RunRecord):
    engine = "locust"

    def run(self) -> "LocustRun":
        locust = ensure_locust(self.log)
        sessions = self.open_sessions()
        work = Path(tempfile.mkdtemp(prefix="cs-locust-", dir=self.log_dir))
        control = work / "control.json"
        control.write_text(
            json.dumps(
                {
                    "run_id": self.run_id,
                    "seconds": self.cfg.seconds,
                    "drain_seconds": self.cfg.drain_seconds,
                    "replay": self.cfg.replay,
                    "race": self.cfg.race,
                    "cut": self.cfg.cut,
                    "seed": self.cfg.seed,
                    "cover_all_kinds": self.cfg.cover_all_kinds,
                    "sites": self.world["sites"],
                    "items": self.world["items"],
                    "inspectors": [
                        {"user": s.username, "headers": s.headers} for _, s in sorted(sessions.items())
                    ],
                }
            )
        )
        users = len(sessions)
        cap = int(self.cfg.seconds + self.cfg.drain_seconds + 90)
        args = [
            str(locust),
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--users",
            str(users),
            "--spawn-rate",
            str(users),
            "--run-time",
            f"{cap}s",
            "--stop-timeout",
            "30",
            "--only-summary",
            "--csv",
            str(work / "locust"),
            "--host",
            f"http://127.0.0.1:{self.port}",
            "--loglevel",
            "WARNING",
            "--exit-code-on-error",
            "0",
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DB_", "VIRTUAL_ENV"))}
        env.update({"LOAD_CONTROL": str(control), "LOAD_LOG_DIR": str(work)})
        self.locust_log = work / "locust.log"
        with open(self.locust_log, "w") as out:
            proc = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                self.started = self._wait_started(work / "started.json", proc)
                self.log(f"locust {proc.pid}: {users} users for {self.cfg.seconds:.0f} s, logs in {work}")
                stop, helpers = self.start_helpers()
                try:
                    proc.wait(timeout=cap + 60)
                finally:
                    self.load_ended = self.started + self.cfg.seconds
                    self.stop_helpers(stop, helpers)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(10)
                    self.errors.append("locust did not end by itself: killed")
        self.ended = time.time()
        if proc.returncode != 0:
            self.errors.append(f"locust exited with {proc.returncode}: {self.locust_log.read_text()[-1500:]}")
        self._read_logs(work)
        summary = work / "locust-summary.json"
        self.locust_stats = json.loads(summary.read_text()) if summary.exists() else {}
        return self

    def _wait_started(self, marker: Path, proc: subprocess.Popen, timeout: float = 120) -> float:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if marker.exists():
                return json.loads(marker.read_text())["started"]
            if proc.poll() is not None:
                tail = self.locust_log.read_text()[-3000:]
                raise RuntimeError(f"locust exited before the test started: {tail}")
            time.sleep(0.1)
        raise RuntimeError("locust did not start the test")

    def _read_logs(self, work: Path) -> None:
        """The locustfile's JSON lines -> self.subs and self.sent, as the thread engine fills them."""
        for path in sorted(work.glob("bodies-*.jsonl")):
            for line in path.read_text().splitlines():
                b = json.loads(line)
                self.subs[b["uuid"]] = Submission(uuid=b["uuid"], user=b["user"], body=b["body"].encode())
        sent = []
        for path in sorted(work.glob("requests-*.jsonl")):
            for line in path.read_text().splitlines():
                r = json.loads(line)
                if r["kind"] == "error":
                    self.errors.append(f"locustfile: {r['error']}")
                    continue
                kind, status, error = r["kind"], r["status"], r["error"]
                sent.append(Sent(kind, r["uuid"], r["start"], r["end"], status, error, r["retry_after"]))
        # In the order the answers came, as the thread engine appends them.
        self.sent = sorted(sent, key=lambda s: s.end)
        for s in self.sent:
            sub = self.subs.get(s.uuid)
            if sub is None:
                self.errors.append(f"{s.kind} {s.uuid}: sent, but its body was not logged")
                continue
            sub.statuses.append(s.status)
            if s.status in (200, 201):
                sub.acked = True
            if s.kind.startswith("cut_") and not sub.cut:
                sub.cut = s.kind.removeprefix("cut_")

    def figures(self) -> dict:
        out = super().figures()
        out["locust"] = getattr(self, "locust_stats", {})
        return out
