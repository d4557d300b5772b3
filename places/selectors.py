"""Reads of places: units in force, point → unit, and sites scoped to the reader."""

from collections.abc import Sequence
from datetime import date

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from inspections.scoping import scope_sites

from .models import AdminLevel, AdminUnit, Site


def today() -> date:
    return timezone.localdate()


def unit_at(
    *, geom: GEOSGeometry, on: date | None = None, level: str = AdminLevel.COMMUNE
) -> AdminUnit | None:
    """The one unit of `level` in force on `on` holding `geom`; None outside the province.

    The rule lives in the SQL function places_unit_at (migration 0002) so that bulk
    writes resolve exactly as single writes do.
    """
    ids = unit_ids_at(geoms=[geom], on=on, level=level)
    return AdminUnit.objects.get(pk=ids[0]) if ids[0] else None


def unit_ids_at(
    *, geoms: Sequence[GEOSGeometry | bytes], on: date | None = None, level: str = AdminLevel.COMMUNE
) -> list[int | None]:
    """places_unit_at for many geometries (GEOS, or EWKB bytes) in one query, in input order."""
    if not geoms:
        return []
    wkbs = [g if isinstance(g, bytes) else bytes(g.ewkb) for g in geoms]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT places_unit_at(ST_GeomFromEWKB(g), %s, %s)"
            " FROM unnest(%s::bytea[]) WITH ORDINALITY AS t(g, i) ORDER BY i",
            [on or today(), level, wkbs],
        )
        return [row[0] for row in cur.fetchall()]


def admin_unit_list(
    *, level: str | None = None, parent: AdminUnit | None = None, valid_on: date | None = None
) -> QuerySet[AdminUnit]:
    qs = AdminUnit.objects.select_related("parent")
    if level:
        qs = qs.filter(level=level)
    if parent is not None:
        qs = qs.filter(parent=parent)
    if valid_on is not None:
        qs = qs.valid_on(valid_on)
    return qs


def site_list(*, user) -> QuerySet[Site]:
    """All sites the user may see (inspections.scoping: by role, agency and area).

    Every list, map, export and API reads sites through here.
    """
    return scope_sites(Site.objects.all(), user)
