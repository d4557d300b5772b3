"""Serializer pieces shared by the APIs."""

from django.contrib.gis.geos import Point
from rest_framework import serializers


class LonLatSerializer(serializers.Serializer):
    """A position as {"lon": …, "lat": …} in WGS 84 degrees."""

    lon = serializers.FloatField(min_value=-180, max_value=180)
    lat = serializers.FloatField(min_value=-90, max_value=90)


def to_point(value: dict | None) -> Point | None:
    """The validated {"lon", "lat"} of a LonLatSerializer as a Point (SRID 4326), or None."""
    return Point(value["lon"], value["lat"], srid=4326) if value else None
