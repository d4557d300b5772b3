"""Load and fault run against gunicorn: simulated inspectors submitting inspections.

Each simulated inspector logs in (session), then loops until the deadline:
  new submission (fresh client UUID)                              the rest, ~84 %
  replay of one of his earlier submissions (same body)            `replay` share (10 %)
  the same new UUID sent twice at the same moment (two sockets)   `race` share (5 %)
  a connection cut mid-request: headers and half the body, or     `cut` share (1 %)
    the whole request and close before the response
Like the phone's offline queue, a send that got 503 or lost its connection is kept and sent
again after Retry-After; at the end every send not yet acknowledged (including every cut one)
is sent again until it is. Then the database is checked in SQL: every UUID the clients made
exists exactly once, with all its answers, and nothing else of the run exists.

The database can be made unreachable for a while through bench/load/proxy.py, or really
stopped and started again: a private, throw-away PostgreSQL cluster (bench/load/cluster.py) that
holds the run's database, stopped with `pg_ctl stop -m fast` or `-m immediate` (a crash: no
checkpoint, WAL replay on the next start). The machine's shared server is never restarted. The
service must answer 503 then, never 500, recover by itself, and lose no acknowledged submission.

Everything that touches PostgreSQL takes `pg`: None for the machine's server (Unix socket), or a
PrivateCluster (anything with connect_kwargs(db) and dsn(db)).

Two engines make the traffic; RunRecord holds what either sent and saw, and the checks and
figures, which read only those records:
  LoadRun (here)  the thread engine: one thread per simulated inspector, http.client
                  (tests/test_load_bounded.py; bench/load/run.py --engine threads)
  LocustRun       bench/load/locust_engine.py: locust in a subprocess (bench/load/locustfile.py),
                  its JSON-line logs read back into Sent and Submission (bench/load/run.py's
                  default)
The /healthz prober and the outage are threads of this process with either engine.
load_and_check(..., engine="threads" | "locust") starts gunicorn (and the proxy), runs one, checks.
"""

import contextlib
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from .proxy import OutageProxy
from .submission import inspection_body

ROOT = Path(__file__).resolve().parents[2]
PG_SOCKET_DIR = "/var/run/postgresql"
PASSWORD = "load-run-password-0427"  # only ever in a private, throw-away database
API = "/api/v1/inspections/"


# --- database and server ---------------------------------------------------------------------------------


def pg_connect(db: str, pg=None):
    if pg is not None:
        return psycopg2.connect(**pg.connect_kwargs(db), connect_timeout=10)
    return psycopg2.connect(dbname=db, host=PG_SOCKET_DIR)


def drop_database(db: str, pg=None) -> None:
    conn = pg_connect("postgres", pg)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    conn.close()


def clone_database(template: str, db: str, pg=None) -> None:
    """CREATE DATABASE db TEMPLATE template (nobody may be connected to the template)."""
    conn = pg_connect("postgres", pg)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
    conn.close()


def base_env(db: str, extra: dict | None = None, pg=None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "DB_"))}
    env.update(
        {
            "DJANGO_DEBUG": "1",
            "DB_NAME": db,
            # Every simulated inspector logs in from 127.0.0.1 with the right password; nothing to throttle.
            "LOGIN_THROTTLE_PER_USER": "100000",
            "LOGIN_THROTTLE_PER_ADDRESS": "100000",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
    )
    if pg is not None:
        env["DATABASE_URL"] = pg.dsn(db)  # settings.py: DATABASE_URL wins over DB_NAME / PGHOST
    env.update(extra or {})
    return env


def prepare_database(
    db: str,
    *,
    users: int,
    sites: int,
    steps: str = "reference",
    sessions: bool = False,
    log=print,
    pg=None,
) -> dict:
    """The run's users and sites, after `steps`: "full" (the whole demo province), "migrate"
    (schema and reference data) or "reference" (reference data only). See prepare.py."""
    args = [sys.executable, str(ROOT / "bench/load/prepare.py"), "--users", str(users), "--sites", str(sites)]
    args += ["--password", PASSWORD, f"--{steps}", *(["--sessions"] if sessions else [])]
    started = time.time()
    env = base_env(db, pg=pg)
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"prepare failed: {done.stderr[-3000:]}")
    log(f"prepared {db} in {time.time() - started:.0f} s")
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    """gunicorn on loopback, its database reached through `db_port` (the proxy) on 127.0.0.1,
    or directly in `pg` (a private cluster) when there is no proxy."""

    def __init__(self, db: str, *, db_port: int | None, workers: int, threads: int, log_path: Path, pg=None):
        self.port = free_port()
        extra = {}
        if db_port is not None:
            user = f"{pg.user}@" if pg is not None else ""
            extra["DATABASE_URL"] = f"postgres://{user}127.0.0.1:{db_port}/{db}"
        self.env = base_env(db, extra, pg=pg)
        self.args = [
            str(Path(sys.executable).with_name("gunicorn")),
            "childsafe.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            "120",
            "--graceful-timeout",
            "5",
            "--backlog",
            "512",
            "--preload",
        ]
        self.log_path = log_path
        self.proc = None

    def start(self, timeout: float = 120) -> "Gunicorn":
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.args,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("gunicorn did not answer /healthz")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "log", None):
            self.log.close()

    def log_errors(self) -> list[str]:
        """Tracebacks and 500s that gunicorn or Django logged."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [
            line
            for line in text.splitlines()
            if re.search(r"Traceback|Internal Server Error|\[ERROR\]|WORKER TIMEOUT", line)
        ]


# --- the simulated inspectors ----------------------------------------------------------------------------


@dataclass
class Sent:
    """One request: what kind, when it started and ended, what came back."""

    kind: str
    uuid: str
    start: float
    end: float
    status: int | None  # None: the connection failed (or was cut on purpose)
    error: str = ""
    retry_after: str | None = None


@dataclass
class Submission:
    uuid: str
    user: str
    body: bytes
    statuses: list = field(default_factory=list)
    acked: bool = False
    cut: str = ""  # "body" or "response" when this UUID was first sent on a cut connection


class Session:
    """An inspector's logged-in session (cookies and CSRF token) on the server: through the log-in
    form with his password, or a session opened beforehand by prepare.py --sessions."""

    def __init__(self, port: int, username: str, session_key: str | None = None):
        self.port = port
        self.username = username
        if session_key:
            csrf = "".join(
                random.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=32)
            )
            self._headers(session_key, csrf)
            return
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.request("GET", "/accounts/login/")
        r = conn.getresponse()
        r.read()
        csrf = _cookie(r, "csrftoken")
        form = f"username={username}&password={PASSWORD}&csrfmiddlewaretoken={csrf}"
        conn.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"},
        )
        r = conn.getresponse()
        r.read()
        conn.close()
        session = _cookie(r, "sessionid")
        if r.status != 302 or not session:
            raise RuntimeError(f"login of {username} failed: {r.status}")
        self._headers(session, _cookie(r, "csrftoken") or csrf)

    def _headers(self, session: str, csrf: str) -> None:
        self.csrf = csrf
        self.headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Cookie": f"csrftoken={self.csrf}; sessionid={session}",
            "X-CSRFToken": self.csrf,
            # A fresh connection per request, as the sync workers do anyway: with keep-alive
            # (gthread) a send on a connection the server has just closed fails with a broken
            # pipe, which a client cannot tell from a real failure.
            "Connection": "close",
        }


def _cookie(response, name: str) -> str:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return ""


@dataclass
class Config:
    clients: int = 50
    seconds: float = 300
    replay: float = 0.10
    race: float = 0.05
    cut: float = 0.01
    outage_at: float | None = None  # seconds after the start
    outage_seconds: float = 15
    outage_mode: str = "proxy"  # or "restart": stop and start the private cluster for real
    stop_mode: str = "immediate"  # restart: pg_ctl stop -m immediate (a crash) or fast
    grace: float = 3.0  # a 503 may still end this long after the database is back
    drain_seconds: float = 120
    seed: int = 11
    # Start inspectors 0-3 with a cut, a cut, a race and a replay, so that a short run has them all.
    cover_all_kinds: bool = False


class RunRecord:
    """What a load run sent and saw, whichever engine made the traffic, and the checks on it.

    An engine (LoadRun here, threads; bench/load/locust_engine.py's LocustRun, locust in a
    subprocess) fills `sent`, `subs`, `errors`, and the times `login_started`, `started`,
    `load_ended` (the end of the load phase), `ended` (after the drain); the health prober and the
    outage (both threads of this process, the same for every engine) fill `health` and `outage`.
    check() and figures() read only these."""

    engine = "threads"

    def __init__(
        self,
        cfg: Config,
        *,
        port: int,
        world: dict,
        db: str,
        proxy: OutageProxy | None,
        pg=None,
        log_dir: Path | None = None,
        log=print,
    ):
        self.cfg, self.port, self.world, self.db, self.proxy, self.pg = cfg, port, world, db, proxy, pg
        self.log_dir, self.log = log_dir, log
        self.run_id = uuid.uuid4().hex[:8]
        self.lock = threading.Lock()
        self.sent: list[Sent] = []
        self.subs: dict[str, Submission] = {}
        self.health: list[Sent] = []
        self.outage: tuple[float, float] | None = None
        self.errors: list[str] = []

    # --- sessions ------------------------------------------------------------------------------------------

    def login(self, user: str, sessions: dict, gate: threading.Semaphore) -> None:
        try:
            with gate:  # a few at a time: each is a full password hash (seconds on a busy machine)
                sessions[user] = Session(self.port, user, self.world.get("sessions", {}).get(user))
        except Exception as exc:  # noqa: BLE001 - reported, counted as a failure of the run
            with self.lock:
                self.errors.append(f"{user}: {exc}")

    def open_sessions(self) -> dict[int, Session]:
        """Simulated inspector index -> logged-in Session. Every user logs in first (a password
        hash each, or a session opened by prepare.py --sessions), then the clock starts. With
        fewer users than simulated inspectors, a user's session is shared (a phone and a laptop)."""
        self.login_started = time.time()
        by_user: dict[str, Session] = {}
        users = self.world["users"][: self.cfg.clients]
        gate = threading.Semaphore(4)
        logins = [threading.Thread(target=self.login, args=(u, by_user, gate)) for u in users]
        for t in logins:
            t.start()
        for t in logins:
            t.join()
        return {
            i: by_user[users[i % len(users)]]
            for i in range(self.cfg.clients)
            if users[i % len(users)] in by_user
        }

    # --- outage and health ---------------------------------------------------------------------------------

    def _outage(self, start: float) -> None:
        time.sleep(max(0.0, start + self.cfg.outage_at - time.time()))
        down = time.time()
        if self.cfg.outage_mode == "restart":
            # A real stop of the private cluster (never the shared server): the outage lasts
            # from here until the server accepts connections again, crash recovery included.
            self.pg.stop(self.cfg.stop_mode)
            self.stopped_in = time.time() - down
            time.sleep(max(0.0, self.cfg.outage_seconds - self.stopped_in))
            t = time.time()
            self.pg.start()
            self.started_in = time.time() - t
        else:
            self.proxy.down()
            time.sleep(self.cfg.outage_seconds)
            self.proxy.up()
        self.outage = (down, time.time())

    def _healthz(self, stop: threading.Event) -> None:
        while not stop.is_set():
            start = time.time()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("GET", "/healthz")
                r = conn.getresponse()
                r.read()
                conn.close()
                status = r.status
            except (OSError, http.client.HTTPException):
                status = None
            with self.lock:
                self.health.append(Sent("healthz", "", start, time.time(), status))
            stop.wait(0.5)

    def start_helpers(self) -> tuple[threading.Event, list[threading.Thread]]:
        """The /healthz prober and, if configured, the outage, timed from `self.started`."""
        stop = threading.Event()
        helpers = [threading.Thread(target=self._healthz, args=(stop,), daemon=True)]
        if self.cfg.outage_at is not None:
            helpers.append(threading.Thread(target=self._outage, args=(self.started,), daemon=True))
        for t in helpers:
            t.start()
        return stop, helpers

    def stop_helpers(self, stop: threading.Event, helpers: list[threading.Thread]) -> None:
        """Wait for the outage to be over (database back), then stop the prober."""
        for t in helpers[1:]:
            t.join()
        stop.set()
        helpers[0].join()

    # --- checks and figures --------------------------------------------------------------------------------

    def in_outage(self, s: Sent) -> bool:
        if not self.outage:
            return False
        down, up = self.outage
        return s.end >= down and s.start <= up + self.cfg.grace

    def stored(self) -> dict[str, tuple[int, int, str]]:
        """client_uuid -> (rows, answers, inspector's user name) of everything this run stored."""
        conn = pg_connect(self.db, self.pg)
        with conn.cursor() as cur:
            cur.execute(
                """
                SELECT i.client_uuid::text, count(DISTINCT i.id), count(a.id), min(u.username)
                FROM inspections_inspection i
                JOIN auth_user u ON u.id = i.inspector_id
                LEFT JOIN inspections_answer a ON a.inspection_id = i.id
                WHERE i.findings LIKE %s GROUP BY i.client_uuid
                """,
                [f"load-run {self.run_id} #%"],
            )
            rows = {u: (n, answers, who) for u, n, answers, who in cur.fetchall()}
        conn.close()
        return rows

    def check(self) -> list[str]:
        """Every failed expectation, in words; an empty list is a clean run."""
        problems = list(self.errors)
        stored = self.stored()
        items = len(self.world["items"])
        for u, sub in self.subs.items():
            rows, answers, who = stored.get(u, (0, 0, None))
            if rows != 1:
                what = "acknowledged" if sub.acked else "attempted"
                problems.append(f"{what} {u}: {rows} stored rows (statuses {sub.statuses})")
            elif answers != items:
                problems.append(f"{u}: {answers} answers stored, {items} sent")
            elif who != sub.user:
                problems.append(f"{u}: stored under {who}, sent by {sub.user}")
            if not sub.acked:
                problems.append(f"{u} never acknowledged (statuses {sub.statuses}, cut={sub.cut or '-'})")
            if sub.statuses.count(201) > 1:
                problems.append(f"{u}: created twice (statuses {sub.statuses})")
            if sub.cut == "body" and sub.statuses[1:2] == [200]:
                problems.append(f"{u}: half a body was stored (statuses {sub.statuses})")
        for u in set(stored) - set(self.subs):
            problems.append(f"{u}: stored but never sent by this run")
        for s in self.sent:
            if s.status is None:
                continue
            if s.status == 503 and not self.in_outage(s):
                problems.append(f"503 outside the outage: {s}")
            elif s.status == 503 and s.retry_after is None:
                problems.append(f"503 without Retry-After: {s}")
            elif s.status >= 500 and s.status != 503:
                problems.append(f"{s.status}: {s}")
            elif s.status not in (200, 201, 503):
                problems.append(f"unexpected {s.status}: {s.kind} {s.uuid} {s.error}")
        for s in self.sent:
            if s.status is None and not s.kind.startswith("cut") and not self.in_outage(s):
                problems.append(f"connection failed outside the outage: {s}")
        if self.outage:
            if not any(s.status == 503 or s.status is None for s in self.sent if self.in_outage(s)):
                problems.append("no request noticed the outage")
            if any(h.status == 500 for h in self.health):
                problems.append("/healthz answered 500")
            if self.recovery() is None:
                problems.append("no acknowledged submission after the outage: the service did not recover")
        for h in self.health:
            if h.status != 200 and not self.in_outage(h):
                problems.append(f"/healthz {h.status} outside the outage at {h.start - self.started:.1f} s")
        return problems

    def recovery(self) -> float | None:
        """Seconds from the database's return to the first submission stored and acknowledged."""
        if not self.outage:
            return None
        up = self.outage[1]
        after = [s.end for s in self.sent if s.status in (200, 201) and s.start >= up]
        return min(after) - up if after else None

    def figures(self) -> dict:
        load = [
            s
            for s in self.sent
            if s.kind in ("new", "replay", "race", "retry")
            and s.end <= self.load_ended
            and not self.in_outage(s)
        ]
        ok = [s for s in load if s.status in (200, 201)]
        lat = sorted((s.end - s.start) * 1000 for s in ok)

        def pct(p):
            if not lat:
                return float("nan")
            return lat[min(len(lat) - 1, int(round(p / 100 * (len(lat) - 1))))]

        duration = self.load_ended - self.started
        out = {
            "engine": self.engine,
            "clients": self.cfg.clients,
            "seconds": round(duration, 1),
            "requests": len(self.sent),
            "by_kind": dict(Counter(s.kind for s in self.sent)),
            "by_status": dict(Counter(str(s.status) for s in self.sent)),
            "acknowledged_per_s": round(
                sum(1 for s in self.sent if s.status in (200, 201) and s.end <= self.load_ended) / duration, 1
            ),
            "created": sum(1 for s in self.sent if s.status == 201),
            "uuids": len(self.subs),
            "p50_ms": round(pct(50)),
            "p95_ms": round(pct(95)),
            "p99_ms": round(pct(99)),
            "mean_ms": round(statistics.fmean(lat)) if lat else None,
        }
        if self.outage:
            during = [s for s in self.sent if self.in_outage(s)]
            health = [h.status for h in self.health if self.in_outage(h)]
            back = [h.end for h in self.health if h.status == 200 and h.start >= self.outage[1]]
            out.update(
                {
                    "outage_s": round(self.outage[1] - self.outage[0], 1),
                    "outage_503": sum(1 for s in during if s.status == 503),
                    "outage_conn_failed": sum(
                        1 for s in during if s.status is None and not s.kind.startswith("cut")
                    ),
                    "outage_2xx": sum(1 for s in during if s.status in (200, 201)),
                    "outage_500": sum(1 for s in during if s.status == 500),
                    "healthz_during": dict(Counter(str(h) for h in health)),
                    "recovery_s": round(self.recovery(), 2) if self.recovery() is not None else None,
                    "healthz_recovery_s": round(min(back) - self.outage[1], 2) if back else None,
                }
            )
            if self.proxy is not None:
                out.update({"proxy_cut": self.proxy.cut, "proxy_refused": self.proxy.refused})
            if self.cfg.outage_mode == "restart":
                out.update(
                    {
                        "stop_mode": self.cfg.stop_mode,
                        "pg_stop_s": round(self.stopped_in, 2),
                        "pg_start_s": round(self.started_in, 2),
                    }
                )
        return out


class LoadRun(RunRecord):
    """The thread engine: one thread per simulated inspector, http.client on fresh connections
    (tests/test_load_bounded.py, and bench/load/run.py --engine threads)."""

    def __init__(self, cfg: Config, **kwargs):
        super().__init__(cfg, **kwargs)
        self.counter = 0
        self.cuts = 0

    # --- one request -----------------------------------------------------------------------------------

    def _body(self, rng: random.Random, user: str) -> Submission:
        with self.lock:
            self.counter += 1
            n = self.counter
        body = inspection_body(
            rng, sites=self.world["sites"], items=self.world["items"], label=f"load-run {self.run_id} #{n}"
        )
        sub = Submission(uuid=body["client_uuid"], user=user, body=json.dumps(body).encode())
        with self.lock:
            self.subs[sub.uuid] = sub
        return sub

    def _post(self, conn: http.client.HTTPConnection, session: Session, sub: Submission, kind: str) -> Sent:
        start = time.time()
        try:
            conn.request("POST", API, body=sub.body, headers=session.headers)
            r = conn.getresponse()
            data = r.read()
            sent = Sent(kind, sub.uuid, start, time.time(), r.status, retry_after=r.getheader("Retry-After"))
            if r.status >= 400 and r.status != 503:
                sent.error = data[:300].decode(errors="replace")
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            sent = Sent(kind, sub.uuid, start, time.time(), None, error=f"{exc.__class__.__name__}: {exc}")
        with self.lock:
            self.sent.append(sent)
            sub.statuses.append(sent.status)
            if sent.status in (200, 201):
                sub.acked = True
        return sent

    def _cut(self, session: Session, sub: Submission, rng: random.Random) -> None:
        """Send the request on a raw socket and close it early."""
        with self.lock:
            self.cuts += 1
            mode = "body" if self.cuts % 2 else "response"  # alternately
        sub.cut = mode
        head = [f"POST {API} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(sub.body)}"]
        head += [f"{k}: {v}" for k, v in session.headers.items()]
        raw = ("\r\n".join(head) + "\r\n\r\n").encode()
        start = time.time()
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=30) as s,
        ):
            if mode == "body":
                s.sendall(raw + sub.body[: len(sub.body) // 2])
            else:
                s.sendall(raw + sub.body)
                time.sleep(rng.uniform(0, 0.05))  # sometimes before, sometimes while the server works
        with self.lock:
            self.sent.append(Sent(f"cut_{mode}", sub.uuid, start, time.time(), None, error="cut on purpose"))
            sub.statuses.append(None)

    def _race(self, session: Session, sub: Submission) -> None:
        """Two sockets send the same new UUID at the same moment."""
        barrier = threading.Barrier(2)

        def send():
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            barrier.wait()
            self._post(conn, session, sub, "race")
            conn.close()

        other = threading.Thread(target=send)
        other.start()
        send()
        other.join()

    # --- one simulated inspector ---

    def inspector(self, index: int, deadline: float, session: Session) -> None:
        rng = random.Random(self.cfg.seed * 1000 + index)
        user = session.username
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        mine: list[Submission] = []
        pending: list[tuple[float, Submission]] = []  # the phone's queue: (not before, submission)
        first = {0: ["cut"], 1: ["cut"], 2: ["race"], 3: ["new", "replay"]}.get(index, [])
        script = list(first) if self.cfg.cover_all_kinds else []
        while time.time() < deadline:
            now = time.time()
            due = [p for p in pending if p[0] <= now]
            if due:
                pending.remove(due[0])
                self._send_or_queue(conn, session, due[0][1], "retry", pending)
                continue
            draw = rng.random()
            if script:
                step = script.pop(0)
                draw = {"cut": 0.0, "race": self.cfg.cut, "replay": self.cfg.cut + self.cfg.race, "new": 1.0}[
                    step
                ]
            if draw < self.cfg.cut:
                sub = self._body(rng, user)
                mine.append(sub)
                self._cut(session, sub, rng)
                pending.append((time.time() + 1, sub))  # the phone never saw an answer: it will resend
            elif draw < self.cfg.cut + self.cfg.race:
                sub = self._body(rng, user)
                mine.append(sub)
                self._race(session, sub)
                if not sub.acked:
                    pending.append((time.time() + 5, sub))
            elif draw < self.cfg.cut + self.cfg.race + self.cfg.replay and mine:
                self._send_or_queue(conn, session, rng.choice(mine), "replay", pending)
            else:
                sub = self._body(rng, user)
                mine.append(sub)
                self._send_or_queue(conn, session, sub, "new", pending)
        # Drain the queue: every send not acknowledged yet goes again until it is.
        drain_until = time.time() + self.cfg.drain_seconds
        left = [s for s in mine if not s.acked]
        while left and time.time() < drain_until:
            sub = left[0]
            sent = self._post(conn, session, sub, "drain")
            if sent.status in (200, 201):
                left.pop(0)
            elif sent.status is not None and sent.status != 503:
                left.pop(0)  # a definite refusal: reported by the checks
            else:
                time.sleep(1)
        conn.close()

    def _send_or_queue(self, conn, session, sub: Submission, kind: str, pending: list) -> None:
        sent = self._post(conn, session, sub, kind)
        if sent.status == 503 or sent.status is None:
            wait = float(sent.retry_after or 1) if sent.status == 503 else 1.0
            pending.append((time.time() + min(wait, 5.0), sub))
            time.sleep(1.0)  # back off: the inspector goes on working, the phone keeps the queue

    def run(self) -> "LoadRun":
        sessions = self.open_sessions()
        self.started = time.time()
        deadline = self.started + self.cfg.seconds
        threads = [
            threading.Thread(target=self.inspector, args=(i, deadline, sessions[i]), name=f"inspector-{i}")
            for i in sorted(sessions)
        ]
        stop, helpers = self.start_helpers()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.load_ended = deadline
        self.stop_helpers(stop, helpers)
        self.ended = time.time()
        return self


@dataclass
class Result:
    figures: dict
    problems: list[str]
    server_errors: list[str]
    run: RunRecord


def load_and_check(
    db: str,
    world: dict,
    cfg: Config,
    *,
    workers: int,
    threads: int,
    log_dir: Path,
    log=print,
    pg=None,
    engine: str = "threads",
):
    """gunicorn, the load run, the checks. The database must be prepared (in `pg`, if given).

    engine: "threads" (LoadRun, in this process) or "locust" (bench/load/locust_engine.py: the
    traffic from locust in a subprocess). Everything else, the checks included, is the same.

    Proxy outage: gunicorn reaches the database through the outage proxy (in front of the shared
    server's socket, or of the private cluster `pg`). Restart outage: gunicorn connects to the
    private cluster `pg` directly, and the cluster itself is stopped and started."""
    if cfg.outage_mode == "restart" and pg is None:
        raise ValueError("a restart outage needs a private cluster (bench/load/cluster.py)")
    proxy = None
    if cfg.outage_mode != "restart":
        target = ("127.0.0.1", pg.port) if pg is not None else PG_SOCKET_DIR + "/.s.PGSQL.5432"
        proxy = OutageProxy(target).start()
    server = Gunicorn(
        db,
        db_port=proxy.port if proxy else None,
        workers=workers,
        threads=threads,
        log_path=log_dir / "gunicorn.log",
        pg=pg,
    )
    try:
        t0 = time.time()
        server.start()
        server_start = time.time() - t0
        via = f"via proxy :{proxy.port}" if proxy else f"directly on :{pg.port} (private cluster)"
        log(f"gunicorn on 127.0.0.1:{server.port} ({workers} workers x {threads} threads), database {via}")
        if engine == "locust":
            from .locust_engine import LocustRun

            engine_class = LocustRun
        elif engine == "threads":
            engine_class = LoadRun
        else:
            raise ValueError(f"unknown engine {engine!r}")
        run = engine_class(
            cfg, port=server.port, world=world, db=db, proxy=proxy, pg=pg, log_dir=log_dir, log=log
        ).run()
    finally:
        server.stop()
        if proxy:
            proxy.stop()
    problems = run.check()
    server_errors = server.log_errors()
    figures = run.figures()
    figures["phases_s"] = {
        "server_start": round(server_start, 1),
        "login": round(run.started - run.login_started, 1),
        "load": round(run.load_ended - run.started, 1),
        "drain": round(run.ended - run.load_ended, 1),
    }
    return Result(figures, problems, server_errors, run)
