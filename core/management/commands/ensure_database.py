"""Create the configured database and the postgis extension when they are missing."""

import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg2 import sql


def _connect(params: dict, dbname: str):
    kwargs = {
        "dbname": dbname,
        "user": params.get("USER") or None,
        "password": params.get("PASSWORD") or None,
        "host": params.get("HOST") or None,
        "port": params.get("PORT") or None,
        "connect_timeout": 5,
    }
    return psycopg2.connect(**{k: v for k, v in kwargs.items() if v is not None})


class Command(BaseCommand):
    help = "Create the database named in settings and CREATE EXTENSION postgis in it (idempotent)."

    def handle(self, *args, **options):
        params = settings.DATABASES["default"]
        name = params["NAME"]
        try:
            conn = _connect(params, name)
        except psycopg2.OperationalError as exc:
            if "does not exist" not in str(exc):
                raise CommandError(
                    f"cannot reach PostgreSQL ({params.get('HOST') or 'socket'}): {exc}"
                ) from exc
            self._create(params, name)
            conn = _connect(params, name)
        conn.close()
        conn = _connect(params, name)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            cur.execute("SELECT postgis_lib_version()")
            version = cur.fetchone()[0]
        conn.close()
        self.stdout.write(f"database {name} ready (PostGIS {version})")

    def _create(self, params: dict, name: str) -> None:
        try:
            conn = _connect(params, "postgres")
        except psycopg2.OperationalError as exc:
            raise CommandError(f"cannot reach PostgreSQL to create database {name}: {exc}") from exc
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        conn.close()
        self.stdout.write(f"created database {name}")
