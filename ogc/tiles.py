"""Mapbox Vector Tiles from PostGIS (ST_AsMVT) and TileJSON 3.0.

Layers are the collections of ogc.collections, scoped to the reader exactly like
/ogcapi/ and /api/v1/sites/.

Generalisation per zoom:
- sites below CLUSTER_BELOW_ZOOM, or in any tile holding more than MAX_TILE_FEATURES
  sites, are clustered on a fixed Web-Mercator grid (64 × 64 cells per tile, aligned to
  the tile so each cell belongs to exactly one tile): one point per (cell, kind) at the
  mean position of its sites (to the millimetre), with `count`; a cluster of one keeps its
  site `id`. Every site is counted once, in one cluster of one tile. The same data always
  gives the same tile. Lines and polygons are clustered by a point on their surface.
- at detail zooms lines and polygons are simplified to a quarter of a pixel
  (tile width / 1024) before ST_AsMVTGeom snaps them to the 4096 grid;
- administrative units are simplified the same way (ST_SimplifyPreserveTopology).

Speed: the clustered tiles of zooms 0 … 10 are read from ogc_sitecell (migration 0002: site
counts and coordinate sums per cell, kind and status, kept by statement triggers on
places_site) for readers whose sites are "all active sites" (anonymous, no profile) or "all
sites" (planner, coordinator, administrator): at most 64 × 64 cells per kind instead of every
site of the tile, and byte for byte the tile the rows give. Readers scoped by agency or area
get the tile clustered from their rows. A tile is one SQL statement (the data version rides
along when the cache needs it); the two common scopes are written as plain SQL, without ORM
compilation.

Caching: for anonymous readers (what they see is the same for all) the tile is kept in
Django's cache under the data version (ogc.models.DataChange) for OGC_TILE_CACHE_SECONDS
(setting, default 3600; 0 turns it off), its ETag derives from that version and the answer
is `Cache-Control: public`. For logged-in readers the tile is rendered each time, its ETag is
a hash of its bytes and it is `private`. Both answer 304 to a matching If-None-Match.
"""

import hashlib
import json
import math

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db import connection
from django.db.models import Field
from django.db.models.expressions import RawSQL
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from core.cache import cache_get, cache_set

from .collections import COLLECTIONS, Collection, SitesCollection, scope_filter, site_scope
from .common import check_params, handles_errors, not_found, reader
from .views import _collection_json

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 20
CLUSTER_BELOW_ZOOM = 11
CELLS_MAX_ZOOM = 10  # ogc_sitecell (migration 0002) holds the cells of zooms 0 … 10
MAX_TILE_FEATURES = 5000
GRID_CELLS = 64  # per tile side, for clustering
EXTENT = 4096
BUFFER = 64
R = 6378137  # Web Mercator sphere radius, metres
# A site as a point: itself, or a point on its surface (GeometryType reads only the header).
POINT = "(CASE WHEN GeometryType(s.g) = 'POINT' THEN s.g ELSE ST_PointOnSurface(s.g) END)"
WORLD = 2 * math.pi * R  # Web Mercator width in metres
MAX_AGE_PUBLIC = 300
MAX_AGE_PRIVATE = 60


def tile_bounds(z: int, x: int, y: int, margin: float = BUFFER / EXTENT) -> tuple[float, float, float, float]:
    """Lon/lat box of a tile widened by `margin` (fraction of a tile), for the && index filter."""
    n = 2**z

    def lon(t):
        return max(-180.0, min(180.0, t / n * 360 - 180))

    def lat(t):
        t = max(0.0, min(float(n), t))
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * t / n))))

    return lon(x - margin), lat(y + 1 + margin), lon(x + 1 + margin), lat(y - margin)


def _bbox_filter(qs, bounds):
    box = Polygon.from_bbox(bounds)
    box.srid = 4326
    return qs.filter(geom__bboverlaps=box)


def _units_tile(collection: Collection, user, z: int, x: int, y: int) -> tuple[str, list]:
    src_sql, params = (
        _bbox_filter(collection.rows(user), tile_bounds(z, x, y))
        .order_by()
        .values("id")
        .query.sql_with_params()
    )
    tolerance = WORLD / 2**z / 1024
    sql = f"""
SELECT ST_AsMVT(t, %s, {EXTENT}, 'geom', 'id') FROM (
  SELECT u.id, u.code, u.name, u.name_en, u.level,
         u.valid_from::text AS valid_from, u.valid_to::text AS valid_to,
         ST_AsMVTGeom(ST_SimplifyPreserveTopology(ST_Transform(u.geom, 3857), %s),
                      ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) AS geom
  FROM ({src_sql}) src JOIN places_adminunit u ON u.id = src.id
) t WHERE t.geom IS NOT NULL"""  # noqa: S608  (src_sql is compiled by Django with parameters)
    return sql, [collection.id, tolerance, z, x, y, *params]


# --- sites -------------------------------------------------------------------------------------------------


def _sites_source(
    collection: SitesCollection,
    user,
    scope,
    z,
    x,
    y,
    columns: list[str],
    limit: int | None = None,
    margin: float = BUFFER / EXTENT,
):
    """SQL and parameters of the reader's sites whose box meets the tile (with its margin).

    Columns are places_site's, `g` being the geometry as stored. The two common scopes are
    written directly (no ORM compilation per tile); others come from site_list(user).
    """
    if scope is not None:
        select = ", ".join("geom AS g" if c == "g" else c for c in columns)
        box = ["geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)"]
        where, params = scope_filter(scope, collection.kind, box, list(tile_bounds(z, x, y, margin)))
        sql = f"SELECT {select} FROM places_site WHERE {' AND '.join(where)}"  # noqa: S608 (fixed names)
        if limit:
            sql += " LIMIT %s"
            params.append(limit)
        return sql, params
    # The geometry column as it is stored: a GeometryField in values() would be sent as bytea
    # (Django's select format) and cast back per row.
    raw = RawSQL('"places_site"."geom"', (), output_field=Field())
    qs = _bbox_filter(collection.rows(user), tile_bounds(z, x, y, margin)).annotate(g=raw).values(*columns)
    # No ORDER BY with the LIMIT: it would tempt the planner into walking the primary key
    # instead of the spatial index. The limit only tells "too many"; below it every row is in.
    qs = qs.order_by()[:limit] if limit else qs.order_by()
    return qs.query.sql_with_params()


# One cluster per (cell, kind) of the tile: its count, the id of a lone site, and the mean of
# its sites' Mercator coordinates rounded to the millimetre (integer sums, so the cells of
# migration 0002 add up to exactly what the rows give), placed on the tile's 4096 grid by
# arithmetic (a cluster's mean lies in its cell, so in the tile: nothing to clip).
CLUSTER_ROWS = """
  SELECT kind, n::int AS count, CASE WHEN n = 1 THEN first_id::bigint END AS id,
         ST_MakePoint(round((sx::float8 / n / 1000 - %s) * %s),
                      round((%s - sy::float8 / n / 1000) * %s)) AS geom"""


def _cluster_frame(z: int, x: int, y: int) -> tuple[list, list]:
    """(CLUSTER_ROWS parameters, [first cx, last cx, first cy, last cy]) of a tile."""
    width = WORLD / 2**z
    xmin, ymax = -WORLD / 2 + x * width, WORLD / 2 - y * width
    half = 2 ** (z + 5)  # cells from the origin to the edge of the Mercator square
    x0, y0 = x * GRID_CELLS - half, half - (y + 1) * GRID_CELLS
    scale = EXTENT / width
    return [xmin, scale, ymax, scale], [x0, x0 + GRID_CELLS - 1, y0, y0 + GRID_CELLS - 1]


def _clustered_live(collection: SitesCollection, user, scope, z: int, x: int, y: int) -> tuple[str, list]:
    """The clustered tile computed from the sites themselves (any zoom, any scope)."""
    # The box of the tile widened by a quarter cell (against rounding in the degrees); the
    # cells then decide which sites are the tile's.
    src_sql, params = _sites_source(
        collection, user, scope, z, x, y, ["id", "kind", "g"], margin=0.25 / GRID_CELLS
    )
    cell = WORLD / 2**z / GRID_CELLS
    frame, cells = _cluster_frame(z, x, y)
    # Web-Mercator metres by arithmetic (no per-row ST_Transform); GeometryType reads only the
    # header, so points cost one deserialisation. OFFSET 0 keeps the planner from inlining
    # (and so re-evaluating) the per-row expressions in the aggregate, and keeps the cell
    # filter above the aggregate (pushed below it, it hides the row count from the planner,
    # which then sorts instead of hashing).
    sql = f"""
SELECT ST_AsMVT(t, %s, {EXTENT}, 'geom') FROM ({CLUSTER_ROWS}
  FROM (
    SELECT kind, floor(mx / %s) AS cx, floor(my / %s) AS cy, count(*) AS n, min(id) AS first_id,
           sum(round(mx * 1000)::bigint) AS sx, sum(round(my * 1000)::bigint) AS sy
    FROM (
      SELECT s.id, s.kind,
             {R} * radians(ST_X({POINT})) AS mx,
             {R} * ln(tan(pi() / 4 + radians(ST_Y({POINT})) / 2)) AS my
      FROM ({src_sql}) s
      OFFSET 0
    ) merc
    GROUP BY 1, 2, 3
    OFFSET 0
  ) cells
  WHERE cx BETWEEN %s AND %s AND cy BETWEEN %s AND %s
  ORDER BY cx, cy, kind
) t"""  # noqa: S608
    return sql, [collection.id, *frame, cell, cell, *params, *cells]


def _clustered_cells(collection: SitesCollection, scope: str, z: int, x: int, y: int) -> tuple[str, list]:
    """The clustered tile from ogc_sitecell (migration 0002): the same bytes as _clustered_live,
    reading at most 64 × 64 cells per kind (and status) instead of every site of the tile."""
    frame, cells = _cluster_frame(z, x, y)
    where, params = scope_filter(
        scope, collection.kind, ["zoom = %s", "cx BETWEEN %s AND %s", "cy BETWEEN %s AND %s"], [z, *cells]
    )
    sql = f"""
SELECT ST_AsMVT(t, %s, {EXTENT}, 'geom') FROM ({CLUSTER_ROWS}
  FROM (
    SELECT cx, cy, kind, sum(n) AS n, sum(sid) AS first_id, sum(sx) AS sx, sum(sy) AS sy
    FROM ogc_sitecell WHERE {" AND ".join(where)}
    GROUP BY cx, cy, kind
  ) cells
  ORDER BY cx, cy, kind
) t"""  # noqa: S608  (fixed names)
    return sql, [collection.id, *frame, *params]


def _clustered_tile(
    collection: SitesCollection, user, z: int, x: int, y: int, scope=None
) -> tuple[str, list]:
    if scope is not None and z <= CELLS_MAX_ZOOM:
        return _clustered_cells(collection, scope, z, x, y)
    return _clustered_live(collection, user, scope, z, x, y)


def _detail_tile(collection: SitesCollection, user, scope, z: int, x: int, y: int) -> tuple[str, list]:
    """(count, tile): the tile of single sites, NULL when more than MAX_TILE_FEATURES (then clustered)."""
    columns = ["id", "kind", "name", "status", "commune_id", "g", "attributes"]
    src_sql, params = _sites_source(collection, user, scope, z, x, y, columns, limit=MAX_TILE_FEATURES + 1)
    tolerance = WORLD / 2**z / 1024
    # A kind's attributes are flat tile attributes (ST_AsMVT spreads a jsonb column's keys).
    attributes = ", s.attributes" if collection.kind else ""
    # Points go to Web Mercator by arithmetic (cheaper than ST_Transform, same spherical
    # formulas); OFFSET 0 keeps ST_AsMVTGeom from being evaluated twice (filter and output).
    sql = f"""
WITH src AS MATERIALIZED ({src_sql}), total AS (SELECT count(*) AS n FROM src)
SELECT n, CASE WHEN n <= %s THEN (SELECT ST_AsMVT(t, %s, {EXTENT}, 'geom', 'id') FROM (
  SELECT s.id, s.kind, s.name, s.status, c.code AS commune_code, 1 AS count{attributes},
         ST_AsMVTGeom(CASE WHEN GeometryType(s.g) = 'POINT'
                           THEN ST_SetSRID(ST_MakePoint(
                                    {R} * radians(ST_X(s.g)),
                                    {R} * ln(tan(pi() / 4 + radians(ST_Y(s.g)) / 2))), 3857)
                           ELSE ST_Simplify(ST_Transform(s.g, 3857), %s, true) END,
                      ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) AS geom
  FROM src s JOIN places_adminunit c ON c.id = s.commune_id
  ORDER BY s.id
  OFFSET 0
) t WHERE t.geom IS NOT NULL) END FROM total"""  # noqa: S608
    return sql, [*params, MAX_TILE_FEATURES, collection.id, tolerance, z, x, y]


# The data version (see data_version), read in the same statement as a tile.
VERSION_SQL = (
    "SELECT id::text || ':' || extract(epoch FROM at)::text FROM ogc_datachange ORDER BY id DESC LIMIT 1"
)


def _run(sql: str, params: list, with_version: bool) -> tuple[str | None, tuple]:
    if with_version:
        sql = f"SELECT ({VERSION_SQL}), q.* FROM ({sql}) q"  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    return ((row[0] or "0"), row[1:]) if with_version else (None, row)


def render_tile(collection: Collection, user, z: int, x: int, y: int, *, with_version: bool = False):
    """The tile's bytes; with `with_version`, (data version, bytes) read in one statement.

    One SQL statement per tile, except a detail tile over MAX_TILE_FEATURES (then a second
    one clusters it).
    """
    version, data = _render(collection, user, z, x, y, with_version)
    return (version, data) if with_version else data


def _render(
    collection: Collection, user, z: int, x: int, y: int, with_version: bool
) -> tuple[str | None, bytes]:
    if not isinstance(collection, SitesCollection):
        version, row = _run(*_units_tile(collection, user, z, x, y), with_version)
        return version, bytes(row[0] or b"")
    scope = site_scope(user)
    if z >= CLUSTER_BELOW_ZOOM:
        version, (count, tile) = _run(*_detail_tile(collection, user, scope, z, x, y), with_version)
        if count <= MAX_TILE_FEATURES:
            return version, bytes(tile or b"")
    version, row = _run(*_clustered_tile(collection, user, z, x, y, scope), with_version)
    return version, bytes(row[0] or b"")


def _layer(layer: str) -> Collection:
    collection = COLLECTIONS.get(layer)
    if collection is None or not collection.tiled:
        raise not_found(_("no tile layer '%(id)s'") % {"id": layer})
    return collection


def data_version() -> str:
    """The newest ogc_datachange row (id and time): changes whenever sites or units are written."""
    with connection.cursor() as cur:
        cur.execute(VERSION_SQL)
        row = cur.fetchone()
    return (row and row[0]) or "0"


def _etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip() for t in header.split(",")]
    return any(t.removeprefix("W/") == etag for t in tags)


def _public_keys(collection: Collection, z: int, x: int, y: int, version: str) -> tuple[str, str]:
    """(ETag, cache key) of a public tile at a data version."""
    key = hashlib.blake2b(f"{collection.id}/{z}/{x}/{y}@{version}".encode(), digest_size=16).hexdigest()
    return f'"v{key}"', f"ogc:tile:{key}"


@csrf_exempt  # read-only (require_safe): any other method is a 405, not a CSRF 403
@require_safe
@handles_errors
def tile(request, layer, z, x, y):
    collection = _layer(layer)
    check_params(request, set())
    if z > MAX_ZOOM:
        raise not_found(_("zoom %(z)s is above the maximum zoom %(max)s") % {"z": z, "max": MAX_ZOOM})
    if x >= 2**z or y >= 2**z:
        raise not_found(
            _("no tile %(x)s/%(y)s at zoom %(z)s (0…%(last)s)") % {"x": x, "y": y, "z": z, "last": 2**z - 1}
        )
    user = reader(request)
    public = not (user and user.is_authenticated)
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH", "")
    seconds = getattr(settings, "OGC_TILE_CACHE_SECONDS", 3600)
    if public and seconds:
        # What anonymous readers see depends on the data only: the tile is cached under the
        # data version and its ETag comes from that version, so a 304 renders nothing.
        # A hit costs one short statement (the version); a miss renders the tile and reads
        # the version it was rendered at in one more, and caches it under that version.
        state, data = "not-modified", b""
        etag, cache_key = _public_keys(collection, z, x, y, data_version())
        if not _etag_matches(if_none_match, etag):
            data = cache_get(cache_key)
            state = "hit"
            if data is None:
                version, data = render_tile(collection, user, z, x, y, with_version=True)
                etag, cache_key = _public_keys(collection, z, x, y, version)
                state = "miss"
                cache_set(cache_key, data, seconds)
    else:
        # A user's scope (role, agency, area) shapes the tile, or the cache is off: rendered each
        # time (one statement), ETag from the content.
        state, data = "bypass", render_tile(collection, user, z, x, y)
        etag = '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'
    cache_control = f"public, max-age={MAX_AGE_PUBLIC}" if public else f"private, max-age={MAX_AGE_PRIVATE}"
    if _etag_matches(if_none_match, etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(data, content_type=MVT)
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Vary": "Cookie, Authorization",
        "X-Tile-Cache": state,
    }
    for k, v in headers.items():
        response[k] = v
    return response


@csrf_exempt  # read-only (require_safe): any other method is a 405, not a CSRF 403
@require_safe
@handles_errors
def tilejson(request, layer):
    collection = _layer(layer)
    check_params(request, set())
    user = reader(request)
    meta = _collection_json(request, collection, user)
    template = request.build_absolute_uri(reverse("tiles:tile", args=[collection.id, 0, 0, 0]))
    template = template.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    bbox = meta["extent"]["spatial"]["bbox"]
    bounds = bbox[0] if bbox else [-180, -85.0511, 180, 85.0511]
    description = str(collection.description)
    if isinstance(collection, SitesCollection):
        description += " " + _(
            "Below zoom %(zoom)s, and in tiles with more than %(max)s sites, sites are clustered per kind "
            "on a 64 × 64 grid per tile, with a count."
        ) % {"zoom": CLUSTER_BELOW_ZOOM, "max": MAX_TILE_FEATURES}
    doc = {
        "tilejson": "3.0.0",
        "name": str(collection.title),
        "description": description,
        "version": "1.0.0",
        "attribution": "ChildSafe Map; boundaries: Open Development Mekong, CC BY-SA 4.0",
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": [round((bounds[0] + bounds[2]) / 2, 5), round((bounds[1] + bounds[3]) / 2, 5), 8],
        "vector_layers": [
            {
                "id": collection.id,
                "description": str(collection.title),
                "minzoom": 0,
                "maxzoom": MAX_ZOOM,
                "fields": collection.tile_fields(),
            }
        ],
    }
    return HttpResponse(json.dumps(doc, ensure_ascii=False), content_type="application/json")
