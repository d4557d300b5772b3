"""The UPDATE trigger of the tile cells: pair old and new rows by a hash join on id.

The transition tables carry no statistics, so the planner of migration 0002's NOT EXISTS
pairs guessed a handful of rows and chose nested loops: 23 s for an UPDATE of 10^4 sites.
Pairing by id with nested loops off for the function's statements makes it linear.
"""

import importlib

from django.db import migrations

cells = importlib.import_module("ogc.migrations.0002_site_cells")

CHANGED = (
    "SELECT n.id, n.kind, n.status, n.geom, 1 AS sign FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id "
    "WHERE o.id IS NULL OR o.kind <> n.kind OR o.status <> n.status OR NOT (o.geom = n.geom) "
    "UNION ALL SELECT o.id, o.kind, o.status, o.geom, -1 FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id "
    "WHERE n.id IS NULL OR o.kind <> n.kind OR o.status <> n.status OR NOT (o.geom = n.geom)"
)


def function(changed: str, settings: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION ogc_site_cells_update() RETURNS trigger LANGUAGE plpgsql {settings} AS $$
BEGIN
{cells._apply(changed)}
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("ogc", "0002_site_cells")]

    operations = [
        migrations.RunSQL(
            function(CHANGED, "SET enable_nestloop = off"),
            # Back to 0002's function (RESET drops the setting that CREATE OR REPLACE keeps).
            function(cells.CHANGED, "") + "ALTER FUNCTION ogc_site_cells_update() RESET ALL;",
        )
    ]
