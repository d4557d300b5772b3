"""Site counts per kind and status, kept by statement triggers, for `numberMatched`.

An `/items` page without a box or a time filter must still say how many features match: for
the readers that see all sites or all active sites (ogc.tiles.site_scope), that is a sum over
at most (kinds × statuses) rows of `ogc_sitecount` instead of counting 10^6 rows of
places_site (about 0.5 s each request at that size; the page itself walks the primary key).

Triggers, one per event (transition tables need that), apply the net change of a statement
exactly as migration 0002 does for the tile cells: an INSERT adds its rows, a DELETE
subtracts them, an UPDATE subtracts the old and adds the new version of the rows whose kind or
status changed (paired by id with a hash join, as in migration 0003), a TRUNCATE empties the
table. `ogc_rebuild_site_cells()` (after bulk loads that turn user triggers off) now rebuilds
the counts too.

Every statement that writes sites updates the row of its (kind, status), holding that row's
lock to the end of its transaction: the z0 cell of ogc_sitecell is the same single row per
(kind, status), so writers already queue there; this adds no new wait.
"""

import importlib

from django.db import migrations

cells = importlib.import_module("ogc.migrations.0002_site_cells")


def _apply(source: str) -> str:
    """SQL adding the (kind, status, sign) rows of `source` to ogc_sitecount."""
    return f"""
INSERT INTO ogc_sitecount AS c (kind, status, n)
SELECT kind, status, sum(sign) FROM ({source}) d
GROUP BY kind, status HAVING sum(sign) <> 0
ORDER BY kind, status
ON CONFLICT (kind, status) DO UPDATE SET n = c.n + excluded.n;
"""


CHANGED = (
    "SELECT n.kind, n.status, 1 AS sign FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id "
    "WHERE o.id IS NULL OR o.kind <> n.kind OR o.status <> n.status "
    "UNION ALL SELECT o.kind, o.status, -1 FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id "
    "WHERE n.id IS NULL OR o.kind <> n.kind OR o.status <> n.status"
)

REBUILD_CELLS = f"""
    DELETE FROM ogc_sitecell;
{cells._apply("SELECT id, kind, status, geom, 1 AS sign FROM places_site")}"""

CREATE = f"""
CREATE TABLE ogc_sitecount (
    kind varchar(30) NOT NULL,
    status varchar(10) NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (kind, status)
);
COMMENT ON TABLE ogc_sitecount IS 'Sites per kind and status (ogc migration 0004).';

CREATE FUNCTION ogc_site_counts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_apply("SELECT kind, status, 1 AS sign FROM new_rows")}
    RETURN NULL;
END $$;

CREATE FUNCTION ogc_site_counts_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_apply("SELECT kind, status, -1 AS sign FROM old_rows")}
    RETURN NULL;
END $$;

CREATE FUNCTION ogc_site_counts_update() RETURNS trigger LANGUAGE plpgsql SET enable_nestloop = off AS $$
BEGIN
{_apply(CHANGED)}
    RETURN NULL;
END $$;

CREATE FUNCTION ogc_site_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ogc_sitecount;
    RETURN NULL;
END $$;

CREATE FUNCTION ogc_rebuild_site_counts() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ogc_sitecount;
{_apply("SELECT kind, status, 1 AS sign FROM places_site")}
END $$;

CREATE OR REPLACE FUNCTION ogc_rebuild_site_cells() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
{REBUILD_CELLS}
    PERFORM ogc_rebuild_site_counts();
END $$;

CREATE TRIGGER ogc_site_counts_insert AFTER INSERT ON places_site
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ogc_site_counts_insert();
CREATE TRIGGER ogc_site_counts_update AFTER UPDATE ON places_site
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ogc_site_counts_update();
CREATE TRIGGER ogc_site_counts_delete AFTER DELETE ON places_site
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ogc_site_counts_delete();
CREATE TRIGGER ogc_site_counts_truncate AFTER TRUNCATE ON places_site
    FOR EACH STATEMENT EXECUTE FUNCTION ogc_site_counts_truncate();

SELECT ogc_rebuild_site_counts();
"""

DROP = f"""
DROP TRIGGER IF EXISTS ogc_site_counts_insert ON places_site;
DROP TRIGGER IF EXISTS ogc_site_counts_update ON places_site;
DROP TRIGGER IF EXISTS ogc_site_counts_delete ON places_site;
DROP TRIGGER IF EXISTS ogc_site_counts_truncate ON places_site;
CREATE OR REPLACE FUNCTION ogc_rebuild_site_cells() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
{REBUILD_CELLS}
END $$;
DROP FUNCTION IF EXISTS ogc_site_counts_insert();
DROP FUNCTION IF EXISTS ogc_site_counts_update();
DROP FUNCTION IF EXISTS ogc_site_counts_delete();
DROP FUNCTION IF EXISTS ogc_site_counts_truncate();
DROP FUNCTION IF EXISTS ogc_rebuild_site_counts();
DROP TABLE IF EXISTS ogc_sitecount;
"""


class Migration(migrations.Migration):
    dependencies = [("ogc", "0003_faster_cell_updates")]

    operations = [migrations.RunSQL(CREATE, DROP)]
