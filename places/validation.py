"""Per-kind validation of a site's geometry and attributes, shared by the API,
the admin and the file import. Messages name the field and say what is wrong."""

import math
from datetime import date

import shapely
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.utils.translation import gettext as _

from .kinds import KINDS

LON_RANGE = (-180.0, 180.0)
LAT_RANGE = (-90.0, 90.0)
# A site is a pond, a yard or a route, not a coastline: far more vertices would slow every map,
# tile and export of its area (an honest school route has a few thousand).
MAX_VERTICES = 100_000


class SiteInvalid(Exception):
    """A site that cannot be stored; `errors` maps a field name to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def too_many_vertices(count: int) -> str:
    return _("too many vertices: %(count)d (at most %(max)d); simplify the geometry") % {
        "count": count,
        "max": MAX_VERTICES,
    }


def clean_kind(kind) -> str:
    if not kind:
        raise SiteInvalid({"kind": [_("missing kind")]})
    kind = str(kind).strip()
    if kind not in KINDS:
        raise SiteInvalid(
            {
                "kind": [
                    _("unknown kind '%(kind)s' (expected one of: %(choices)s)")
                    % {"kind": kind, "choices": ", ".join(KINDS)}
                ]
            }
        )
    return kind


def _coords_out_of_range(extent: tuple[float, float, float, float]) -> bool:
    xmin, ymin, xmax, ymax = extent
    return not (LON_RANGE[0] <= xmin <= xmax <= LON_RANGE[1] and LAT_RANGE[0] <= ymin <= ymax <= LAT_RANGE[1])


def _has_non_finite(extent: tuple[float, float, float, float]) -> bool:
    return not all(math.isfinite(v) for v in extent)


def _polygonal_or_linear_part(geom: GEOSGeometry, wanted: tuple[str, ...]) -> GEOSGeometry | None:
    """After MakeValid a polygon can come back as a collection: keep the wanted parts."""
    if geom.geom_type in wanted:
        return geom
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in geom if g.geom_type in ("Polygon", "MultiPolygon")]
        if polys and "MultiPolygon" in wanted:
            merged = polys[0]
            for p in polys[1:]:
                merged = merged.union(p)
            return merged if merged.geom_type in wanted else None
    if geom.geom_type == "MultiPolygon" and len(geom) == 1 and "Polygon" in wanted:
        return geom[0]
    return None


def clean_geometry(kind: str, geom: GEOSGeometry | None, *, make_valid: bool = False) -> GEOSGeometry:
    """Check a geometry for `kind`; return it in EPSG:4326, 2-D.

    `geom.srid` is the CRS the source declared (None: assumed lon/lat); a declared
    CRS other than 4326 is reprojected. Invalid geometry is repaired with MakeValid
    only when asked, otherwise rejected with GEOS's reason.
    """
    spec = KINDS[kind]
    if geom is None or geom.empty:
        raise SiteInvalid({"geometry": [_("empty geometry")]})
    if geom.num_points > MAX_VERTICES:
        raise SiteInvalid({"geometry": [too_many_vertices(geom.num_points)]})
    # GEOS walks every vertex for the extent: compute it once, again only after a reprojection.
    extent = geom.extent
    if _has_non_finite(extent):
        raise SiteInvalid({"geometry": [_("coordinates are not finite numbers (NaN or infinity)")]})
    if geom.srid and geom.srid != 4326:
        try:
            geom = geom.transform(4326, clone=True)
            extent = geom.extent
        except (GEOSException, GDALException) as exc:
            raise SiteInvalid(
                {
                    "geometry": [
                        _("cannot reproject from EPSG:%(srid)s: %(error)s")
                        % {"srid": geom.srid, "error": exc}
                    ]
                }
            ) from exc
    geom.srid = 4326
    if geom.hasz:
        geom = GEOSGeometry(_force_2d(geom), srid=4326)
    if _coords_out_of_range(extent):
        raise SiteInvalid(
            {
                "geometry": [
                    _(
                        "coordinates outside longitude −180…180 / latitude −90…90 "
                        "(a projected CRS not declared in the file?)"
                    )
                ]
            }
        )
    # An invalid polygon may still become the wanted type through MakeValid below.
    if geom.geom_type not in spec.geometry_types and not (make_valid and not geom.valid):
        raise SiteInvalid(
            {
                "geometry": [
                    _("wrong geometry type for %(kind)s: %(got)s (expected %(expected)s)")
                    % {"kind": kind, "got": geom.geom_type, "expected": ", ".join(spec.geometry_types)}
                ]
            }
        )
    if not geom.valid:
        if not make_valid:
            raise SiteInvalid(
                {"geometry": [_("invalid geometry: %(reason)s") % {"reason": geom.valid_reason}]}
            )
        repaired = _polygonal_or_linear_part(geom.make_valid(), spec.geometry_types)
        if repaired is None or repaired.empty or not repaired.valid:
            raise SiteInvalid(
                {
                    "geometry": [
                        _("invalid geometry that MakeValid cannot turn into %(expected)s")
                        % {"expected": ", ".join(spec.geometry_types)}
                    ]
                }
            )
        repaired.srid = 4326
        geom = repaired
    return _outer_rings_counter_clockwise(geom)


def _outer_rings_counter_clockwise(geom: GEOSGeometry) -> GEOSGeometry:
    """Store polygons the RFC 7946 way (outer rings counter-clockwise, holes clockwise).

    Shapefiles and many GIS tools write outer rings clockwise; the orientation carries no
    meaning here, so it is normalised rather than refused, and GeoJSON out is conformant.
    """
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return geom
    shape = shapely.from_wkb(bytes(geom.wkb))
    oriented = shapely.orient_polygons(shape, exterior_cw=False)
    if shapely.equals_exact(shape, oriented, tolerance=0):
        return geom
    out = GEOSGeometry(memoryview(shapely.to_wkb(oriented)), srid=4326)
    return out


def _force_2d(geom: GEOSGeometry) -> str:
    from django.contrib.gis.geos import WKBWriter

    writer = WKBWriter()
    writer.outdim = 2
    return writer.write_hex(geom)


def _coerce(attr, value):
    if attr.type is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "y", "có", "co", "x"}:
            return True
        if text in {"0", "false", "no", "n", "không", "khong"}:
            return False
        raise ValueError(_("expected yes/no"))
    if attr.type is int:
        if isinstance(value, bool):
            raise ValueError(_("expected a whole number"))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(_("expected a whole number")) from None
        return number
    if attr.type is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(_("expected a number")) from None
    if attr.type is date:
        try:
            return date.fromisoformat(str(value).strip()[:10]).isoformat()
        except ValueError:
            raise ValueError(_("expected a date YYYY-MM-DD")) from None
    if attr.type is list:
        if isinstance(value, list):
            return [str(v).strip() for v in value if str(v).strip()]
        return [part.strip() for part in str(value).replace(";", ",").split(",") if part.strip()]
    return str(value).strip()


def clean_attributes(kind: str, raw: dict | None, *, ignore_unknown: bool = False) -> dict:
    """Validate kind-specific attributes; unknown names are refused (typos must not vanish)."""
    spec = KINDS[kind]
    raw = dict(raw or {})
    errors: dict[str, list[str]] = {}
    clean = {}
    for name, value in raw.items():
        attr = spec.attribute(name)
        if attr is None:
            if not ignore_unknown:
                errors.setdefault(name, []).append(
                    _("unknown attribute for %(kind)s (allowed: %(allowed)s)")
                    % {"kind": kind, "allowed": ", ".join(a.name for a in spec.attributes)}
                )
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            value = _coerce(attr, value)
        except ValueError as exc:
            errors.setdefault(name, []).append(str(exc))
            continue
        if attr.choices and value not in attr.choices:
            errors.setdefault(name, []).append(
                _("'%(value)s' is not one of: %(choices)s")
                % {"value": value, "choices": ", ".join(attr.choices)}
            )
            continue
        if attr.min is not None and value < attr.min:
            errors.setdefault(name, []).append(_("must be at least %(min)s") % {"min": attr.min})
            continue
        if attr.max is not None and value > attr.max:
            errors.setdefault(name, []).append(_("must be at most %(max)s") % {"max": attr.max})
            continue
        clean[name] = value
    for attr in spec.attributes:
        if attr.required and attr.name not in clean and attr.name not in errors:
            errors.setdefault(attr.name, []).append(_("required for %(kind)s") % {"kind": kind})
    if "start_date" in clean and "end_date" in clean and clean["end_date"] < clean["start_date"]:
        errors.setdefault("end_date", []).append(_("ends before it starts"))
    if errors:
        raise SiteInvalid(errors)
    return clean
