"""Bounded load and fault run (issue 11), the CI version of bench/load/run.py.

gunicorn (4 workers) on loopback against a private database cloned from the test database,
10 simulated inspectors (3 users with sessions opened beforehand, shared) for 20 s with replays,
same-UUID races and connections cut mid-request, and a 5 s database outage through the TCP proxy
in the middle. Then, in SQL: every UUID sent is
stored exactly once with all its answers, nothing else; no 5xx but 503 during the outage; the
service recovered by itself. The private database is dropped afterwards.

The same run against a real restart: a private, throw-away PostgreSQL cluster (bench/load/cluster.py,
fsync and synchronous_commit on) migrated from scratch, which gunicorn reaches directly and which
is killed in the middle with `pg_ctl stop -m immediate` (no checkpoint: the next start replays the
WAL, as after a crash) and started again 5 s later. Every acknowledged submission must survive the
crash recovery. The machine's shared server is never touched; the cluster's directory is removed.
"""

import dataclasses
import os

import psycopg2
import pytest

from bench.load import cluster, loadgen
from bench.load.proxy import OutageProxy

pytestmark = pytest.mark.slow


def _exists(db: str) -> bool:
    conn = loadgen.pg_connect("postgres")
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db])
        found = cur.fetchone() is not None
    conn.close()
    return found


@pytest.fixture
def private_db(django_db_setup, django_db_blocker):
    """A private database with the reference data: a copy of the test database (seconds), or,
    when someone else is connected to it, one migrated from scratch."""
    from django.db import connection, connections

    from tests.conftest import _ensure_reference_data

    name = f"cs_load_ci_{os.getpid()}"
    template = connection.settings_dict["NAME"]
    with django_db_blocker.unblock():
        _ensure_reference_data()
    connections.close_all()
    steps = "reference"
    try:
        loadgen.clone_database(template, name)
    except psycopg2.Error as exc:  # e.g. a live server thread still holds a connection to it
        print(f"cloning {template} failed ({exc}): migrating {name} from scratch")
        steps = "migrate"
    try:
        world = loadgen.prepare_database(
            name, users=3, sites=12, steps=steps, sessions=True, log=lambda *_: None
        )
        yield name, world
    finally:
        loadgen.drop_database(name)
        assert not _exists(name)


def test_proxy_outage_cuts_and_refuses_connections():
    proxy = OutageProxy().start()
    try:
        conn = psycopg2.connect(dbname="postgres", host="127.0.0.1", port=proxy.port, connect_timeout=3)
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            assert cur.fetchone() == (1,)
        proxy.down()
        with pytest.raises(psycopg2.OperationalError), conn.cursor() as cur:
            cur.execute("SELECT 1")
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(dbname="postgres", host="127.0.0.1", port=proxy.port, connect_timeout=3)
        assert proxy.cut == 1 and proxy.refused >= 1
        proxy.up()
        again = psycopg2.connect(dbname="postgres", host="127.0.0.1", port=proxy.port, connect_timeout=3)
        with again.cursor() as cur:
            cur.execute("SELECT 2")
            assert cur.fetchone() == (2,)
        again.close()
    finally:
        proxy.stop()


# 10 inspectors for 20 s (replays, same-UUID pairs, cuts: each kind at least once), a 5 s outage at
# 7 s, up to 40 s to send what is left: bounded by these figures, not by a timer.
BOUNDED = loadgen.Config(
    clients=10,
    seconds=20,
    replay=0.10,
    race=0.05,
    cut=0.02,
    outage_at=7,
    outage_seconds=5,
    drain_seconds=40,
    cover_all_kinds=True,
)


# transaction=True: the test database must exist (it is the template of the private one) and no
# transaction of ours may hold a connection to it while it is copied.
@pytest.mark.django_db(transaction=True)
def test_bounded_load_with_races_cuts_and_a_database_outage(private_db, tmp_path):
    db, world = private_db
    cfg = BOUNDED
    result = loadgen.load_and_check(
        db, world, cfg, workers=4, threads=1, log_dir=tmp_path, log=lambda *_: None
    )
    f = result.figures
    print(f"load figures: {f}")  # visible with -s / in CI logs
    summary = f"{f}\nproblems: {result.problems[:20]}\nserver log: {result.server_errors[:20]}"

    assert result.problems == [], summary
    assert result.server_errors == [], summary
    # Every kind of send happened, and each UUID was created exactly once.
    for kind in ("new", "replay", "race", "cut_body", "cut_response"):
        assert f["by_kind"].get(kind, 0) > 0, summary
    # (a commit whose answer was lost to the outage is acknowledged later with 200, not 201)
    assert 0 < f["created"] <= f["uuids"] == len(result.run.stored()), summary
    assert f["by_status"].get("500", 0) == 0, summary
    # The outage was noticed (503, not 500), and the service came back by itself.
    assert f["outage_503"] > 0 and f["outage_500"] == 0, summary
    assert "503" in f["healthz_during"], summary
    assert f["recovery_s"] is not None and f["recovery_s"] < 10, summary


@pytest.fixture
def private_cluster():
    """A private PostgreSQL cluster with a migrated database, the reference data, 3 users with
    sessions and 12 sites (migrating from scratch takes seconds). Removed afterwards."""
    # The bootstrap installs the server with PostGIS: missing binaries are a broken set-up, not a skip.
    assert cluster.available(), f"PostgreSQL server binaries not found in {cluster.BIN} (set PG_BIN)"
    with cluster.PrivateCluster(prefix="cs-load-ci-") as pg:
        world = loadgen.prepare_database(
            "cs_load_restart", users=3, sites=12, steps="migrate", sessions=True, log=lambda *_: None, pg=pg
        )
        yield pg, world
        root = pg.root
    assert not root.exists()


def _stored_in_sql(pg, db: str, run_id: str) -> dict[str, tuple[int, int]]:
    """client_uuid -> (inspection rows, answer rows) of this run, read straight from the cluster."""
    conn = loadgen.pg_connect(db, pg)
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT i.client_uuid::text, count(DISTINCT i.id), count(a.id)
            FROM inspections_inspection i
            LEFT JOIN inspections_answer a ON a.inspection_id = i.id
            WHERE i.findings LIKE %s GROUP BY i.client_uuid
            """,
            [f"load-run {run_id} #%"],
        )
        rows = {u: (n, answers) for u, n, answers in cur.fetchall()}
    conn.close()
    return rows


def test_bounded_load_with_a_real_database_crash_and_restart(private_cluster, tmp_path):
    pg, world = private_cluster
    cfg = dataclasses.replace(BOUNDED, outage_mode="restart", stop_mode="immediate")
    result = loadgen.load_and_check(
        "cs_load_restart", world, cfg, workers=4, threads=1, log_dir=tmp_path, log=lambda *_: None, pg=pg
    )
    f = result.figures
    print(f"load figures (real restart): {f}")
    summary = f"{f}\nproblems: {result.problems[:20]}\nserver log: {result.server_errors[:20]}"

    assert result.problems == [], summary
    assert result.server_errors == [], summary
    # The server really went down without a checkpoint and came back through crash recovery.
    assert [e for _, e in pg.events] == ["start", "stop immediate", "start"], pg.events
    log = "\n".join(pg.recovery_lines())
    assert "not properly shut down" in log and "redo" in log, log
    # Every acknowledged UUID is stored exactly once with all its answers; nothing else is stored.
    run = result.run
    acked = {u for u, sub in run.subs.items() if sub.acked}
    stored = _stored_in_sql(pg, "cs_load_restart", run.run_id)
    items = len(world["items"])
    assert acked == set(run.subs) == set(stored), summary
    assert all(stored[u] == (1, items) for u in acked), summary
    # Some submissions were stored before the crash, some after it.
    down, up = run.outage
    assert any(s.status == 201 and s.end < down for s in run.sent), summary
    assert any(s.status == 201 and s.start > up for s in run.sent), summary
    # No 5xx but 503 (with Retry-After) while the server was down, none outside.
    assert all(s.status is None or s.status < 500 or s.status == 503 for s in run.sent), summary
    assert f["outage_503"] > 0 and f["outage_500"] == 0, summary
    assert "503" in f["healthz_during"], summary
    # The service came back by itself: submissions and /healthz.
    assert f["recovery_s"] is not None and f["recovery_s"] < 10, summary
    assert f["healthz_recovery_s"] is not None and f["healthz_recovery_s"] < 10, summary
