"""What one hostile request costs the server process in memory, measured in a forked child.

Used by tests/test_hostile_memory.py (which asserts a bound) and bench/hostile_memory.py (which
prints the table). The parent writes the request body to a file first; a forked child then opens
its own database connection, logs a user in, sends one small benign request through the same door
(so imports, URL resolvers and caches are warm), resets its peak-RSS mark and sends the hostile
request with the body streamed from the file, as a WSGI server streams it from the socket. What
is reported is the child's peak RSS (Linux VmHWM, the same figure as ru_maxrss) minus its RSS just
before the request: everything the request made resident, in Python, GEOS, GDAL, zlib or Pillow.

tracemalloc would see Python objects only, and RLIMIT_AS is no measure (GDAL, numpy and glibc's
per-thread arenas reserve address space they never touch), so RLIMIT_AS is set only as a safety
net far above any bound: a runaway case ends as a MemoryError in the child, not as the machine's
OOM killer. The child does everything in one transaction that it rolls back, and leaves the
parent's connection alone: a forked child must never use, or close, its parent's socket.
"""

import gc
import json
import os
import resource
import select
import signal
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

MiB = 1 << 20
# The safety net: address space the child may add beyond what it has mapped at the start.
ADDRESS_SPACE_HEADROOM = 3 << 30


@dataclass(frozen=True)
class Body:
    """A request body on disk."""

    path: Path
    content_type: str

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def json_body(path: Path, chunks: Iterable[bytes]) -> Body:
    with path.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    return Body(path, "application/json")


def multipart_body(path: Path, *, field: str, filename: str, chunks: Iterable[bytes], **fields: str) -> Body:
    """multipart/form-data with one file (written chunk by chunk) and some text fields."""
    boundary = uuid.uuid4().hex
    with path.open("wb") as out:
        for name, value in fields.items():
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        for chunk in chunks:
            out.write(chunk)
        out.write(f"\r\n--{boundary}--\r\n".encode())
    return Body(path, f"multipart/form-data; boundary={boundary}")


def send(client, url: str, body: Body, **headers) -> tuple[int, bytes]:
    """POST `body` through the Django test client's handler, streamed from its file."""
    with body.path.open("rb") as stream:
        response = client.request(
            REQUEST_METHOD="POST",
            PATH_INFO=url,
            CONTENT_TYPE=body.content_type,
            CONTENT_LENGTH=str(body.size),
            HTTP_ACCEPT_LANGUAGE="en",
            **{"wsgi.input": stream},
            **headers,
        )
    return response.status_code, response.content


@dataclass
class Measured:
    status: int | str | None  # HTTP status, or what the child ended with
    text: str  # the start of the answer (JSON body, the error shown on a page, or an error)
    peak_mib: float  # peak RSS growth over the RSS just before the request
    seconds: float
    start_mib: float = 0.0  # the child's RSS just before the request


# --- the child ---------------------------------------------------------------------------------------------

_INHERITED: list = []  # the parent's connection wrappers: kept referenced, never closed, never freed


def _own_databases() -> None:
    from django.db import connections

    for alias in connections:
        _INHERITED.append(connections[alias])
        connections[alias] = connections.create_connection(alias)


def _status_kib(*keys: str) -> dict[str, int]:
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in keys:
                values[name] = int(rest.split()[0])
    return values


def _reset_peak() -> int:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0, 'echo 5 > /proc/self/clear_refs'); the RSS in KiB.

    Where that is refused the child's VmHWM still holds the peak since the fork (a forked child's
    high-water mark starts at its own RSS), which includes the warm-up: an over-estimate, never less.
    """
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass
    return _status_kib("VmRSS")["VmRSS"]


def _limit_address_space() -> None:
    mapped = _status_kib("VmSize")["VmSize"] << 10
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = mapped + ADDRESS_SPACE_HEADROOM
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _child(setup: Callable[[], object], act: Callable[[object], tuple], out: int) -> None:
    result: dict = {"status": None, "text": "", "peak_kib": 0, "seconds": 0.0, "start_kib": 0}
    start_kib = None
    try:
        _own_databases()
        from django.db import connections, transaction

        with transaction.atomic():
            state = setup()
            _limit_address_space()
            start_kib = _reset_peak()
            started = time.monotonic()
            try:
                status, text = act(state)
            except MemoryError:
                status, text = "MemoryError", "the child ran out of its address space"
            result["seconds"] = time.monotonic() - started
            result["peak_kib"] = _status_kib("VmHWM")["VmHWM"] - start_kib
            result.update(status=status, text=text[:2000], start_kib=start_kib)
            transaction.set_rollback(True)
        for alias in connections:
            connections[alias].close()
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the case
        result["status"] = type(exc).__name__
        result["text"] = f"{type(exc).__name__}: {exc}"[:2000]
        if start_kib is not None and not result["peak_kib"]:
            result["peak_kib"] = _status_kib("VmHWM")["VmHWM"] - start_kib
    finally:
        try:
            os.write(out, json.dumps(result).encode())
        finally:
            os._exit(0)  # no atexit, no destructors: nothing of the parent's is closed


def run_forked(
    setup: Callable[[], object], act: Callable[[object], tuple], *, timeout: float = 300
) -> Measured:
    """Run setup() then act(state) → (status, text) in a forked child; act's peak RSS growth in MiB.

    The caller's process must be allowed to use the database (pytest: a django_db test); the child
    opens its own connection to the same database and rolls back all it did.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child ends in os._exit
        os.close(read_end)
        _child(setup, act, write_end)
    os.close(write_end)
    data = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return Measured("timeout", f"no answer within {timeout:.0f} s", 0.0, timeout)
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read_end)
    _, wait_status = os.waitpid(pid, 0)
    if not data:
        return Measured(f"child ended {wait_status:#x}", "no result (killed?)", 0.0, 0.0)
    result = json.loads(data)
    return Measured(
        result["status"],
        result["text"],
        round(result["peak_kib"] / 1024, 1),
        round(result["seconds"], 2),
        round(result["start_kib"] / 1024, 1),
    )


# --- the doors: (setup in the child, act) ------------------------------------------------------------------


def _coordinator():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from inspections.models import Profile, Role

    user = get_user_model().objects.create_user(f"mem-{uuid.uuid4().hex[:8]}", password="x")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    client = Client(raise_request_exception=False)  # a crash is a 500, as a server answers it
    client.force_login(user)
    return client


def _json_text(content: bytes) -> str:
    return content[:2000].decode("utf-8", "replace")


def _page_error(content: bytes) -> str:
    """What an HTML page says: its error, or its form's errors, or the text of its <main>, tags dropped."""
    import re

    page = content.decode("utf-8", "replace")
    found = (
        re.search(r'<p class="error"[^>]*>(.*?)</p>', page, re.S)
        or re.search(r'<ul class="errorlist[^"]*">(.*?)</ul>', page, re.S)
        or re.search(r"<main[^>]*>.*?(<h2.*?)</main>", page, re.S)
        or re.search(r"<main[^>]*>(.*?)</main>", page, re.S)
    )
    text = found.group(1) if found else page
    return " ".join(re.sub(r"<[^>]+>", " ", text).split())


def site_post(body: Body, warm: Body):
    """POST /api/v1/sites/ (JSON)."""

    def setup():
        client = _coordinator()
        send(client, "/api/v1/sites/", warm)
        return client

    def act(client):
        status, content = send(client, "/api/v1/sites/", body)
        return status, _json_text(content)

    return setup, act


def _coordinator_upload(url: str, body: Body, warm: Body, answer: Callable[[bytes], str], before=None):
    """A coordinator posts `warm` to `url` (setup), then the hostile `body` (act)."""

    def setup():
        if before is not None:
            before()
        client = _coordinator()
        status, content = send(client, url, warm)
        assert status == 200, content[:300]
        return client

    def act(client):
        status, content = send(client, url, body)
        return status, answer(content)

    return setup, act


def site_import(body: Body, warm: Body, *, unzipped_budget: int | None = None):
    """POST /api/v1/sites/import/ (multipart)."""

    def budget():
        from places import importer

        importer.MAX_UNZIPPED_BYTES = unzipped_budget  # the child's own copy of the module

    before = budget if unzipped_budget is not None else None
    return _coordinator_upload("/api/v1/sites/import/", body, warm, _json_text, before)


def incident_import(body: Body, warm: Body):
    """POST /incidents/import/ (the page's multipart form); the answer is a page, 200 with the error."""
    return _coordinator_upload("/incidents/import/", body, warm, _page_error)


def photo_upload(body: Body, warm: Body, media_root: Path):
    """POST /api/v1/inspections/<uuid>/photos/ on an inspection the child makes first."""

    def setup():
        from datetime import timedelta

        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.contrib.gis.geos import Point
        from django.test import Client
        from django.utils import timezone

        from inspections.models import Agency, ChecklistTemplate, Profile, Role
        from places.services import site_create

        settings.MEDIA_ROOT = str(media_root)
        site = site_create(
            kind="construction_site",
            name="Công trình",
            geom=Point(103.4571, 22.3964, srid=4326),
            attributes={"permit_number": "GP-01/2026", "contractor": "Công ty XD"},
        )
        user = get_user_model().objects.create_user(f"mem-{uuid.uuid4().hex[:8]}", password="x")
        Profile.objects.create(user=user, role=Role.INSPECTOR, agency=Agency.objects.get(code="so-xay-dung"))
        client = Client(raise_request_exception=False)
        client.force_login(user)
        template = ChecklistTemplate.objects.get(site_kind=site.kind, is_current=True)
        client_uuid = str(uuid.uuid4())
        response = client.post(
            "/api/v1/inspections/",
            json.dumps(
                {
                    "client_uuid": client_uuid,
                    "site": site.pk,
                    "performed_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
                    "position": {"lon": 103.4571, "lat": 22.3964},
                    "gps_accuracy_m": 8.0,
                    "answers": [{"item": i.code, "value": "pass", "note": ""} for i in template.items.all()],
                }
            ),
            content_type="application/json",
        )
        assert response.status_code == 201, response.content[:300]
        url = f"/api/v1/inspections/{client_uuid}/photos/"
        status, content = send(client, url, warm)
        assert status == 201, content[:300]
        return client, url

    def act(state):
        client, url = state
        status, content = send(client, url, body)
        return status, _json_text(content)

    return setup, act


def chunked(data: bytes, size: int = MiB) -> Iterable[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield bytes(view[start : start + size])


def one(data: bytes) -> Iterable[bytes]:
    yield data
