"""Map data: an indicator classified and joined to unit boundaries (GeoJSON built in PostGIS),
and the boundaries of the level above. Shared by the API, the pages and the export command."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from django.db import connection
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .classify import Classification, classify
from .indicators import (
    INDICATORS,
    NEW_STRUCTURE,
    indicator_table,
    period,
    privacy_footnote,
    risk_weights,
    unit_structure,
)

DEFAULT_PALETTE = {
    "coverage": "YlGnBu",
    "overdue_assignments": "Purples",
    "open_actions": "Purples",
    "overdue_actions": "Purples",
}
# Boundaries are simplified in metres (on UTM 48N) before they travel: ~50 m is invisible at
# the district zoom and shrinks the province's polygons about tenfold.
DEFAULT_SIMPLIFY_M = 50.0

# Display geometry: the fixtures' dissolved units carry many sliver holes (gaps between the
# old communes' polygons); holes under HOLE_MIN_M2 are dropped for drawing, real enclaves kept.
HOLE_MIN_M2 = 500_000
GEOMETRY_SQL = """
SELECT u.id, ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology(ST_Transform(
         (SELECT ST_Collect(ST_MakePolygon(ST_ExteriorRing(d.geom), ARRAY(
                   SELECT ST_ExteriorRing(r.geom) FROM ST_DumpRings(d.geom) r
                    WHERE r.path[1] > 0 AND ST_Area(r.geom::geography) >= %s)))
            FROM ST_Dump(u.geom) d), 32648), %s), 4326), 5)
  FROM places_adminunit u
 WHERE u.id = ANY(%s) AND (%s::geometry IS NULL OR u.geom && %s::geometry)
"""


def unit_geometries(ids: list[int], *, simplify_m: float = DEFAULT_SIMPLIFY_M, bbox=None) -> dict[int, str]:
    """GeoJSON geometry text per unit id; with `bbox` (a GEOS polygon) only units touching it."""
    box = bytes(bbox.ewkb) if bbox is not None else None
    with connection.cursor() as cur:
        cur.execute(GEOMETRY_SQL, [HOLE_MIN_M2, simplify_m, list(ids), box, box])
        return dict(cur.fetchall())


@dataclass
class Choropleth:
    indicator: str
    level: str
    date_from: date
    date_to: date
    structure: str
    classification: Classification
    collection: dict  # GeoJSON FeatureCollection

    @property
    def legend(self):
        return self.classification.legend()


def _display(value, suppressed: bool, unit: str) -> str:
    if suppressed:
        return "x"
    if value is None:
        return _("No data")
    text = (
        f"{value:,.1f}".rstrip("0").rstrip(".").replace(",", " ") if isinstance(value, float) else str(value)
    )
    return f"{text} {unit}".strip() if unit not in ("", "0–100") else text


def choropleth(
    indicator: str,
    *,
    level: str,
    date_from: date | None = None,
    date_to: date | None = None,
    user=None,
    kind: str | None = None,
    agency=None,
    area=None,
    restate: bool = True,
    method: str = "quantiles",
    k: int = 5,
    breaks: list[float] | None = None,
    palette: str | None = None,
    bbox=None,
    simplify_m: float = DEFAULT_SIMPLIFY_M,
    page_url: str | None = None,
) -> Choropleth:
    """The indicator per unit, classified (over all units shown), as GeoJSON with value, class and
    colour per feature. With `bbox`, only features touching it (classes still from all units)."""
    date_from, date_to = period(date_from, date_to)
    rows = indicator_table(
        indicator,
        level=level,
        date_from=date_from,
        date_to=date_to,
        user=user,
        kind=kind,
        agency=agency,
        area=area,
        restate=restate,
    )
    spec = INDICATORS[indicator]
    classes = classify(
        [r.value for r in rows],
        method=method,
        k=k,
        breaks=breaks,
        palette=palette or DEFAULT_PALETTE.get(indicator, "YlOrRd"),
        hidden=[r.suppressed for r in rows],
    )
    geometries = unit_geometries([r.unit_id for r in rows], simplify_m=simplify_m, bbox=bbox)
    english = (get_language() or "vi").startswith("en")
    page_url = page_url or reverse("maps:index")
    structure = unit_structure(level, date_to, restate)
    features = []
    for r, cls in zip(rows, classes.assigned, strict=True):
        if r.unit_id not in geometries:
            continue
        params = {
            "indicator": indicator,
            "from": date_from.isoformat(),
            "to": date_to.isoformat(),
            "area": r.code,
        }
        if not restate:
            params["restate"] = "false"
        drill = None
        if level == "district":
            drill = page_url + "?" + urlencode({**params, "level": "commune"})
        elif level == "province":
            drill = page_url + "?" + urlencode({**params, "level": "district"})
        features.append(
            {
                "type": "Feature",
                "id": r.code,
                "geometry": json.loads(geometries[r.unit_id]),
                "properties": {
                    "code": r.code,
                    "name": r.name_en if english else r.name,
                    "name_vi": r.name,
                    "name_en": r.name_en,
                    "level": r.level,
                    "parent_code": r.parent_code,
                    "value": r.value,
                    "display": _display(r.value, r.suppressed, str(spec.unit)),
                    "suppressed": r.suppressed,
                    "class": cls,
                    "class_label": classes.classes[cls].label
                    if cls is not None
                    else (classes.hidden.label if r.suppressed else classes.no_data.label),
                    "color": classes.color_of(r.value, r.suppressed),
                    "numerator": r.numerator,
                    "denominator": r.denominator,
                    "parts": r.parts,
                    "detail_url": reverse("maps:unit", args=[r.code])
                    + "?"
                    + urlencode({"level": r.level, "structure": structure}),
                    "drill_url": drill,
                },
            }
        )
    meta = {
        "indicator": indicator,
        "label": str(spec.label),
        "unit": str(spec.unit),
        "formula": str(spec.formula),
        "level": level,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "structure": structure,
        "restated": structure == "new" and date_to < NEW_STRUCTURE,
        "method": classes.method,
        "limits": classes.limits,
        "legend": [e.as_dict() for e in classes.legend()],
        "footnote": privacy_footnote() if classes.hidden.count else "",
        "weights": risk_weights() if indicator == "risk" else None,
    }
    return Choropleth(
        indicator=indicator,
        level=level,
        date_from=date_from,
        date_to=date_to,
        structure=structure,
        classification=classes,
        collection={"type": "FeatureCollection", "features": features, "meta": meta},
    )


def upper_boundaries(level: str, structure: str, *, simplify_m: float = DEFAULT_SIMPLIFY_M) -> dict:
    """Outlines of the level above (districts over old communes, the province otherwise)."""
    above = "district" if (level == "commune" and structure == "old") else "province"
    if level == "province":
        return {"type": "FeatureCollection", "features": []}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT code, name, ST_AsGeoJSON(ST_Transform(ST_SimplifyPreserveTopology("
            "ST_Transform(ST_Boundary(geom), 32648), %s), 4326), 5) FROM places_adminunit WHERE level = %s",
            [simplify_m, above],
        )
        rows = cur.fetchall()
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": json.loads(g), "properties": {"code": c, "name": n}}
            for c, n, g in rows
        ],
    }
