"""Mapbox Vector Tiles from PostGIS (ST_AsMVT over ST_TileEnvelope) and TileJSON 3.0.

Layers are the collections of ogc.collections, scoped to the reader exactly like
/ogcapi/ and /api/v1/sites/.

Generalisation per zoom:
- sites below CLUSTER_BELOW_ZOOM, or in any tile holding more than MAX_TILE_FEATURES
  sites, are clustered on a fixed Web-Mercator grid (64 × 64 cells per tile, aligned to
  the tile so each cell belongs to exactly one tile): one point per (cell, kind) at the
  mean position of its sites, with `count`; a cluster of one keeps its site `id`. The
  same data always gives the same tile. Lines and polygons are clustered by a point on
  their surface.
- at detail zooms lines and polygons are simplified to a quarter of a pixel
  (tile width / 1024) before ST_AsMVTGeom snaps them to the 4096 grid;
- administrative units are simplified the same way (ST_SimplifyPreserveTopology).

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
from django.core.cache import cache
from django.db import connection
from django.db.models import Field
from django.db.models.expressions import RawSQL
from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from .collections import COLLECTIONS, Collection, SitesCollection, UnitsCollection
from .common import check_params, handles_errors, not_found, reader
from .views import _collection_json

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 20
CLUSTER_BELOW_ZOOM = 11
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


def _units_tile(collection: Collection, user, z: int, x: int, y: int) -> bytes:
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
    with connection.cursor() as cur:
        cur.execute(sql, [collection.id, tolerance, z, x, y, *params])
        return bytes(cur.fetchone()[0] or b"")


def _sites_source(collection: SitesCollection, user, z, x, y, columns: list[str], limit: int | None = None):
    # The geometry column as it is stored: a GeometryField in values() would be sent as bytea
    # (Django's select format) and cast back per row.
    raw = RawSQL('"places_site"."geom"', (), output_field=Field())
    qs = _bbox_filter(collection.rows(user), tile_bounds(z, x, y)).annotate(g=raw).values(*columns)
    # No ORDER BY with the LIMIT: it would tempt the planner into walking the primary key
    # instead of the spatial index. The limit only tells "too many"; below it every row is in.
    qs = qs.order_by()[:limit] if limit else qs.order_by()
    return qs.query.sql_with_params()


def _clustered_tile(collection: SitesCollection, user, z: int, x: int, y: int) -> bytes:
    src_sql, params = _sites_source(collection, user, z, x, y, ["id", "kind", "g"])
    cell = WORLD / 2**z / GRID_CELLS
    # Web-Mercator metres by arithmetic (no per-row ST_Transform); GeometryType reads only the
    # header, so points cost one deserialisation. OFFSET 0 keeps the planner from inlining
    # (and so re-evaluating) the per-row expressions in the aggregate.
    sql = f"""
SELECT ST_AsMVT(t, %s, {EXTENT}, 'geom') FROM (
  SELECT kind, n::int AS count, CASE WHEN n = 1 THEN first_id END AS id,
         ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(ax, ay), 3857),
                      ST_TileEnvelope(%s, %s, %s), {EXTENT}, 0, true) AS geom
  FROM (
    SELECT kind, floor(mx / %s) AS cx, floor(my / %s) AS cy, count(*) AS n, min(id) AS first_id,
           sum(mx) / count(*) AS ax, sum(my) / count(*) AS ay
    FROM (
      SELECT s.id, s.kind,
             {R} * radians(ST_X({POINT})) AS mx,
             {R} * ln(tan(pi() / 4 + radians(ST_Y({POINT})) / 2)) AS my
      FROM ({src_sql}) s
      OFFSET 0
    ) merc
    GROUP BY 1, 2, 3
  ) cells
  ORDER BY cx, cy, kind
) t WHERE t.geom IS NOT NULL"""  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql, [collection.id, z, x, y, cell, cell, *params])
        return bytes(cur.fetchone()[0] or b"")


def _detail_tile(collection: SitesCollection, user, z: int, x: int, y: int) -> bytes | None:
    """Single sites, or None when the tile holds more than MAX_TILE_FEATURES (then it is clustered)."""
    columns = ["id", "kind", "name", "status", "commune_id", "g", "attributes"]
    src_sql, params = _sites_source(collection, user, z, x, y, columns, limit=MAX_TILE_FEATURES + 1)
    tolerance = WORLD / 2**z / 1024
    # A kind's attributes are flat tile attributes (ST_AsMVT spreads a jsonb column's keys).
    attributes = ", s.attributes" if collection.kind else ""
    sql = f"""
WITH src AS MATERIALIZED ({src_sql}), total AS (SELECT count(*) AS n FROM src)
SELECT n, CASE WHEN n <= %s THEN (SELECT ST_AsMVT(t, %s, {EXTENT}, 'geom', 'id') FROM (
  SELECT s.id, s.kind, s.name, s.status, c.code AS commune_code, 1 AS count{attributes},
         ST_AsMVTGeom(CASE WHEN GeometryType(s.g) = 'POINT' THEN ST_Transform(s.g, 3857)
                           ELSE ST_Simplify(ST_Transform(s.g, 3857), %s, true) END,
                      ST_TileEnvelope(%s, %s, %s), {EXTENT}, {BUFFER}, true) AS geom
  FROM src s JOIN places_adminunit c ON c.id = s.commune_id
  ORDER BY s.id
) t WHERE t.geom IS NOT NULL) END FROM total"""  # noqa: S608
    with connection.cursor() as cur:
        cur.execute(sql, [*params, MAX_TILE_FEATURES, collection.id, tolerance, z, x, y])
        count, tile = cur.fetchone()
    if count > MAX_TILE_FEATURES:
        return None
    return bytes(tile or b"")


def render_tile(collection: Collection, user, z: int, x: int, y: int) -> bytes:
    if not isinstance(collection, SitesCollection):
        return _units_tile(collection, user, z, x, y)
    if z >= CLUSTER_BELOW_ZOOM:
        tile = _detail_tile(collection, user, z, x, y)
        if tile is not None:
            return tile
    return _clustered_tile(collection, user, z, x, y)


def _layer(layer: str) -> Collection:
    collection = COLLECTIONS.get(layer)
    if not isinstance(collection, UnitsCollection | SitesCollection):
        raise not_found(_("no tile layer '%(id)s'") % {"id": layer})
    return collection


def data_version() -> str:
    """The newest ogc_datachange row (id and time): changes whenever sites or units are written."""
    with connection.cursor() as cur:
        cur.execute("SELECT id, at FROM ogc_datachange ORDER BY id DESC LIMIT 1")
        row = cur.fetchone()
    return f"{row[0]}:{row[1].isoformat()}" if row else "0"


def _etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip() for t in header.split(",")]
    return any(t.removeprefix("W/") == etag for t in tags)


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
        key = hashlib.blake2b(f"{collection.id}/{z}/{x}/{y}@{data_version()}".encode(), digest_size=16)
        etag = f'"v{key.hexdigest()}"'
        cache_key = f"ogc:tile:{key.hexdigest()}"
        state, data = "not-modified", b""
        if not _etag_matches(if_none_match, etag):
            data = cache.get(cache_key)
            state = "hit"
            if data is None:
                state, data = "miss", render_tile(collection, user, z, x, y)
                cache.set(cache_key, data, seconds)
    else:
        # A user's scope (role, agency, area) shapes the tile, or the cache is off: rendered each
        # time, ETag from the content.
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
