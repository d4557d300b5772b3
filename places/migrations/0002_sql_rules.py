"""Database-level rules for places: geometry per kind, valid geometry, and the
point-to-unit function every app uses to resolve a commune."""

from django.db import migrations

# Frozen copy of places.kinds.geometry_check_sql() at the time of this migration;
# a change to the kinds table needs a new migration (a test compares the two).
GEOMETRY_TYPE_CHECK = (
    "CASE kind "
    "WHEN 'drowning_hotspot' THEN GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON') "
    "WHEN 'school' THEN GeometryType(geom) IN ('POINT') "
    "WHEN 'school_route' THEN GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING') "
    "WHEN 'playground' THEN GeometryType(geom) IN ('POINT', 'POLYGON', 'MULTIPOLYGON') "
    "WHEN 'construction_site' THEN GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON', 'POINT') "
    "WHEN 'village' THEN GeometryType(geom) IN ('POINT') ELSE false END"
)

UNIT_AT = """
CREATE OR REPLACE FUNCTION places_commune_at(g geometry, d date)
RETURNS bigint LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
-- The one commune in force on `d` that holds geometry `g` (a representative point
-- of it: ST_PointOnSurface), or NULL outside the province:
--  1. communes covering the point; where neighbours overlap (slivers), the one the
--     point lies deepest inside (largest distance to its boundary), then the code;
--  2. a point in the province outline that no commune covers (gaps between the
--     coarse polygons) goes to the nearest commune, in metres on the spheroid;
--  3. anything else is outside the province.
DECLARE
    pt geometry := ST_PointOnSurface(g);
    result bigint;
BEGIN
    IF pt IS NULL OR ST_IsEmpty(pt) THEN
        RETURN NULL;
    END IF;
    SELECT u.id INTO result FROM places_adminunit u
     WHERE u.level = 'commune'
       AND (u.valid_from IS NULL OR u.valid_from <= d) AND (u.valid_to IS NULL OR u.valid_to >= d)
       AND ST_Covers(u.geom, pt)
     ORDER BY ST_Distance(ST_Boundary(u.geom), pt) DESC, u.code
     LIMIT 1;
    IF result IS NOT NULL THEN
        RETURN result;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM places_adminunit p
         WHERE p.level = 'province'
           AND (p.valid_from IS NULL OR p.valid_from <= d) AND (p.valid_to IS NULL OR p.valid_to >= d)
           AND ST_Covers(p.geom, pt)
    ) THEN
        RETURN NULL;
    END IF;
    SELECT c.id INTO result FROM (
        SELECT u.id, u.code, u.geom FROM places_adminunit u
         WHERE u.level = 'commune'
           AND (u.valid_from IS NULL OR u.valid_from <= d) AND (u.valid_to IS NULL OR u.valid_to >= d)
         ORDER BY u.geom <-> pt
         LIMIT 5
    ) c
    ORDER BY ST_Distance(c.geom::geography, pt::geography), c.code
    LIMIT 1;
    RETURN result;
END $$;

CREATE OR REPLACE FUNCTION places_unit_at(g geometry, d date, lvl text DEFAULT 'commune')
RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
-- The unit of level `lvl` holding `g` on `d`: the commune's ancestor at that level,
-- so that district and commune answers always agree with the hierarchy of codes.
WITH RECURSIVE up AS (
    SELECT u.id, u.level, u.parent_id FROM places_adminunit u WHERE u.id = places_commune_at(g, d)
    UNION ALL
    SELECT p.id, p.level, p.parent_id FROM places_adminunit p JOIN up ON p.id = up.parent_id
)
SELECT id FROM up WHERE level = lvl LIMIT 1
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("places", "0001_initial")]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE places_site ADD CONSTRAINT site_geometry_type_per_kind CHECK ({GEOMETRY_TYPE_CHECK});"
            "ALTER TABLE places_site ADD CONSTRAINT site_geometry_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom));",
            "ALTER TABLE places_site DROP CONSTRAINT site_geometry_type_per_kind;"
            "ALTER TABLE places_site DROP CONSTRAINT site_geometry_valid;",
        ),
        migrations.RunSQL(
            UNIT_AT,
            "DROP FUNCTION places_unit_at(geometry, date, text); DROP FUNCTION places_commune_at(geometry, date);",
        ),
    ]
