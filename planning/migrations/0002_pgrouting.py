"""The pgRouting extension, which planning's network distance runs on (pgr_drivingDistance).

Created when the server has it (Debian: postgresql-<major>-pgrouting). When it is missing
the migration says so and goes on: straight-line access needs no extension, and
`manage.py import_paths` refuses to load a network until pgRouting is there (with the
same message), so the network method can never be in effect without it.
"""

import sys

from django.db import migrations

MISSING = (
    "pgRouting is not installed on the PostgreSQL server, so no road/path network can be loaded "
    "(access stays straight-line). Install it (Debian/Ubuntu: apt-get install "
    "postgresql-%(major)s-pgrouting; Docker: an image with pgRouting such as pgrouting/pgrouting) "
    "and run migrate again."
)


def create_pgrouting(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'")
        if cur.fetchone() is None:
            cur.execute("SELECT current_setting('server_version_num')::int / 10000")
            sys.stderr.write("\n  planning: " + MISSING % {"major": cur.fetchone()[0]} + "\n")
            return
        cur.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")


class Migration(migrations.Migration):
    dependencies = [("planning", "0001_initial")]

    # Dropping the extension on the way back would break other users of it; it stays.
    operations = [migrations.RunPython(create_pgrouting, migrations.RunPython.noop, elidable=False)]
