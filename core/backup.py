"""Backup and restore of the whole service: the PostgreSQL database and the uploaded files.

A backup is a folder holding `database.dump` (pg_dump's custom format, restorable with
pg_restore), `media.tar` (every file under MEDIA_ROOT: inspection photos) and `manifest.json`
(row counts per table, SHA-256 of the two files and of every media file). A restore checks
the files against the manifest before touching anything, restores into the configured
database and MEDIA_ROOT, then compares row counts and media checksums with the manifest.
"""

import hashlib
import json
import os
import subprocess
import tarfile
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection
from psycopg2 import sql

FORMAT = "childsafe-backup/1"


class BackupError(Exception):
    pass


def _pg_env() -> dict:
    params = settings.DATABASES["default"]
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if params.get(key):
            env[var] = str(params[key])
    env["PGDATABASE"] = params["NAME"]
    return env


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, env=_pg_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_counts() -> dict[str, int]:
    """Exact row counts of every table of the public schema (one query)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
        names = [r[0] for r in cur.fetchall()]
        if not names:
            return {}
        union = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}, count(*) FROM public.{}").format(sql.Literal(n), sql.Identifier(n))
            for n in names
        )
        cur.execute(union)
        return {name: int(count) for name, count in cur.fetchall()}


def media_checksums(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root)): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()}


def backup(target: Path) -> Path:
    """Write a new backup folder under `target` and return it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = Path(target) / f"childsafe-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    dump = folder / "database.dump"
    # Counts first, then the dump in one snapshot; the manifest's counts are checked on restore.
    counts = table_counts()
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}"])
    media_root = Path(settings.MEDIA_ROOT)
    files = media_checksums(media_root)
    tar_path = folder / "media.tar"
    with tarfile.open(tar_path, "w") as tar:
        for rel in files:
            tar.add(media_root / rel, arcname=rel)
    manifest = {
        "format": FORMAT,
        "created": datetime.now(UTC).isoformat(),
        "database": settings.DATABASES["default"]["NAME"],
        "tables": counts,
        "media": files,
        "files": {"database.dump": sha256_file(dump), "media.tar": sha256_file(tar_path)},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return folder


def read_manifest(folder: Path) -> dict:
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except FileNotFoundError as exc:
        raise BackupError(f"{folder}: no manifest.json (not a backup folder)") from exc
    except json.JSONDecodeError as exc:
        raise BackupError(f"{folder}/manifest.json: not valid JSON ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder}/manifest.json: unknown format {manifest.get('format')!r}")
    for name, expected in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise BackupError(f"{folder}: {name} is missing")
        if sha256_file(path) != expected:
            raise BackupError(f"{folder}: {name} does not match its checksum (damaged or changed)")
    return manifest


def database_is_empty() -> bool:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_name = 'django_migrations'"
        )
        return cur.fetchone()[0] == 0


def restore(folder: Path) -> dict:
    """Restore a backup into the configured database and MEDIA_ROOT; returns what was compared."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    connection.close()
    _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={settings.DATABASES['default']['NAME']}",
            str(folder / "database.dump"),
        ]
    )
    media_root = Path(settings.MEDIA_ROOT)
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "media.tar") as tar:
        tar.extractall(media_root, filter="data")
    counts = table_counts()
    wrong = {t: (n, counts.get(t)) for t, n in manifest["tables"].items() if counts.get(t) != n}
    if wrong:
        raise BackupError(f"row counts differ after restore (table: expected, found): {wrong}")
    files = media_checksums(media_root)
    bad = [rel for rel, digest in manifest["media"].items() if files.get(rel) != digest]
    if bad:
        raise BackupError(f"media files missing or different after restore: {bad[:20]}")
    return {"tables": len(counts), "rows": sum(counts.values()), "media_files": len(manifest["media"])}


def describe(result: dict) -> str:
    return f"{result['tables']} tables, {result['rows']} rows, {result['media_files']} media files"
