"""Per-cell site counts for the clustered (low-zoom) tiles, kept by statement triggers.

`ogc_sitecell` holds, for every clustering zoom z = 0 … 10 (ogc.tiles.CLUSTER_BELOW_ZOOM − 1),
every Web-Mercator grid cell of that zoom (64 × 64 per tile: the cells ogc.tiles clusters on)
and every (kind, status): the number of sites `n`, the sums of their Mercator coordinates in
millimetres `sx`, `sy` (integers, so adding and removing a site is exact) and the sum of their
ids `sid` (the id itself when n = 1). A low-zoom tile then reads at most 66 × 66 cells per kind
and status instead of every site under it.

Cells are assigned exactly as the live computation in ogc.tiles does (the same expressions):
the cell of zoom 10 is floor(mx / cell₁₀); coarser zooms halve it with an arithmetic shift,
which equals floor(mx / cellₖ) exactly because the cell sizes differ by powers of two.

Triggers, one per event (transition tables need that), apply the net change of a statement:
an INSERT adds its rows, a DELETE subtracts them, an UPDATE subtracts the old and adds the new
version of the rows whose kind, status or geometry changed (renames cost nothing), a TRUNCATE
empties the table. `ogc_rebuild_site_cells()` recomputes everything (for bulk loads that turn
user triggers off).
"""

from django.db import migrations

R = 6378137
WORLD = 2 * 3.141592653589793 * R
BASE_ZOOM = 10
GRID_CELLS = 64
CELL = WORLD / 2**BASE_ZOOM / GRID_CELLS
MAX_LAT = 85.0511287798066

# A site's point and its Mercator metres: the same expressions as ogc.tiles.
POINT = "(CASE WHEN GeometryType(d.geom) = 'POINT' THEN d.geom ELSE ST_PointOnSurface(d.geom) END)"


def _apply(source: str) -> str:
    """SQL adding the rows of `source` (id, kind, status, geom, sign) to ogc_sitecell."""
    levels = [
        f"""l{z} AS (SELECT {z} AS zoom, cx >> 1 AS cx, cy >> 1 AS cy, kind, status,
                    sum(n) AS n, sum(sx) AS sx, sum(sy) AS sy, sum(sid) AS sid
             FROM l{z + 1} GROUP BY 2, 3, 4, 5)"""
        for z in range(BASE_ZOOM - 1, -1, -1)
    ]
    chain = ",\n".join(levels)
    union = "\n    UNION ALL ".join(f"SELECT * FROM l{z}" for z in range(BASE_ZOOM, -1, -1))
    return f"""
WITH d AS ({source}),
pts AS (
  SELECT d.id, d.kind, d.status, d.sign, p.pt FROM d, LATERAL (SELECT {POINT} AS pt) p
),
merc AS (
  SELECT id, kind, status, sign,
         {R} * radians(ST_X(pt)) AS mx,
         {R} * ln(tan(pi() / 4 + radians(ST_Y(pt)) / 2)) AS my
  FROM pts
  WHERE ST_Y(pt) BETWEEN -{MAX_LAT} AND {MAX_LAT}
  OFFSET 0
),
l{BASE_ZOOM} AS (
  SELECT {BASE_ZOOM} AS zoom, floor(mx / {CELL!r}::float8)::int AS cx, floor(my / {CELL!r}::float8)::int AS cy,
         kind, status, sum(sign)::bigint AS n,
         sum(sign * round(mx * 1000)::bigint)::numeric AS sx,
         sum(sign * round(my * 1000)::bigint)::numeric AS sy,
         sum(sign * id)::numeric AS sid
  FROM merc GROUP BY 2, 3, 4, 5
),
{chain}
INSERT INTO ogc_sitecell AS c (zoom, cx, cy, kind, status, n, sx, sy, sid)
SELECT zoom, cx, cy, kind, status, n, sx, sy, sid FROM (
    {union}
) t
WHERE n <> 0 OR sx <> 0 OR sy <> 0 OR sid <> 0
ORDER BY zoom, cx, cy, kind, status
ON CONFLICT (zoom, cx, cy, kind, status) DO UPDATE
SET n = c.n + excluded.n, sx = c.sx + excluded.sx, sy = c.sy + excluded.sy, sid = c.sid + excluded.sid;
DELETE FROM ogc_sitecell WHERE n = 0;
"""


SAME = "o.id = n.id AND o.kind = n.kind AND o.status = n.status AND o.geom = n.geom"

CHANGED = (
    f"SELECT n.id, n.kind, n.status, n.geom, 1 AS sign FROM new_rows n "
    f"WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE {SAME}) "
    f"UNION ALL SELECT o.id, o.kind, o.status, o.geom, -1 FROM old_rows o "
    f"WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE {SAME})"
)

CREATE = f"""
CREATE TABLE ogc_sitecell (
    zoom smallint NOT NULL,
    cx integer NOT NULL,
    cy integer NOT NULL,
    kind varchar(30) NOT NULL,
    status varchar(10) NOT NULL,
    n integer NOT NULL,
    sx bigint NOT NULL,
    sy bigint NOT NULL,
    sid bigint NOT NULL,
    PRIMARY KEY (zoom, cx, cy, kind, status)
);
CREATE INDEX ogc_sitecell_empty ON ogc_sitecell (zoom) WHERE n = 0;
COMMENT ON TABLE ogc_sitecell IS 'Sites per clustering cell, zoom, kind and status (ogc migration 0002).';

CREATE FUNCTION ogc_site_cells_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_apply("SELECT id, kind, status, geom, 1 AS sign FROM new_rows")}
    RETURN NULL;
END $$;

CREATE FUNCTION ogc_site_cells_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_apply("SELECT id, kind, status, geom, -1 AS sign FROM old_rows")}
    RETURN NULL;
END $$;

CREATE FUNCTION ogc_site_cells_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_apply(CHANGED)}
    RETURN NULL;
END $$;

CREATE FUNCTION ogc_site_cells_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ogc_sitecell;
    RETURN NULL;
END $$;

CREATE FUNCTION ogc_rebuild_site_cells() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM ogc_sitecell;
{_apply("SELECT id, kind, status, geom, 1 AS sign FROM places_site")}
END $$;

CREATE TRIGGER ogc_site_cells_insert AFTER INSERT ON places_site
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ogc_site_cells_insert();
CREATE TRIGGER ogc_site_cells_update AFTER UPDATE ON places_site
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ogc_site_cells_update();
CREATE TRIGGER ogc_site_cells_delete AFTER DELETE ON places_site
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ogc_site_cells_delete();
CREATE TRIGGER ogc_site_cells_truncate AFTER TRUNCATE ON places_site
    FOR EACH STATEMENT EXECUTE FUNCTION ogc_site_cells_truncate();

SELECT ogc_rebuild_site_cells();
"""

DROP = """
DROP TRIGGER IF EXISTS ogc_site_cells_insert ON places_site;
DROP TRIGGER IF EXISTS ogc_site_cells_update ON places_site;
DROP TRIGGER IF EXISTS ogc_site_cells_delete ON places_site;
DROP TRIGGER IF EXISTS ogc_site_cells_truncate ON places_site;
DROP FUNCTION IF EXISTS ogc_site_cells_insert();
DROP FUNCTION IF EXISTS ogc_site_cells_update();
DROP FUNCTION IF EXISTS ogc_site_cells_delete();
DROP FUNCTION IF EXISTS ogc_site_cells_truncate();
DROP FUNCTION IF EXISTS ogc_rebuild_site_cells();
DROP TABLE IF EXISTS ogc_sitecell;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("ogc", "0001_initial"),
        ("places", "0003_site_agency"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
