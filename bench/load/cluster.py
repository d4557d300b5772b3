"""A private, throw-away PostgreSQL cluster that a load run may stop and start for real.

The server binaries are those of the newest major version installed with PostGIS (the
bootstrap installs postgresql-N-postgis-3 for the machine's running server), or PG_BIN.

The machine's PostgreSQL server is shared with other work and must never be restarted; this
cluster is the run's own: initdb in a temporary directory (owned by the `postgres` OS user when
we run as root, as the server refuses to run as root), listening on 127.0.0.1 on a free port and
on a Unix socket in that directory, trust authentication, one superuser named after the OS user
who runs the load (so psycopg2 and Django connect without a user name, as on the shared server).

Durability is kept as in production: fsync on, synchronous_commit on, full_page_writes on. An
acknowledged commit must then survive `stop("immediate")`, which kills the server without a
checkpoint, as a crash or `kill -9` of the postmaster would, and leaves crash recovery (WAL
replay) to the next `start()`. `stop("fast")` is the orderly restart (open sessions are
terminated, a checkpoint is written).

    with PrivateCluster() as pg:          # initdb + start
        pg.port, pg.socket_dir, pg.dsn("postgres")
        pg.stop("immediate"); pg.start()  # a real restart, with crash recovery
    # stopped and the directory removed
"""

import atexit
import contextlib
import getpass
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _default_bin() -> Path:
    """The newest /usr/lib/postgresql/N/bin whose version has PostGIS installed."""
    found = []
    for bindir in Path("/usr/lib/postgresql").glob("*/bin"):
        major = bindir.parent.name
        if major.isdigit() and Path(f"/usr/share/postgresql/{major}/extension/postgis.control").exists():
            found.append((int(major), bindir))
    return max(found)[1] if found else Path("/usr/lib/postgresql/15/bin")


BIN = Path(os.environ["PG_BIN"]) if os.environ.get("PG_BIN") else _default_bin()
MODES = ("smart", "fast", "immediate")


def available() -> bool:
    """The server binaries are installed (the extensions are checked when the run creates them)."""
    return all((BIN / name).exists() for name in ("initdb", "pg_ctl", "postgres"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    def __init__(self, *, fsync: bool = True, prefix: str = "cs-pg-", settings: dict | None = None):
        self.fsync = fsync
        self.prefix = prefix
        self.settings = settings or {}
        self.root: Path | None = None
        self.port: int | None = None
        self.user = getpass.getuser()  # the superuser's name: who connects
        self.os_user = "postgres" if os.geteuid() == 0 else None  # who runs the server
        self.events: list[tuple[float, str]] = []  # (time, "start" / "stop fast" / ...)

    # --- where ---------------------------------------------------------------------------------------

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> str:
        return str(self.root)

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def dsn(self, db: str) -> str:
        """A URL for DATABASE_URL (dj-database-url) and psycopg2: TCP on loopback."""
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{db}"

    def connect_kwargs(self, db: str) -> dict:
        return {"dbname": db, "host": "127.0.0.1", "port": self.port, "user": self.user}

    # --- life ----------------------------------------------------------------------------------------

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(BIN / args[0]), *args[1:]]
        if self.os_user:
            cmd = ["runuser", "-u", self.os_user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
        if done.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}\n{log}")
        return done

    def init(self) -> "PrivateCluster":
        self.root = Path(tempfile.mkdtemp(prefix=self.prefix))
        atexit.register(self.teardown)  # a crashed run must not leave a server behind
        if self.os_user:
            pw = pwd.getpwnam(self.os_user)
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-instructions",
            *([] if self.fsync else ["--no-sync"]),
            timeout=300,
        )
        self.port = _free_port()
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "on" if self.fsync else "off",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "shared_buffers": "64MB",
            "max_connections": "200",
            "logging_collector": "off",
            "log_min_messages": "warning",
            "jit": "off",
            **self.settings,
        }
        with open(self.data / "postgresql.conf", "a") as f:
            f.write("\n# bench/load/cluster.py\n")
            f.writelines(f"{k} = {v}\n" for k, v in conf.items())
        return self

    def start(self, timeout: float = 120) -> "PrivateCluster":
        """Start and wait until the server accepts connections (after crash recovery, if any)."""
        self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log_path), "-w", "-t", str(int(timeout)),
            timeout=timeout + 10,
        )  # fmt: skip
        self.events.append((time.time(), "start"))
        return self

    def stop(self, mode: str = "fast", timeout: float = 60) -> None:
        """fast: terminate the sessions, checkpoint, exit. immediate: SIGQUIT everything at once,
        no checkpoint (the next start replays the WAL, as after a crash)."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.events.append((time.time(), f"stop {mode}"))
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", str(int(timeout)))

    def restart(self, mode: str = "fast", down_seconds: float = 0) -> None:
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()

    def is_running(self) -> bool:
        return self.root is not None and (self.data / "postmaster.pid").exists()

    def recovery_lines(self) -> list[str]:
        """The server log's lines about shutdown and crash recovery (for the report)."""
        if not self.log_path.exists():
            return []
        keys = (
            "shutdown request",
            "database system was",
            "database system is shut down",
            "automatic recovery",
            "redo starts",
            "redo done",
            "database system is ready",
        )
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if " LOG: " in line and any(k in line for k in keys)]

    def refused_while_down(self) -> int:
        """Connections the server refused while shutting down or recovering ("the database system
        is starting up", "... is shutting down", "... is in recovery mode")."""
        if not self.log_path.exists():
            return 0
        text = self.log_path.read_text(errors="replace")
        return len(re.findall(r"FATAL: +the database system is (starting up|shutting down|in recov)", text))

    def teardown(self) -> None:
        if self.root is None or not self.root.exists():
            return
        if self.is_running():
            with contextlib.suppress(Exception):
                self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PrivateCluster":
        self.init()
        try:
            self.start()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.teardown()
