"""Backup and restore round-trip: demo data plus uploaded photos, compared by counts and checksums.

Runs the real commands in subprocesses against two scratch databases of their own (the test
database's rows live in uncommitted transactions, which pg_dump cannot see).
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parent.parent

ADD_PHOTOS = """
import io, django
django.setup()
from django.core.files.base import ContentFile
from PIL import Image
from inspections.models import Inspection, InspectionPhoto
for i, insp in enumerate(Inspection.objects.order_by("id")[:3]):
    buf = io.BytesIO()
    Image.new("RGB", (32 + i, 24), (i * 40, 90, 200)).save(buf, "JPEG")
    data = buf.getvalue()
    photo = InspectionPhoto(inspection=insp, sha256=__import__("hashlib").sha256(data).hexdigest(),
                            width=32 + i, height=24)
    photo.file.save(f"p{i}.jpg", ContentFile(data), save=True)
print(InspectionPhoto.objects.count())
"""


def _env(db: str, media: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({"DJANGO_DEBUG": "1", "DB_NAME": db, "DJANGO_MEDIA_ROOT": str(media)})
    return env


def _manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)}: {done.stderr[-3000:]}"
    return done.stdout


def _drop(db: str) -> None:
    conn = psycopg2.connect(dbname="postgres", host="/var/run/postgresql")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    conn.close()


def _counts(db: str) -> dict[str, int]:
    conn = psycopg2.connect(dbname=db, host="/var/run/postgresql")
    with conn.cursor() as cur:
        out = {}
        for table in (
            "places_adminunit",
            "places_site",
            "inspections_inspection",
            "inspections_answer",
            "inspections_inspectionphoto",
            "incidents_incident",
            "auth_user",
        ):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            out[table] = cur.fetchone()[0]
    conn.close()
    return out


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.mark.slow
def test_backup_and_restore_round_trip(tmp_path):
    src, dst = f"cs_backup_src_{os.getpid()}", f"cs_backup_dst_{os.getpid()}"
    media_src, media_dst = tmp_path / "media-src", tmp_path / "media-dst"
    src_env, dst_env = _env(src, media_src), _env(dst, media_dst)
    try:
        for step in (
            "ensure_database",
            "migrate",
            "load_lai_chau",
            "load_agencies",
            "load_checklists",
            "generate_demo",
            "generate_inspection_demo",
            "generate_incident_demo",
        ):
            _manage(src_env, step, *(["--noinput"] if step == "migrate" else []))
        added = subprocess.run(
            [sys.executable, "-c", ADD_PHOTOS],
            cwd=ROOT,
            env={**src_env, "DJANGO_SETTINGS_MODULE": "childsafe.settings"},
            capture_output=True,
            text=True,
        )
        assert added.returncode == 0, added.stderr
        assert int(added.stdout.strip()) == 3
        before, photos_before = _counts(src), _tree(media_src)
        assert before["inspections_inspectionphoto"] == 3 and len(photos_before) == 3
        assert before["places_site"] > 1000 and before["incidents_incident"] > 0

        out = _manage(src_env, "backup", str(tmp_path / "backups"))
        folder = Path(out.split(":")[0])
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["tables"]["places_site"] == before["places_site"]
        assert set(manifest["media"]) == set(photos_before)

        _manage(dst_env, "ensure_database")
        restored = _manage(dst_env, "restore", str(folder))
        assert "restored and checked" in restored
        assert _counts(dst) == before
        assert _tree(media_dst) == photos_before

        # Restoring over data needs --replace; a damaged backup is refused before anything changes.
        refused = subprocess.run(
            [sys.executable, "manage.py", "restore", str(folder)],
            cwd=ROOT,
            env=dst_env,
            capture_output=True,
            text=True,
        )
        assert refused.returncode != 0 and "--replace" in refused.stderr
        dump = folder / "database.dump"
        dump.write_bytes(dump.read_bytes()[:-100])
        damaged = subprocess.run(
            [sys.executable, "manage.py", "restore", "--replace", str(folder)],
            cwd=ROOT,
            env=dst_env,
            capture_output=True,
            text=True,
        )
        assert damaged.returncode != 0 and "does not match its checksum" in damaged.stderr
        assert _counts(dst) == before
    finally:
        _drop(src)
        _drop(dst)
