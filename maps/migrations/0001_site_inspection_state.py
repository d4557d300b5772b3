"""Per-site inspection state for the coverage indicator, kept by the database.

maps_site_inspection_state holds, for every site, the keys the coverage indicator filters and
groups on (commune, kind, status, agency, copied from places_site) and the time of its latest
inspection and latest passing inspection (from inspections_inspection). Coverage for a period
that ends after a site's latest inspection is then read from this one narrow table; only a site
inspected after the end of the period needs a look into its inspections (an index probe).

Statement-level triggers with transition tables keep it right on every write path (ORM, raw
SQL, bulk INSERT ... SELECT, INSERT ... ON CONFLICT DO UPDATE, deletes, TRUNCATE):
- places_site: insert -> row added; update -> keys copied; delete / truncate -> rows removed.
- inspections_inspection: insert -> latest times raised (GREATEST, so concurrent inserts
  compose); update / delete -> the affected sites recomputed from their inspections after
  locking their state rows (a new statement, so a concurrent committed insert is seen);
  truncate -> times cleared.
A resent inspection that meets UNIQUE(client_uuid) is rolled back with its savepoint, triggers
included. No foreign key (Django's flush truncates places_site without CASCADE).
The index on last_at finds the sites inspected after the end of a period; the index
(site_id, performed_at DESC) INCLUDE (result) serves the recomputation and the
probes for past periods without visiting the table.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE maps_site_inspection_state (
    site_id bigint PRIMARY KEY,
    commune_id bigint,
    kind varchar(30) NOT NULL,
    status varchar(10) NOT NULL,
    agency_id bigint,
    last_at timestamptz,
    last_pass_at timestamptz
);
-- Finds the sites inspected after the end of a period (none for a period ending today).
CREATE INDEX maps_state_last_at ON maps_site_inspection_state (last_at);

CREATE INDEX maps_inspection_site_time_result
    ON inspections_inspection (site_id, performed_at DESC) INCLUDE (result);

CREATE FUNCTION maps_state_site_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO maps_site_inspection_state AS t (site_id, commune_id, kind, status, agency_id,
                                                 last_at, last_pass_at)
    SELECT n.id, n.commune_id, n.kind, n.status, n.agency_id,
           (SELECT max(i.performed_at) FROM inspections_inspection i WHERE i.site_id = n.id),
           (SELECT max(i.performed_at) FROM inspections_inspection i
             WHERE i.site_id = n.id AND i.result = 'pass')
      FROM new_sites n
    ON CONFLICT (site_id) DO UPDATE
       SET commune_id = EXCLUDED.commune_id, kind = EXCLUDED.kind, status = EXCLUDED.status,
           agency_id = EXCLUDED.agency_id, last_at = EXCLUDED.last_at,
           last_pass_at = EXCLUDED.last_pass_at;
    RETURN NULL;
END $$;

CREATE FUNCTION maps_state_site_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE maps_site_inspection_state t
       SET commune_id = n.commune_id, kind = n.kind, status = n.status, agency_id = n.agency_id
      FROM new_sites n
     WHERE t.site_id = n.id
       AND (t.commune_id, t.kind, t.status, t.agency_id)
           IS DISTINCT FROM (n.commune_id, n.kind, n.status, n.agency_id);
    RETURN NULL;
END $$;

CREATE FUNCTION maps_state_site_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM maps_site_inspection_state t USING old_sites o WHERE t.site_id = o.id;
    RETURN NULL;
END $$;

CREATE FUNCTION maps_state_site_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM maps_site_inspection_state;
    RETURN NULL;
END $$;

CREATE FUNCTION maps_state_recompute(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- Lock first; the UPDATE below is a new statement with a new snapshot (READ COMMITTED), so
    -- an inspection committed by a transaction we waited for is counted.
    PERFORM 1 FROM maps_site_inspection_state WHERE site_id = ANY(ids) ORDER BY site_id FOR UPDATE;
    UPDATE maps_site_inspection_state t
       SET last_at = l.last_at, last_pass_at = l.last_pass_at
      FROM (SELECT s.id,
                   (SELECT max(i.performed_at) FROM inspections_inspection i
                     WHERE i.site_id = s.id) AS last_at,
                   (SELECT max(i.performed_at) FROM inspections_inspection i
                     WHERE i.site_id = s.id AND i.result = 'pass') AS last_pass_at
              FROM unnest(ids) AS s(id)) l
     WHERE t.site_id = l.id
       AND (t.last_at, t.last_pass_at) IS DISTINCT FROM (l.last_at, l.last_pass_at);
END $$;

CREATE FUNCTION maps_state_inspection_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE maps_site_inspection_state t
       SET last_at = GREATEST(t.last_at, n.last_at),
           last_pass_at = GREATEST(t.last_pass_at, n.last_pass_at)
      FROM (SELECT site_id, max(performed_at) AS last_at,
                   max(performed_at) FILTER (WHERE result = 'pass') AS last_pass_at
              FROM new_inspections GROUP BY site_id) n
     WHERE t.site_id = n.site_id
       AND (t.last_at IS NULL OR n.last_at > t.last_at
            OR (n.last_pass_at IS NOT NULL
                AND (t.last_pass_at IS NULL OR n.last_pass_at > t.last_pass_at)));
    RETURN NULL;
END $$;

CREATE FUNCTION maps_state_inspection_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM maps_state_recompute(ARRAY(
        SELECT site_id FROM old_inspections UNION SELECT site_id FROM new_inspections));
    RETURN NULL;
END $$;

CREATE FUNCTION maps_state_inspection_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM maps_state_recompute(ARRAY(SELECT DISTINCT site_id FROM old_inspections));
    RETURN NULL;
END $$;

CREATE FUNCTION maps_state_inspection_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE maps_site_inspection_state SET last_at = NULL, last_pass_at = NULL
     WHERE last_at IS NOT NULL OR last_pass_at IS NOT NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER maps_state_site_insert AFTER INSERT ON places_site
    REFERENCING NEW TABLE AS new_sites FOR EACH STATEMENT EXECUTE FUNCTION maps_state_site_insert();
CREATE TRIGGER maps_state_site_update AFTER UPDATE ON places_site
    REFERENCING NEW TABLE AS new_sites FOR EACH STATEMENT EXECUTE FUNCTION maps_state_site_update();
CREATE TRIGGER maps_state_site_delete AFTER DELETE ON places_site
    REFERENCING OLD TABLE AS old_sites FOR EACH STATEMENT EXECUTE FUNCTION maps_state_site_delete();
CREATE TRIGGER maps_state_site_truncate AFTER TRUNCATE ON places_site
    FOR EACH STATEMENT EXECUTE FUNCTION maps_state_site_truncate();
CREATE TRIGGER maps_state_inspection_insert AFTER INSERT ON inspections_inspection
    REFERENCING NEW TABLE AS new_inspections FOR EACH STATEMENT
    EXECUTE FUNCTION maps_state_inspection_insert();
CREATE TRIGGER maps_state_inspection_update AFTER UPDATE ON inspections_inspection
    REFERENCING OLD TABLE AS old_inspections NEW TABLE AS new_inspections FOR EACH STATEMENT
    EXECUTE FUNCTION maps_state_inspection_update();
CREATE TRIGGER maps_state_inspection_delete AFTER DELETE ON inspections_inspection
    REFERENCING OLD TABLE AS old_inspections FOR EACH STATEMENT
    EXECUTE FUNCTION maps_state_inspection_delete();
CREATE TRIGGER maps_state_inspection_truncate AFTER TRUNCATE ON inspections_inspection
    FOR EACH STATEMENT EXECUTE FUNCTION maps_state_inspection_truncate();
"""

# Also run by tests/test_maps_perf.py to prove the backfill gives what the triggers keep.
BACKFILL = """
INSERT INTO maps_site_inspection_state (site_id, commune_id, kind, status, agency_id, last_at, last_pass_at)
SELECT s.id, s.commune_id, s.kind, s.status, s.agency_id, l.last_at, l.last_pass_at
  FROM places_site s
  LEFT JOIN (SELECT site_id, max(performed_at) AS last_at,
                    max(performed_at) FILTER (WHERE result = 'pass') AS last_pass_at
               FROM inspections_inspection GROUP BY site_id) l ON l.site_id = s.id;
ANALYZE maps_site_inspection_state;
"""

REVERSE = """
DROP TRIGGER IF EXISTS maps_state_site_insert ON places_site;
DROP TRIGGER IF EXISTS maps_state_site_update ON places_site;
DROP TRIGGER IF EXISTS maps_state_site_delete ON places_site;
DROP TRIGGER IF EXISTS maps_state_site_truncate ON places_site;
DROP TRIGGER IF EXISTS maps_state_inspection_insert ON inspections_inspection;
DROP TRIGGER IF EXISTS maps_state_inspection_update ON inspections_inspection;
DROP TRIGGER IF EXISTS maps_state_inspection_delete ON inspections_inspection;
DROP TRIGGER IF EXISTS maps_state_inspection_truncate ON inspections_inspection;
DROP FUNCTION IF EXISTS maps_state_site_insert();
DROP FUNCTION IF EXISTS maps_state_site_update();
DROP FUNCTION IF EXISTS maps_state_site_delete();
DROP FUNCTION IF EXISTS maps_state_site_truncate();
DROP FUNCTION IF EXISTS maps_state_inspection_insert();
DROP FUNCTION IF EXISTS maps_state_inspection_update();
DROP FUNCTION IF EXISTS maps_state_inspection_delete();
DROP FUNCTION IF EXISTS maps_state_inspection_truncate();
DROP FUNCTION IF EXISTS maps_state_recompute(bigint[]);
DROP INDEX IF EXISTS maps_inspection_site_time_result;
DROP TABLE IF EXISTS maps_site_inspection_state;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("places", "0003_site_agency"),
        ("inspections", "0002_routing_sql"),
    ]

    operations = [migrations.RunSQL(FORWARD + BACKFILL, REVERSE)]
