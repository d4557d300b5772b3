"""Routing: which agency answers for a site, resolved in PostGIS (inspections_agency_for)."""

from datetime import date

from django.db import connection
from django.db.models import QuerySet

from places.models import Site
from places.selectors import today


def agency_id_for(*, kind: str, geom, on: date | None = None) -> int | None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT inspections_agency_for(%s, ST_GeomFromEWKB(%s), %s)",
            [kind, bytes(geom.ewkb), on or today()],
        )
        return cur.fetchone()[0]


def sites_reroute(*, sites: QuerySet[Site] | None = None, on: date | None = None) -> int:
    """Re-resolve the agency of many sites in one UPDATE (after the rules change).

    Returns how many sites changed agency.
    """
    qs = sites if sites is not None else Site.objects.all()
    sql, params = qs.values("id").query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(
            f"""UPDATE places_site s SET agency_id = n.agency_id
                  FROM (SELECT id, inspections_agency_for(kind, geom, %s) AS agency_id
                          FROM places_site WHERE id IN ({sql})) n
                 WHERE s.id = n.id AND s.agency_id IS DISTINCT FROM n.agency_id""",  # noqa: S608 - sql is the ORM's
            [on or today(), *params],
        )
        return cur.rowcount
