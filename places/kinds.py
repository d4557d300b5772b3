"""What each kind of site is: its allowed geometry types and its attributes.

This table drives validation in the services, the import, the API schema and the
database CHECK constraint on geometry types (migration 0002).
"""

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Attr:
    name: str
    type: type  # str, int, float, bool, date, list
    label: str
    required: bool = False
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class KindSpec:
    code: str
    label: str
    geometry_types: tuple[str, ...]  # GEOS geom_type names
    attributes: tuple[Attr, ...] = field(default_factory=tuple)

    def attribute(self, name: str) -> Attr | None:
        return next((a for a in self.attributes if a.name == name), None)


WATER_TYPES = ("river", "stream", "pond", "lake", "reservoir", "canal", "well", "flooded_pit", "other")
DEPTH_CLASSES = ("under_0_5m", "0_5_to_1_5m", "over_1_5m", "unknown")
SURFACES = ("grass", "sand", "rubber", "concrete", "earth", "other")

KINDS: dict[str, KindSpec] = {
    spec.code: spec
    for spec in [
        KindSpec(
            "drowning_hotspot",
            _("Drowning hotspot"),
            ("Point", "Polygon", "MultiPolygon"),
            (
                Attr("water_type", str, _("Water type"), required=True, choices=WATER_TYPES),
                Attr("depth_class", str, _("Depth class"), choices=DEPTH_CLASSES),
                Attr("fenced", bool, _("Fenced")),
                Attr("warning_sign", bool, _("Warning sign")),
                Attr("rescue_equipment", bool, _("Rescue equipment")),
            ),
        ),
        KindSpec(
            "school",
            _("School"),
            ("Point",),
            (
                Attr(
                    "level",
                    str,
                    _("School level"),
                    choices=("preschool", "primary", "lower_secondary", "upper_secondary", "multi_level"),
                ),
                Attr("pupils", int, _("Pupils"), min=0),
                Attr("boarding", bool, _("Boarding school")),
            ),
        ),
        KindSpec(
            "school_route",
            _("School transport route"),
            ("LineString", "MultiLineString"),
            (
                Attr("school", str, _("School served"), required=True),
                Attr("vehicle_operator", str, _("Vehicle operator")),
                Attr(
                    "vehicle_type",
                    str,
                    _("Vehicle type"),
                    choices=("bus", "minibus", "boat", "motorbike", "walking", "other"),
                ),
                Attr("pupils", int, _("Pupils carried"), min=0),
            ),
        ),
        KindSpec(
            "playground",
            _("Playground"),
            ("Point", "Polygon", "MultiPolygon"),
            (
                Attr("equipment", list, _("Equipment")),
                Attr("surface", str, _("Surface"), choices=SURFACES),
                Attr("access", str, _("Public or school"), required=True, choices=("public", "school")),
            ),
        ),
        KindSpec(
            "construction_site",
            _("Construction site"),
            ("Polygon", "MultiPolygon", "Point"),
            (
                Attr("permit_number", str, _("Permit number"), required=True),
                Attr("contractor", str, _("Contractor"), required=True),
                Attr("start_date", date, _("Start date")),
                Attr("end_date", date, _("End date")),
                Attr("fenced", bool, _("Fenced")),
            ),
        ),
        KindSpec(
            "village",
            _("Village"),
            ("Point",),
            (
                Attr("child_count", int, _("Children aged 0–15"), required=True, min=0),
                Attr("households", int, _("Households"), min=0),
            ),
        ),
    ]
}

KIND_CHOICES = [(spec.code, spec.label) for spec in KINDS.values()]

# PostGIS GeometryType() names for the CHECK constraint.
POSTGIS_TYPE_NAMES = {
    "Point": "POINT",
    "LineString": "LINESTRING",
    "MultiLineString": "MULTILINESTRING",
    "Polygon": "POLYGON",
    "MultiPolygon": "MULTIPOLYGON",
}


def geometry_check_sql() -> str:
    """The CHECK expression that ties each kind to its geometry types."""
    cases = " ".join(
        f"WHEN '{spec.code}' THEN GeometryType(geom) IN ("
        + ", ".join(f"'{POSTGIS_TYPE_NAMES[t]}'" for t in spec.geometry_types)
        + ")"
        for spec in KINDS.values()
    )
    return f"CASE kind {cases} ELSE false END"
