"""Routing in the database: the function that names a site's responsible agency and
the trigger that applies it on every write of a site (API, admin, file import, demo
generator alike)."""

from django.db import migrations

AGENCY_FOR = """
CREATE OR REPLACE FUNCTION inspections_agency_for(k text, g geometry, d date)
RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
-- The agency responsible for a site of kind `k` at `g` on `d`, by the routing rules in
-- force that day: a rule limited to an area that holds the site wins over a general
-- one; a rule naming an area level gives the committee governing the site's unit of
-- that level. NULL when no rule or no committee applies.
SELECT CASE
         WHEN r.agency_id IS NOT NULL THEN r.agency_id
         ELSE (SELECT a.id FROM inspections_agency a
                WHERE a.area_id = places_unit_at(g, d, r.area_level)
                  AND (a.valid_from IS NULL OR a.valid_from <= d) AND (a.valid_to IS NULL OR a.valid_to >= d)
                ORDER BY a.id LIMIT 1)
       END
  FROM inspections_routingrule r
  LEFT JOIN places_adminunit ra ON ra.id = r.area_id
 WHERE r.site_kind = k
   AND (r.valid_from IS NULL OR r.valid_from <= d) AND (r.valid_to IS NULL OR r.valid_to >= d)
   AND (r.area_id IS NULL OR places_unit_at(g, d, ra.level) = r.area_id)
 ORDER BY (r.area_id IS NOT NULL) DESC, r.id
 LIMIT 1
$$;

CREATE OR REPLACE FUNCTION inspections_route_site() RETURNS trigger LANGUAGE plpgsql AS $$
-- Dates are Vietnam's calendar days: the 01/07/2025 reorganisation began at local midnight.
BEGIN
    IF TG_OP = 'INSERT' OR NEW.kind IS DISTINCT FROM OLD.kind OR NOT ST_Equals(NEW.geom, OLD.geom) THEN
        NEW.agency_id := inspections_agency_for(
            NEW.kind, NEW.geom, (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER places_site_route BEFORE INSERT OR UPDATE OF kind, geom ON places_site
    FOR EACH ROW EXECUTE FUNCTION inspections_route_site();
"""

DROP = """
DROP TRIGGER IF EXISTS places_site_route ON places_site;
DROP FUNCTION IF EXISTS inspections_route_site();
DROP FUNCTION IF EXISTS inspections_agency_for(text, geometry, date);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("inspections", "0001_initial"),
        ("places", "0003_site_agency"),
    ]

    operations = [migrations.RunSQL(AGENCY_FOR, DROP)]
