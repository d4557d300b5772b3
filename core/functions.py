"""PostGIS functions Django does not ship, as tiny GeoFunc subclasses."""

from django.contrib.gis.db.models.functions import GeomOutputGeoFunc


class SimplifyPreserveTopology(GeomOutputGeoFunc):
    """ST_SimplifyPreserveTopology(geom, tolerance): tolerance in the geometry's units."""

    function = "ST_SimplifyPreserveTopology"
    geom_param_pos = (0,)


class Multi(GeomOutputGeoFunc):
    """ST_Multi(geom): keep a MultiPolygon column's type after simplification."""

    function = "ST_Multi"
