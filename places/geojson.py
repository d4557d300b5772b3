"""GeoJSON of sites built in PostGIS (json_build_object + ST_AsGeoJSON).

Serialising 10^4 features through Python objects costs seconds; PostgreSQL
writes the same FeatureCollection text in a fraction of that (bench/README.md).
"""

from collections.abc import Sequence

from django.contrib.gis.geos import Point
from django.db import connection

FEATURE_SQL = """
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature',
    'id', s.id,
    'geometry', ST_AsGeoJSON(s.geom, 6)::json,
    'properties', json_build_object(
        'id', s.id,
        'kind', s.kind,
        'name', s.name,
        'description', s.description,
        'status', s.status,
        'commune_code', c.code,
        'commune_name', c.name,
        'length_m', round(s.length_m::numeric, 1),
        'source', s.source,
        'external_id', s.external_id,
        'attributes', s.attributes,
        'updated_at', s.updated_at
        {extra}
    )
) ORDER BY p.ord), '[]'::json)::text
FROM unnest(%s::bigint[]) WITH ORDINALITY AS p(id, ord)
JOIN places_site s ON s.id = p.id
JOIN places_adminunit c ON c.id = s.commune_id
"""


def site_features_json(ids: Sequence[int], *, near: Point | None = None) -> str:
    """A JSON array of Feature objects for `ids`, in that order."""
    extra, params = "", [list(ids)]
    if near is not None:
        extra = ", 'distance_m', round(ST_Distance(s.geom::geography, ST_GeomFromEWKB(%s)::geography)::numeric, 1)"  # noqa: E501
        params = [bytes(near.ewkb), list(ids)]
    with connection.cursor() as cur:
        cur.execute(FEATURE_SQL.format(extra=extra), params)
        return cur.fetchone()[0]
