"""The collections served by the OGC API and the vector tiles, one registry for both.

- `units-2024`: the administrative units in force until 30/06/2025 (province, 8
  districts, 106 communes); `units-2025`: from 01/07/2025 (province, 38 communes).
  Temporal property: the unit's validity period.
- `sites`: every site the reader may see; `sites-<kind>`: one kind, with the kind's
  attributes as flat properties. Temporal property: `updated_at`. Scoped through
  places.selectors.site_list(user), exactly as /api/v1/sites/.

Each collection gives a queryset of its rows for a reader (filters applied in SQL by
Django) and the SQL that turns a page of ids into GeoJSON Features in PostGIS.
"""

import functools
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.db.models import Extent
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import connection
from django.db.models import Max, Min, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from places.kinds import KINDS
from places.models import AdminUnit, Site, SiteStatus
from places.selectors import admin_unit_list, site_list

from .common import Interval

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
OLD_STRUCTURE_DAY = date(2025, 6, 30)
NEW_STRUCTURE_DAY = date(2025, 7, 1)


def bbox_geometry(bbox: tuple[float, float, float, float]):
    xmin, ymin, xmax, ymax = bbox
    if xmin <= xmax:
        geom = Polygon.from_bbox((xmin, ymin, xmax, ymax))
    else:  # across the antimeridian: two boxes
        geom = MultiPolygon(
            Polygon.from_bbox((xmin, ymin, 180, ymax)), Polygon.from_bbox((-180, ymin, xmax, ymax))
        )
    geom.srid = 4326
    return geom


# --- which readers the precomputed cells and counts serve ----------------------------------------------

ACTIVE, EVERY = "active", "every"


@functools.cache
def _scope_wheres() -> dict:
    return {
        EVERY: Site.objects.all().query.where,
        ACTIVE: Site.objects.filter(status=SiteStatus.ACTIVE).query.where,
    }


def site_scope(user) -> str | None:
    """ACTIVE when the reader's sites (places.selectors.site_list) are exactly the active ones
    (anonymous readers, users without a profile), EVERY when they are all sites (coordinators,
    administrators, planners), else None (a scope by agency or area: rendered from the rows).

    Decided by comparing site_list's own filter, so a change of the scoping rules can only
    send readers to the row-by-row path, never show them more.
    """
    if not (user and user.is_authenticated):
        return _anonymous_scope()
    return _scope_of(site_list(user=user).query.where)


@functools.cache
def _anonymous_scope() -> str | None:
    # What anonymous readers see depends on the code only: decided once per process.
    return _scope_of(site_list(user=AnonymousUser()).query.where)


def scope_filter(scope: str, kind: str | None, where: list[str], params: list) -> tuple[list[str], list]:
    """`where` and `params` with the conditions of a precomputed scope and a kind added (for SQL
    over places_site or the tables kept from it, which share the `status` and `kind` columns)."""
    if scope == ACTIVE:
        where.append("status = %s")
        params.append(SiteStatus.ACTIVE.value)
    if kind:
        where.append("kind = %s")
        params.append(kind)
    return where, params


def _scope_of(where) -> str | None:
    for scope, known in _scope_wheres().items():
        if where == known:
            return scope
    return None


def units_in_box(day: date, bbox) -> set[int]:
    """Ids of the units in force on `day` whose shape meets the box (for collections of units)."""
    units = admin_unit_list(valid_on=day).filter(geom__intersects=bbox_geometry(bbox))
    return set(units.values_list("id", flat=True))


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str

    # Overridden below.
    layer_type = ""
    tiled = False  # served as vector tiles too (ogc.tiles)

    def visible(self, user) -> bool:
        """Whether the reader may see the collection at all (else it answers 404)."""
        return True

    def rows(self, user) -> QuerySet:
        raise NotImplementedError

    def filtered(self, user, *, bbox=None, interval: Interval | None = None) -> QuerySet:
        qs = self.rows(user)
        if bbox is not None:
            qs = qs.filter(geom__intersects=bbox_geometry(bbox))
        if interval is not None:
            qs = qs.filter(self.interval_q(interval))
        return qs

    def interval_q(self, interval: Interval) -> Q:
        raise NotImplementedError

    def feature_sql(self) -> str:
        """SQL with a `page(id, ord)` relation in scope, yielding (ord, feature json)."""
        raise NotImplementedError

    def extent(self, user) -> dict:
        raise NotImplementedError

    def page(self, user, *, bbox, interval, limit: int, offset: int) -> tuple[int, int, str]:
        """(numberMatched, numberReturned, JSON array of Features) for one page, in id order."""
        qs = self.filtered(user, bbox=bbox, interval=interval)
        if bbox is not None:
            # A box selects few rows through the spatial index: collect them once, then count
            # and page them in the same statement.
            return self._bbox_page(qs, limit=limit, offset=offset)
        matched = self.count(user, qs, interval=interval)
        if offset >= matched:
            return matched, 0, "[]"
        ids_sql, params = qs.order_by("id").values("id")[offset : offset + limit].query.sql_with_params()
        returned, features = self._features(ids_sql, params)
        return matched, returned, features

    def count(self, user, qs: QuerySet, *, interval: Interval | None) -> int:
        """numberMatched of a page without a box."""
        return qs.count()

    def _bbox_page(self, qs, *, limit: int, offset: int) -> tuple[int, int, str]:
        ids_sql, params = qs.order_by().values("id").query.sql_with_params()
        sql = f"""
WITH matched AS MATERIALIZED ({ids_sql}),
page AS (SELECT q.id, row_number() OVER (ORDER BY q.id) AS ord
         FROM (SELECT id FROM matched ORDER BY id OFFSET %s LIMIT %s) q)
SELECT (SELECT count(*) FROM matched), count(*),
       coalesce(json_agg(f.feature ORDER BY f.ord), '[]'::json)::text
FROM ({self.feature_sql()}) f"""  # noqa: S608  (ids_sql is compiled by Django with parameters)
        with connection.cursor() as cur:
            cur.execute(sql, [*params, offset, limit])
            return cur.fetchone()

    def single(self, user, feature_id: int) -> str | None:
        """One Feature's JSON text, or None when the reader may not see it or it does not exist."""
        ids_sql, params = self.rows(user).filter(pk=feature_id).values("id").query.sql_with_params()
        returned, features = self._features(ids_sql, params)
        return features[1:-1] if returned else None

    def _features(self, ids_sql: str, params) -> tuple[int, str]:
        sql = f"""
WITH page AS (SELECT q.id, row_number() OVER (ORDER BY q.id) AS ord FROM ({ids_sql}) q)
SELECT count(*), coalesce(json_agg(f.feature ORDER BY f.ord), '[]'::json)::text
FROM ({self.feature_sql()}) f"""  # noqa: S608  (ids_sql is compiled by Django with parameters)
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    # Field descriptions for TileJSON vector_layers and the OpenAPI document.
    def tile_fields(self) -> dict[str, str]:
        raise NotImplementedError


def _interval(lo, hi) -> list:
    return [lo.isoformat() if lo else None, hi.isoformat() if hi else None]


@dataclass(frozen=True)
class UnitsCollection(Collection):
    day: date = NEW_STRUCTURE_DAY
    layer_type = "units"
    tiled = True

    def rows(self, user) -> QuerySet:
        # Units are public reference data: the same for every reader.
        return admin_unit_list(valid_on=self.day)

    def interval_q(self, interval: Interval) -> Q:
        # Validity periods are whole days; an open end is "always".
        q = Q()
        if interval.end is not None:
            q &= Q(valid_from__isnull=True) | Q(valid_from__lte=interval.end.date())
        if interval.start is not None:
            q &= Q(valid_to__isnull=True) | Q(valid_to__gte=interval.start.date())
        return q

    def feature_sql(self) -> str:
        return """
SELECT p.ord, json_build_object(
    'type', 'Feature',
    'id', u.id,
    'geometry', ST_AsGeoJSON(u.geom, 6)::json,
    'properties', json_build_object(
        'code', u.code, 'name', u.name, 'name_en', u.name_en, 'level', u.level,
        'parent_code', parent.code, 'valid_from', u.valid_from, 'valid_to', u.valid_to
    )
) AS feature
FROM page p
JOIN places_adminunit u ON u.id = p.id
LEFT JOIN places_adminunit parent ON parent.id = u.parent_id
"""

    def extent(self, user) -> dict:
        ids_sql, params = self.rows(user).order_by().values("id").query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute(
                f"""SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), lo, hi, open_lo, open_hi
                    FROM (SELECT ST_Extent(geom) e, min(valid_from) lo, max(valid_to) hi,
                                 bool_or(valid_from IS NULL) open_lo, bool_or(valid_to IS NULL) open_hi
                          FROM places_adminunit WHERE id IN ({ids_sql})) t""",  # noqa: S608
                params,
            )
            xmin, ymin, xmax, ymax, lo, hi, open_start, open_end = cur.fetchone()
        return {
            "spatial": {"bbox": [[xmin, ymin, xmax, ymax]] if xmin is not None else [], "crs": CRS84},
            "temporal": {
                "interval": [_interval(None if open_start else lo, None if open_end else hi)],
                "trs": GREGORIAN,
            },
        }

    def tile_fields(self) -> dict[str, str]:
        return {
            "id": "Number",
            "code": "String: GSO code",
            "name": "String",
            "name_en": "String",
            "level": "String: province, district or commune",
            "valid_from": "String: date or empty",
            "valid_to": "String: date or empty",
        }


SITE_CORE_SQL = """
        'kind', s.kind,
        'name', s.name,
        'description', s.description,
        'status', s.status,
        'commune_code', c.code,
        'commune_name', c.name,
        'length_m', round(s.length_m::numeric, 1),
        'source', s.source,
        'external_id', s.external_id,
        'created_at', s.created_at,
        'updated_at', s.updated_at"""


@dataclass(frozen=True)
class SitesCollection(Collection):
    kind: str | None = None
    layer_type = "sites"
    tiled = True

    def rows(self, user) -> QuerySet:
        qs = site_list(user=user)
        return qs.filter(kind=self.kind) if self.kind else qs

    def interval_q(self, interval: Interval) -> Q:
        q = Q()
        if interval.start is not None:
            q &= Q(updated_at__gte=interval.start)
        if interval.end is not None:
            q &= Q(updated_at__lte=interval.end)
        return q

    def count(self, user, qs: QuerySet, *, interval: Interval | None) -> int:
        # Readers who see all sites or all active ones: the sum of at most kinds × statuses
        # rows of ogc_sitecount (migration 0004, kept by triggers) instead of a count of the
        # table. Others (a scope by agency or area, a time filter) count their rows.
        scope = site_scope(user) if interval is None else None
        if scope is None:
            return qs.count()
        where, params = scope_filter(scope, self.kind, ["TRUE"], [])
        with connection.cursor() as cur:
            cur.execute(f"SELECT coalesce(sum(n), 0) FROM ogc_sitecount WHERE {' AND '.join(where)}", params)  # noqa: S608
            return int(cur.fetchone()[0])

    def attribute_names(self) -> list[str]:
        return [a.name for a in KINDS[self.kind].attributes] if self.kind else []

    def feature_sql(self) -> str:
        if self.kind:
            # One kind: its attributes become flat, typed properties (GIS clients see columns).
            extra = "".join(f",\n        '{name}', s.attributes->'{name}'" for name in self.attribute_names())
        else:
            extra = ",\n        'attributes', s.attributes"
        return f"""
SELECT p.ord, json_build_object(
    'type', 'Feature',
    'id', s.id,
    'geometry', ST_AsGeoJSON(s.geom, 6)::json,
    'properties', json_build_object({SITE_CORE_SQL}{extra}
    )
) AS feature
FROM page p
JOIN places_site s ON s.id = p.id
JOIN places_adminunit c ON c.id = s.commune_id
"""  # noqa: S608  (attribute names come from places.kinds, never from the request)

    def extent(self, user) -> dict:
        # One aggregate over the reader's sites (no IN-subquery: the scope's filter applies directly).
        found = (
            self.rows(user).order_by().aggregate(e=Extent("geom"), lo=Min("updated_at"), hi=Max("updated_at"))
        )
        xmin, ymin, xmax, ymax = found["e"] or (None, None, None, None)
        lo, hi = found["lo"], found["hi"]
        if xmin is None:  # nothing visible: the province's box
            province = AdminUnit.objects.filter(level="province").first()
            if province is not None:
                xmin, ymin, xmax, ymax = province.geom.extent
        return {
            "spatial": {"bbox": [[xmin, ymin, xmax, ymax]] if xmin is not None else [], "crs": CRS84},
            "temporal": {"interval": [_interval(lo, hi)], "trs": GREGORIAN},
        }

    def tile_fields(self) -> dict[str, str]:
        fields = {
            "id": "Number: site id (single sites; absent on clusters)",
            "kind": "String",
            "name": "String (single sites)",
            "status": "String: active or closed (single sites)",
            "commune_code": "String: GSO code of the commune (single sites)",
            "count": "Number: sites in a cluster (low zooms; 1 for a single site)",
        }
        for name in self.attribute_names():
            fields[name] = "kind attribute (single sites)"
        return fields


def _registry() -> dict[str, Collection]:
    items: list[Collection] = [
        UnitsCollection(
            "units-2024",
            _("Administrative units until 30/06/2025"),
            _("Province, 8 districts and 106 communes of Lai Châu in force until 30/06/2025."),
            day=OLD_STRUCTURE_DAY,
        ),
        UnitsCollection(
            "units-2025",
            _("Administrative units from 01/07/2025"),
            _("Province and 38 communes of Lai Châu in force from 01/07/2025."),
            day=NEW_STRUCTURE_DAY,
        ),
        SitesCollection("sites", _("Sites (all kinds)"), _("Mapped sites of every kind the reader may see.")),
    ]
    for spec in KINDS.values():
        items.append(
            SitesCollection(
                f"sites-{spec.code}",
                spec.label,
                _("Mapped sites of one kind, with its attributes as properties."),
                kind=spec.code,
            )
        )
    # The public indicators of maps.indicators (suppressed as that module does).
    from .indicators import indicator_collections

    items += indicator_collections()
    from .planning import planning_collections

    items += planning_collections()
    return {c.id: c for c in items}


COLLECTIONS: dict[str, Collection] = _registry()
