"""Locust traffic for the load run (bench/load/run.py --engine locust): simulated inspectors.

Run by bench/load/locust_engine.py as a subprocess, in its own virtualenv (bench/.cache/
locust-venv: locust is no dependency of the project), never imported by the orchestrator, whose
threads gevent's monkey-patching must not touch. Standard library, gevent and locust only.

    LOAD_CONTROL=<control.json> locust -f bench/load/locustfile.py --headless \\
        --users 50 --spawn-rate 50 --run-time 480s --host http://127.0.0.1:<port> ...

The control file (written by the orchestrator) holds the run id, the shares, the load and drain
seconds, the sites and checklist item codes, and one logged-in session per simulated inspector
(the orchestrator logs in through the form with loadgen.Session, before the clock starts).

Each Inspector does what loadgen.LoadRun's threads do, one step per task call:
  new submission (fresh client UUID)                              the rest, ~84 %
  replay of one of its earlier submissions (same body)            `replay` share (10 %)
  the same new UUID sent twice at the same moment                 `race` share (5 %)
    (two greenlets on two HTTP sessions, released by one gevent Event)
  a connection cut mid-request on a raw gevent socket:            `cut` share (1 %)
    headers and half the body, or the whole request and close before the answer (alternately)
A send answered 503 or without an answer is queued, as on the phone, and sent again after
Retry-After (at most 5 s); after the load phase every unacknowledged submission is sent again
until it is acknowledged ("drain"), then the user stops, and the last one stops locust.

Requests go through locust's HttpSession, named by kind, so locust's own statistics (--csv,
the summary, and locust-summary.json written here when the test stops: requests, failures,
p50/p95/p99, requests per second, in total and per kind) are real; 503 and failed connections
count as locust failures. Cuts are not timed
by locust (there is no answer). Besides, every request is appended as a JSON line to
$LOAD_LOG_DIR/requests-<pid>.jsonl (kind, uuid, user, start, end, status, retry_after, error) and
every submission body to bodies-<pid>.jsonl (uuid, user, body): the orchestrator reads them back
into loadgen.Sent and loadgen.Submission and checks the database against them.
"""

import itertools
import json
import os
import random
import time
from pathlib import Path
from urllib.parse import urlsplit

import gevent
from gevent import socket
from gevent.event import Event
from locust import HttpUser, constant, events, task
from locust.clients import HttpSession
from locust.exception import StopUser
from submission import inspection_body  # bench/load/submission.py: locust puts this folder on sys.path

API = "/api/v1/inspections/"
# cover_all_kinds: inspectors 0-3 start with a cut, a cut, a race and a replay (short runs).
FIRST = {0: ["cut"], 1: ["cut"], 2: ["race"], 3: ["new", "replay"]}


class _Run:
    """This locust process's shared state: control, logs, counters."""

    def __init__(self):
        self.control: dict = {}
        self.started = 0.0
        self.requests = None
        self.bodies = None
        self.index = itertools.count()
        self.number = itertools.count(1)
        self.cuts = 0
        self.finished = 0

    def begin(self) -> None:
        self.control = json.loads(Path(os.environ["LOAD_CONTROL"]).read_text())
        logs = Path(os.environ["LOAD_LOG_DIR"])
        pid = os.getpid()
        self.requests = open(logs / f"requests-{pid}.jsonl", "a", buffering=1)  # noqa: SIM115 - one line each
        self.bodies = open(logs / f"bodies-{pid}.jsonl", "a", buffering=1)  # noqa: SIM115
        self.started = time.time()
        marker = logs / "started.json"
        marker.with_suffix(".tmp").write_text(json.dumps({"started": self.started, "pid": pid}))
        marker.with_suffix(".tmp").rename(marker)  # the orchestrator times the outage from here

    def write(self, stream, record: dict) -> None:
        stream.write(json.dumps(record) + "\n")


RUN = _Run()


@events.test_start.add_listener
def _test_start(environment, **_kwargs):
    RUN.begin()


@events.user_error.add_listener
def _user_error(user_instance, exception, tb, **_kwargs):
    # A bug here must fail the run, not vanish in locust's log.
    RUN.write(RUN.requests, {"kind": "error", "error": f"{exception.__class__.__name__}: {exception}"})


@events.test_stop.add_listener
def _test_stop(environment, **_kwargs):
    """locust's own final figures, from its statistics after every user has stopped (the --csv
    files are written once a second and not at the end, so they may miss the last requests)."""
    for stream in (RUN.requests, RUN.bodies):
        if stream:
            stream.flush()
    stats = environment.stats

    def figures(entry) -> dict:
        return {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "p50_ms": entry.get_response_time_percentile(0.50),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
            "mean_ms": round(entry.avg_response_time),
            "rps": round(entry.total_rps, 1),
        }

    summary = {
        **figures(stats.total),
        "by_name": {name: figures(entry) for (name, _method), entry in sorted(stats.entries.items())},
    }
    Path(os.environ["LOAD_LOG_DIR"], "locust-summary.json").write_text(json.dumps(summary))


class Inspector(HttpUser):
    wait_time = constant(0)  # an inspector's phone sends as soon as the last send is answered

    def on_start(self):
        c = RUN.control
        self.index = next(RUN.index)
        me = c["inspectors"][self.index % len(c["inspectors"])]
        self.user, self.headers = me["user"], me["headers"]
        self.rng = random.Random(c["seed"] * 1000 + self.index)
        self.deadline = RUN.started + c["seconds"]
        self.mine: list[dict] = []
        self.acked: set[str] = set()
        self.pending: list[tuple[float, dict]] = []  # the phone's queue: (not before, submission)
        self.script = list(FIRST.get(self.index, [])) if c.get("cover_all_kinds") else []
        # The second sender of a same-UUID pair: its own session, so its own connection.
        events_ = self.environment.events
        self.partner = HttpSession(base_url=self.host, request_event=events_.request, user=self)
        url = urlsplit(self.host)
        self.address = (url.hostname, url.port)

    def on_stop(self):
        RUN.finished += 1
        if RUN.finished >= self.environment.parsed_options.num_users:
            # Everyone has drained: end the test now rather than at --run-time (a safety cap).
            gevent.spawn_later(0.1, self.environment.runner.quit)

    # --- one step ----------------------------------------------------------------------------------

    @task
    def step(self):
        c = RUN.control
        if time.time() >= self.deadline:
            self.drain()
            raise StopUser()
        now = time.time()
        due = [p for p in self.pending if p[0] <= now]
        if due:
            self.pending.remove(due[0])
            self.send_or_queue(due[0][1], "retry")
            return
        draw = self.rng.random()
        if self.script:
            step = self.script.pop(0)
            draw = {"cut": 0.0, "race": c["cut"], "replay": c["cut"] + c["race"], "new": 1.0}[step]
        if draw < c["cut"]:
            sub = self.body()
            self.cut(sub)
            self.pending.append((time.time() + 1, sub))  # the phone never saw an answer: it will resend
        elif draw < c["cut"] + c["race"]:
            sub = self.body()
            self.race(sub)
            if sub["uuid"] not in self.acked:
                self.pending.append((time.time() + 5, sub))
        elif draw < c["cut"] + c["race"] + c["replay"] and self.mine:
            self.send_or_queue(self.rng.choice(self.mine), "replay")
        else:
            self.send_or_queue(self.body(), "new")

    def drain(self):
        """Every send not acknowledged yet goes again until it is (or the drain time is over)."""
        until = time.time() + RUN.control["drain_seconds"]
        left = [s for s in self.mine if s["uuid"] not in self.acked]
        while left and time.time() < until:
            status, _ = self.post(left[0], "drain")
            if status in (200, 201) or (status is not None and status != 503):
                left.pop(0)  # stored, or a definite refusal (reported by the checks)
            else:
                gevent.sleep(1)

    # --- requests ----------------------------------------------------------------------------------

    def body(self) -> dict:
        """A new submission, the same shape as loadgen.LoadRun._body."""
        c = RUN.control
        body = inspection_body(
            self.rng, sites=c["sites"], items=c["items"], label=f"load-run {c['run_id']} #{next(RUN.number)}"
        )
        sub = {"uuid": body["client_uuid"], "user": self.user, "body": json.dumps(body)}
        RUN.write(RUN.bodies, sub)
        self.mine.append(sub)
        return sub

    def log(self, kind: str, sub: dict, start: float, status=None, retry_after=None, error="") -> None:
        RUN.write(
            RUN.requests,
            {
                "kind": kind,
                "uuid": sub["uuid"],
                "user": self.user,
                "start": start,
                "end": time.time(),
                "status": status,
                "retry_after": retry_after,
                "error": error,
            },
        )

    def post(self, sub: dict, kind: str, client: HttpSession | None = None) -> tuple[int | None, str | None]:
        client = client or self.client
        start = time.time()
        with client.post(
            API, data=sub["body"].encode(), headers=self.headers, name=kind, catch_response=True, timeout=120
        ) as r:
            status = r.status_code or None  # 0: no answer (connection refused, reset, timeout)
            retry_after = r.headers.get("Retry-After") if status else None
            error = ""
            if status in (200, 201):
                r.success()
            elif status is None:
                error = f"{r.error.__class__.__name__}: {r.error}"
                r.failure(error)
            else:
                r.failure(f"{status}")
                if status != 503:
                    error = r.text[:300]
        self.log(kind, sub, start, status, retry_after, error)
        if status in (200, 201):
            self.acked.add(sub["uuid"])
        return status, retry_after

    def send_or_queue(self, sub: dict, kind: str) -> None:
        status, retry_after = self.post(sub, kind)
        if status == 503 or status is None:
            wait = float(retry_after or 1) if status == 503 else 1.0
            self.pending.append((time.time() + min(wait, 5.0), sub))
            gevent.sleep(1.0)  # back off: the inspector goes on working, the phone keeps the queue

    def race(self, sub: dict) -> None:
        """The same new UUID from two greenlets, on two connections, released at the same moment."""
        go = Event()

        def send(client):
            go.wait()
            self.post(sub, "race", client)

        pair = [gevent.spawn(send, self.client), gevent.spawn(send, self.partner)]
        gevent.sleep(0)  # both are waiting on the event
        go.set()
        gevent.joinall(pair, raise_error=True)

    def cut(self, sub: dict) -> None:
        """Send the request on a raw socket and close it early: after half the body, or after the
        whole request but before the answer (alternately, as loadgen.LoadRun._cut)."""
        RUN.cuts += 1
        mode = "body" if RUN.cuts % 2 else "response"
        body = sub["body"].encode()
        head = [f"POST {API} HTTP/1.1", f"Host: {self.address[0]}:{self.address[1]}"]
        head += [f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in self.headers.items())]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode()
        start = time.time()
        try:
            with socket.create_connection(self.address, timeout=30) as s:
                if mode == "body":
                    s.sendall(raw + body[: len(body) // 2])
                else:
                    s.sendall(raw + body)
                    gevent.sleep(self.rng.uniform(0, 0.05))  # sometimes before, sometimes while it works
        except OSError:
            pass
        self.log(f"cut_{mode}", sub, start, error="cut on purpose")
