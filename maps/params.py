"""Query parameters of the indicator API and the map pages: a bad value is a 400 naming it."""

from django.contrib.gis.geos import Polygon
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from core.params import bool_param, choice_param, date_param, int_param

from .classify import METHODS, PALETTES
from .indicators import INDICATORS, LEVELS

MAP_PARAMS = {
    "indicator",
    "level",
    "from",
    "to",
    "kind",
    "agency",
    "area",
    "restate",
    "classes",
    "k",
    "breaks",
    "palette",
    "bbox",
}


def parse_breaks(text: str | None) -> list[float] | None:
    if not text:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValidationError(
            {"breaks": [_("expected numbers separated by commas, got '%(t)s'") % {"t": text}]}
        ) from None


def parse_bbox(text: str | None) -> Polygon | None:
    if not text:
        return None
    try:
        x0, y0, x1, y1 = (float(x) for x in text.split(","))
    except ValueError:
        raise ValidationError(
            {"bbox": [_("expected min_lon,min_lat,max_lon,max_lat, got '%(t)s'") % {"t": text}]}
        ) from None
    if not (-180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
        raise ValidationError({"bbox": [_("the box must have min < max within longitude/latitude bounds")]})
    return Polygon.from_bbox((x0, y0, x1, y1))


def map_params(request, *, default_indicator: str | None = None, default_level: str = "commune") -> dict:
    """Keyword arguments for layers.choropleth from a DRF request (query_params)."""
    indicator = choice_param(request, "indicator", list(INDICATORS), default_indicator)
    if indicator is None:
        raise ValidationError({"indicator": [_("required (one of: %(a)s)") % {"a": ", ".join(INDICATORS)}]})
    date_from, date_to = date_param(request, "from"), date_param(request, "to")
    if date_from and date_to and date_from > date_to:
        raise ValidationError({"from": [_("the period starts after it ends")]})
    return {
        "indicator": indicator,
        "level": choice_param(request, "level", list(LEVELS), default_level),
        "date_from": date_from,
        "date_to": date_to,
        "kind": request.query_params.get("kind") or None,
        "agency": request.query_params.get("agency") or None,
        "area": request.query_params.get("area") or None,
        "restate": bool_param(request, "restate") if "restate" in request.query_params else True,
        "method": choice_param(request, "classes", list(METHODS), "quantiles"),
        "k": int_param(request, "k", 5, minimum=1, maximum=7),
        "breaks": parse_breaks(request.query_params.get("breaks")),
        "palette": choice_param(request, "palette", list(PALETTES)),
        "bbox": parse_bbox(request.query_params.get("bbox")),
    }
