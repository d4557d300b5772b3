"""Indicator collections: maps.indicators.indicator_table on today's 38 communes, as features.

`indicators-<name>` for each indicator of maps.indicators.INDICATORS. The values come from
indicator_table(user=reader), so incident numbers are suppressed for anyone who may not see
single records (incidents.suppression), and site numbers are scoped like every site list.
`datetime` chooses the period (an interval a/b; an instant or a date is a one-day period;
open ends take indicator_table's defaults: up to today, a year back).
"""

import json
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext_lazy as _

from maps.indicators import INDICATORS, indicator_table

from .collections import CRS84, GREGORIAN, NEW_STRUCTURE_DAY, Collection, UnitsCollection, units_in_box
from .common import Interval

FEATURES_SQL = """
SELECT count(*), coalesce(json_agg(json_build_object(
    'type', 'Feature',
    'id', u.id,
    'geometry', ST_AsGeoJSON(u.geom, 6)::json,
    'properties', p.props::json
) ORDER BY p.ord), '[]'::json)::text
FROM unnest(%s::bigint[], %s::text[]) WITH ORDINALITY AS p(id, props, ord)
JOIN places_adminunit u ON u.id = p.id
"""


@dataclass(frozen=True)
class IndicatorCollection(Collection):
    indicator: str = "coverage"
    layer_type = "indicators"

    def _units(self):
        return UnitsCollection("units-2025", "", "", day=NEW_STRUCTURE_DAY)

    def _table(self, user, interval: Interval | None):
        date_from = interval.start.date() if interval and interval.start else None
        date_to = interval.end.date() if interval and interval.end else None
        reader = user if user is not None and user.is_authenticated else None
        return indicator_table(
            self.indicator, level="commune", date_from=date_from, date_to=date_to, user=reader
        ), (date_from, date_to)

    def _rows(self, user, *, bbox, interval, ids=None):
        rows, _period = self._table(user, interval)
        spec = INDICATORS[self.indicator]
        if bbox is not None:
            inside = units_in_box(NEW_STRUCTURE_DAY, bbox)
            rows = [r for r in rows if r.unit_id in inside]
        if ids is not None:
            rows = [r for r in rows if r.unit_id in ids]
        out = []
        for r in rows:
            props = r.as_dict()
            props.update(indicator=spec.name, label=str(spec.label), unit=str(spec.unit))
            out.append((r.unit_id, props))
        return out

    def page(self, user, *, bbox, interval, limit: int, offset: int) -> tuple[int, int, str]:
        rows = self._rows(user, bbox=bbox, interval=interval)
        chosen = rows[offset : offset + limit]
        returned, features = unit_features(chosen)
        return len(rows), returned, features

    def single(self, user, feature_id: int) -> str | None:
        rows = self._rows(user, bbox=None, interval=None, ids={feature_id})
        returned, features = unit_features(rows)
        return features[1:-1] if returned else None

    def extent(self, user) -> dict:
        extent = self._units().extent(user)
        return {"spatial": extent["spatial"], "temporal": {"interval": [[None, None]], "trs": GREGORIAN}}

    def tile_fields(self) -> dict[str, str]:
        return {}


def unit_features(rows) -> tuple[int, str]:
    ids = [unit_id for unit_id, _props in rows]
    props = [json.dumps(p, ensure_ascii=False, default=str) for _unit_id, p in rows]
    with connection.cursor() as cur:
        cur.execute(FEATURES_SQL, [ids, props])
        return cur.fetchone()


def indicator_collections() -> list[Collection]:
    return [
        IndicatorCollection(
            f"indicators-{spec.name}",
            spec.label,
            _("Indicator per commune (today's 38 communes); small incident numbers are hidden."),
            indicator=spec.name,
        )
        for spec in INDICATORS.values()
    ]


__all__ = ["CRS84", "IndicatorCollection", "indicator_collections", "unit_features"]
