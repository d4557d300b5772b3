#!/usr/bin/env bash
# Bootstrap a development machine for ChildSafe Map.
#
# 1. System libraries: GDAL, GEOS, PROJ, gettext and PostGIS for the PostgreSQL
#    major version that runs here (apt on Debian/Ubuntu; elsewhere: a clear message).
# 2. A PostgreSQL server: the one running, else start the installed cluster (as the
#    postgres user), else install one. A superuser role for the current OS user so
#    development never asks for a password. Skipped when DATABASE_URL is set.
# 3. The virtualenv (.venv) with the project and its test extras.
# 4. Compiled translations, the database and the postgis extension.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
say() { printf '[bootstrap] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; return 1; fi
}
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    cat >&2 <<MSG
[bootstrap] This system has no apt-get, so the system packages cannot be installed for you.
[bootstrap] Install these with your package manager, then run the command again:
[bootstrap]   GDAL (with GEOS and PROJ), gettext, PostgreSQL 13+ with PostGIS 3 for that version
[bootstrap] or run the whole service with:  docker compose up --build
[bootstrap] missing: $*
MSG
    exit 1
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -q >&2; APT_UPDATED=1; fi
  say "installing: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
}

# --- 1. system libraries -------------------------------------------------------
missing=()
command -v gdalinfo >/dev/null || missing+=(gdal-bin)
command -v msgfmt >/dev/null || missing+=(gettext)
ldconfig -p 2>/dev/null | grep -q 'libgeos_c' || missing+=(libgeos-c1v5)
ldconfig -p 2>/dev/null | grep -q 'libproj' || missing+=(proj-bin)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# PDF reports (WeasyPrint): Pango and HarfBuzz, and a font with Vietnamese glyphs.
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset' || missing+=(libharfbuzz-subset0)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

# --- 2. PostgreSQL + PostGIS ---------------------------------------------------
pg_major_running() {
  psql -d postgres -XAtqc "SELECT current_setting('server_version_num')::int / 10000" 2>/dev/null \
    || psql -h 127.0.0.1 -U postgres -d postgres -XAtqc "SELECT current_setting('server_version_num')::int / 10000" 2>/dev/null \
    || true
}

if [ -z "${DATABASE_URL:-}" ]; then
  major="$(pg_major_running)"
  if [ -z "$major" ]; then
    if command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
      read -r ver name _ < <(pg_lsclusters -h | head -1)
      say "starting PostgreSQL cluster $ver/$name"
      as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || as_root pg_ctlcluster "$ver" "$name" start
    elif ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
      ver="$(basename "$(dirname "$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")")")"
      if command -v pg_createcluster >/dev/null; then
        say "creating and starting PostgreSQL cluster $ver/main"
        as_root pg_createcluster "$ver" main --start
      else
        datadir="${PGDATA_DIR:-/var/lib/postgresql/$ver/childsafe}"
        say "initialising $datadir as the postgres user"
        as_root mkdir -p "$datadir" && as_root chown postgres:postgres "$datadir"
        [ -f "$datadir/PG_VERSION" ] || as_postgres "/usr/lib/postgresql/$ver/bin/initdb" -D "$datadir" -A peer
        as_postgres "/usr/lib/postgresql/$ver/bin/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w start
      fi
    else
      apt_install postgresql postgresql-postgis
      if command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
        read -r ver name _ < <(pg_lsclusters -h | head -1)
        as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start 2>/dev/null || true
      fi
    fi
    for _ in $(seq 1 30); do major="$(pg_major_running)"; [ -n "$major" ] && break; sleep 1; done
  fi
  # A role for the current OS user, so the socket connection needs no password.
  if ! psql -d postgres -XAtqc 'SELECT 1' >/dev/null 2>&1; then
    me="$(id -un)"
    say "creating PostgreSQL superuser role '$me' (development only)"
    as_postgres psql -d postgres -XAtqc "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$me') THEN CREATE ROLE \"$me\" LOGIN SUPERUSER; END IF; END\$\$" \
      || psql -h 127.0.0.1 -U postgres -d postgres -XAtqc "CREATE ROLE \"$me\" LOGIN SUPERUSER" || true
  fi
  major="$(pg_major_running)"
  if [ -z "$major" ]; then
    say "no PostgreSQL answers on the local socket or 127.0.0.1:5432; set DATABASE_URL or run: docker compose up"
    exit 1
  fi
  if [ ! -f "/usr/share/postgresql/$major/extension/postgis.control" ]; then
    apt_install "postgresql-$major-postgis-3"
  fi
  # pgRouting: play-area access along a road/path network (planning, manage.py import_paths).
  if [ ! -f "/usr/share/postgresql/$major/extension/pgrouting.control" ]; then
    apt_install "postgresql-$major-pgrouting"
  fi
fi

# --- 3. virtualenv -------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.childsafe-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing Python dependencies"
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2
  "$VENV/bin/python" -m pip install -q -e '.[test]' >&2
  touch "$stamp"
fi

# --- 4. translations, database, extension --------------------------------------
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
"$VENV/bin/python" manage.py compilemessages --ignore "$VENV" -v 0 >&2
"$VENV/bin/python" manage.py ensure_database
