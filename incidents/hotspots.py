"""Hotspot detection: where located incidents cluster in space and time, which clusters
have no registered site nearby (suggested hotspots), one-click confirmation of a
suggestion as a site, and school routes that pass close to water.

How time enters the clustering
------------------------------
Only incidents inside a time window are clustered: the window is the
``round(365.25 × years)`` days that end on ``on`` (default today), that is
``on − round(365.25 × years) days < date ≤ on``. Inside the window, time plays no
further part: two drownings 200 m apart are neighbours whether they happened a week
or two years apart; an incident older than the window is not clustered at all (it is
neither a member nor noise). Incidents after ``on`` are left out, so ``on`` gives the
view of a past day.

How space enters
----------------
PostGIS ``ST_ClusterDBSCAN`` on the locations projected to UTM zone 48N (EPSG:32648),
so ``eps_m`` is in metres: an incident is a core member when at least
``min_incidents`` incidents (itself included) lie within ``eps_m`` metres of it, and
clusters grow through core members (chains are possible: a cluster can be wider than
``eps_m``). By default each incident kind is clustered on its own (drownings with
drownings), since a water body explains drownings and not falls; ``by_kind=False``
clusters all kinds together. DBSCAN may leave a cluster with fewer than
``min_incidents`` members (a border point claimed by a neighbour); such remnants are
dropped as noise. A cluster's id is a hash of its sorted member ids, so the same
incidents always give the same id, whatever the area filter of the request (and the
kind filter, when kinds are clustered apart).

All spatial work is one SQL statement per call; distances reported in metres are
measured on the spheroid (geography), and searches around a geometry use the GiST
index of the geometry column through a bounding-box prefilter (ST_Expand in degrees,
safely wider than the distance) before the exact geography ST_DWithin. The kind and
status filters of those searches are written ``(kind || '') = …`` so that the planner
cannot AND the GiST index with the kind index: with stale statistics it did, and the
school-route search took 12 s instead of 0.3-0.7 s on the demo data.
"""

# ruff: noqa: S608 - the SQL is assembled from constant snippets of this module and the ORM's own SQL
# of a queryset; values travel as parameters.

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from core.exceptions import DomainError
from inspections.models import Role
from inspections.scoping import profile_of, scope_sites, sees_everything
from places.kinds import KINDS
from places.models import AdminLevel, Site, SiteKind, SiteStatus
from places.selectors import site_list, today
from places.services import site_create
from places.validation import SiteInvalid

from .models import LINKABLE_SITE_KINDS, Incident, IncidentKind

UTM_48N = 32648
SUGGESTED_SOURCE = "suggested hotspot"
HULL_BUFFER_M = 30
MAX_EPS_M = 5000
MAX_DISTANCE_M = 5000
MAX_YEARS = 50

# The site kinds a cluster of incidents of a kind could be confirmed as: the kinds its
# incidents are linked to (incidents.models) that can stand at a point or area.
SITE_KINDS_FOR = {str(kind): list(site_kinds) for kind, site_kinds in LINKABLE_SITE_KINDS.items()}
CONFIRMABLE_SITE_KINDS = {code for code, spec in KINDS.items() if "Point" in spec.geometry_types}


class HotspotError(DomainError):
    status = 400


class HotspotInvalid(HotspotError):
    status = 400


class HotspotForbidden(HotspotError):
    status = 403


class HotspotNotFound(HotspotError):
    status = 404


class HotspotConflict(HotspotError):
    status = 409


@dataclass(frozen=True)
class NearSite:
    id: int
    kind: str
    distance_m: float  # to the nearest of the cluster's members and centroid, on the spheroid


@dataclass
class Cluster:
    id: str
    kind: str  # the most frequent kind (the only one when clustered by kind)
    count: int
    kinds: dict[str, int]
    first_date: date
    last_date: date
    centroid: tuple[float, float]  # (lon, lat), EPSG:4326
    radius_m: float  # from the centroid to the farthest member, on the spheroid
    incident_ids: list[int]
    commune_ids: list[int]  # today's communes of the members
    site_kinds: list[str]  # site kinds that match the cluster's incidents
    nearest_site: NearSite | None = None
    confirm_kinds: list[str] = field(default_factory=list)  # site kinds a confirmation may create

    @property
    def suggested(self) -> bool:
        """No registered matching site nearby, and a kind of site could be confirmed here."""
        return self.nearest_site is None and bool(self.confirm_kinds)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "count": self.count,
            "kinds": self.kinds,
            "first_date": self.first_date.isoformat(),
            "last_date": self.last_date.isoformat(),
            "centroid": list(self.centroid),
            "radius_m": self.radius_m,
            "incident_ids": self.incident_ids,
            "commune_ids": self.commune_ids,
            "site_kinds": self.site_kinds,
            "confirm_kinds": self.confirm_kinds,
            "nearest_site": (
                None
                if self.nearest_site is None
                else {
                    "id": self.nearest_site.id,
                    "kind": self.nearest_site.kind,
                    "distance_m": self.nearest_site.distance_m,
                }
            ),
            "suggested": self.suggested,
        }


def cluster_id_for(incident_ids) -> str:
    """The stable id of a cluster: a hash of its sorted member ids."""
    text = ",".join(str(i) for i in sorted(incident_ids))
    return "c" + hashlib.sha256(text.encode()).hexdigest()[:20]


def window_start(*, on: date, years: float) -> date:
    """The last day *before* the window: incidents with window_start < date <= on are clustered."""
    return on - timedelta(days=round(365.25 * years))


def _expand_deg(geom_sql: str, metres_sql: str) -> str:
    """SQL: `geom`'s box widened by at least `metres` in every direction, in degrees.

    A degree of latitude is ≥ 110 km and a degree of longitude ≥ 110 km × cos(φ + 1°)
    (φ the largest |latitude| of the box), so the box holds everything within the
    distance: the index prefilter never loses a match that ST_DWithin would keep.
    """
    return (
        f"ST_Expand({geom_sql}, {metres_sql} / (110000.0 * cos(radians(least(88.0, "
        f"greatest(abs(ST_YMin({geom_sql})), abs(ST_YMax({geom_sql}))) + 1.0)))))"
    )


def _site_kinds(kind_counts: dict[str, int]) -> list[str]:
    """The site kinds matching the incidents of a cluster, most frequent incident kind first."""
    seen: list[str] = []
    for kind in kind_counts:
        seen.extend(k for k in SITE_KINDS_FOR.get(kind, []) if k not in seen)
    return seen


def _check_params(*, eps_m, min_incidents, years, kinds) -> None:
    errors: dict[str, list[str]] = {}
    if not (isinstance(eps_m, int | float) and 0 < eps_m <= MAX_EPS_M):
        errors["eps_m"] = [_("a distance in metres above 0 and at most %(max)s") % {"max": MAX_EPS_M}]
    if not (isinstance(min_incidents, int) and not isinstance(min_incidents, bool) and min_incidents >= 2):
        errors["min_incidents"] = [_("a whole number of at least 2")]
    if not (isinstance(years, int | float) and 0 < years <= MAX_YEARS):
        errors["years"] = [_("a number of years above 0 and at most %(max)s") % {"max": MAX_YEARS}]
    unknown = sorted(set(kinds or []) - set(IncidentKind.values))
    if unknown:
        errors["kinds"] = [
            _("unknown incident kind '%(kind)s' (expected one of: %(choices)s)")
            % {"kind": kind, "choices": ", ".join(IncidentKind.values)}
            for kind in unknown
        ]
    if errors:
        raise HotspotInvalid(errors)


CLUSTERS_SQL = (
    """
WITH pts AS MATERIALIZED (
    SELECT i.id, i.kind, i.date, i.current_commune_id, i.location AS geom,
           ST_Transform(i.location, %(utm)s) AS utm,
           CASE WHEN %(by_kind)s THEN i.kind ELSE '' END AS part,
           CASE
               WHEN %(area_commune)s::bigint IS NOT NULL THEN i.current_commune_id = %(area_commune)s::bigint
               WHEN %(area_unit)s::bigint IS NOT NULL THEN ST_Intersects(
                   i.location, (SELECT u.geom FROM places_adminunit u WHERE u.id = %(area_unit)s::bigint))
               ELSE true
           END AS in_area
      FROM incidents_incident i
     WHERE i.location IS NOT NULL
       AND i.date > %(since)s AND i.date <= %(on)s
       AND (%(kinds)s::text[] IS NULL OR i.kind = ANY(%(kinds)s::text[]))
),
members AS (
    SELECT labelled.*, count(*) OVER (PARTITION BY part, cid, kind) AS kind_n
      FROM (
        SELECT pts.*,
               ST_ClusterDBSCAN(utm, eps := %(eps)s, minpoints := %(minpts)s)
                   OVER (PARTITION BY part ORDER BY id) AS cid
          FROM pts
      ) labelled
     WHERE cid IS NOT NULL
),
clusters AS MATERIALIZED (
    SELECT shapes.*,
           ARRAY(SELECT DISTINCT jsonb_array_elements_text(%(site_kinds)s::jsonb -> k)
                   FROM jsonb_object_keys(kinds) AS k) AS site_kinds,
           ST_Collect(geoms || centre) AS near,
           (SELECT max(ST_Distance(g::geography, centre::geography)) FROM unnest(geoms) AS g) AS radius
      FROM (
        SELECT part, cid, count(*) AS n,
               array_agg(id ORDER BY id) AS ids,
               array_agg(DISTINCT current_commune_id) AS communes,
               jsonb_object_agg(kind, kind_n) AS kinds,
               (array_agg(kind ORDER BY kind_n DESC, kind))[1] AS main_kind,
               min(date) AS first_date, max(date) AS last_date,
               ST_Transform(ST_Centroid(ST_Collect(utm)), 4326) AS centre,
               array_agg(geom) AS geoms
          FROM members
         GROUP BY part, cid
        HAVING count(*) >= %(minpts)s AND bool_or(in_area)
      ) shapes
)
SELECT c.ids, c.communes, c.n, c.kinds, c.main_kind, c.site_kinds, c.first_date, c.last_date,
       ST_X(c.centre), ST_Y(c.centre), c.radius, ns.id, ns.kind, ns.d
  FROM clusters c
  LEFT JOIN LATERAL (
        SELECT st.id, st.kind, ST_Distance(st.geom::geography, c.near::geography) AS d
          FROM places_site st
         WHERE (st.kind || '') = ANY(c.site_kinds) AND (st.status || '') = 'active'
           AND st.geom && """
    + _expand_deg("c.near", "%(eps)s")
    + """
           AND ST_DWithin(st.geom::geography, c.near::geography, %(eps)s)
         ORDER BY d, st.id
         LIMIT 1
  ) ns ON true
"""
)


def incident_clusters(
    *,
    eps_m: float = 500,
    min_incidents: int = 2,
    years: float = 3,
    kinds: list[str] | None = None,
    area=None,
    on: date | None = None,
    by_kind: bool = True,
) -> list[Cluster]:
    """Clusters of located incidents in the time window (see the module doc), each with the
    nearest registered matching site within `eps_m` of its centroid or of any member.

    `kinds` limits the incidents considered; `area` (an AdminUnit) keeps the clusters with
    at least one member in it (today's commune: by the stored current_commune; any other
    unit: location inside its boundary; the province: all). Clusters are computed
    province-wide first, so a cluster across a commune border is the same cluster (same
    members and id) seen from both communes. Sorted by count (desc), last date (desc), id.
    """
    _check_params(eps_m=eps_m, min_incidents=min_incidents, years=years, kinds=kinds)
    on = on or today()
    area_commune = area_unit = None
    if area is not None and area.level != AdminLevel.PROVINCE:
        if area.level == AdminLevel.COMMUNE and area.valid_to is None:
            area_commune = area.id
        else:
            area_unit = area.id
    params = {
        "utm": UTM_48N,
        "by_kind": bool(by_kind),
        "area_commune": area_commune,
        "area_unit": area_unit,
        "since": window_start(on=on, years=years),
        "on": on,
        "kinds": list(kinds) if kinds else None,
        "eps": float(eps_m),
        "minpts": int(min_incidents),
        "site_kinds": json.dumps(SITE_KINDS_FOR),
    }
    with connection.cursor() as cur:
        cur.execute(CLUSTERS_SQL, params)
        rows = cur.fetchall()
    clusters = []
    for ids, communes, n, kind_counts, main_kind, _kinds, first, last, x, y, radius, sid, skind, d in rows:
        kind_counts = json.loads(kind_counts) if isinstance(kind_counts, str) else kind_counts
        kind_counts = dict(sorted(kind_counts.items(), key=lambda kv: (-kv[1], kv[0])))
        site_kinds = _site_kinds(kind_counts)
        clusters.append(
            Cluster(
                id=cluster_id_for(ids),
                kind=main_kind,
                count=n,
                kinds=kind_counts,
                first_date=first,
                last_date=last,
                centroid=(round(x, 7), round(y, 7)),
                radius_m=round(radius, 1),
                incident_ids=list(ids),
                commune_ids=sorted(communes),
                site_kinds=list(site_kinds),
                nearest_site=None if sid is None else NearSite(id=sid, kind=skind, distance_m=round(d, 1)),
                confirm_kinds=[k for k in site_kinds if k in CONFIRMABLE_SITE_KINDS],
            )
        )
    clusters.sort(key=lambda c: (-c.count, -c.last_date.toordinal(), c.id))
    return clusters


def suggested_hotspots(
    *,
    eps_m: float = 500,
    min_incidents: int = 2,
    years: float = 3,
    kinds: list[str] | None = None,
    area=None,
    on: date | None = None,
    by_kind: bool = True,
) -> list[Cluster]:
    """The clusters with no registered matching site (e.g. no active drowning hotspot for a
    drowning cluster) within `eps_m`, of a kind that can be confirmed as a site: what the
    area leader should look at and confirm."""
    clusters = incident_clusters(
        eps_m=eps_m, min_incidents=min_incidents, years=years, kinds=kinds, area=area, on=on, by_kind=by_kind
    )
    return [c for c in clusters if c.suggested]


def _may_confirm_role(user) -> bool:
    profile = profile_of(user)
    return sees_everything(user) or bool(profile and profile.role == Role.AREA_LEADER and profile.area)


def _hull_polygon(incident_ids: list[int]) -> GEOSGeometry:
    """The members' convex hull buffered by 30 m (in UTM metres), as a lon/lat polygon."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT ST_AsEWKB(ST_Transform(ST_Buffer(ST_ConvexHull(ST_Collect(
                      ST_Transform(location, %s))), %s, 'quad_segs=4'), 4326))
                 FROM incidents_incident WHERE id = ANY(%s)""",
            [UTM_48N, HULL_BUFFER_M, incident_ids],
        )
        return GEOSGeometry(memoryview(bytes(cur.fetchone()[0])))


def _find_cluster(cluster_id: str, **params) -> Cluster | None:
    return next((c for c in incident_clusters(**params) if c.id == cluster_id), None)


@transaction.atomic
def hotspot_confirm(
    *,
    user,
    cluster_id: str,
    name: str,
    water_type: str = "",
    site_kind: str | None = None,
    attributes: dict | None = None,
    description: str = "",
    shape: str = "point",
    force: bool = False,
    eps_m: float = 500,
    min_incidents: int = 2,
    years: float = 3,
    kinds: list[str] | None = None,
    on: date | None = None,
    by_kind: bool = True,
) -> Site:
    """Confirm a suggested cluster as a site; return the site (the same one on a repeat).

    The site (default kind: the first confirmable kind matching the cluster, a drowning
    hotspot for drownings) is created through places.services.site_create, so it is
    validated and gets its commune and agency; it stands at the centroid (`shape="point"`)
    or covers the members' convex hull buffered by 30 m (`shape="area"`). Its source is
    'suggested hotspot' and its external id the cluster id: confirming twice returns the
    first site. The member incidents not linked by hand are linked to it.

    The clustering parameters must be those under which the cluster was shown (the id is
    looked up among the clusters they give). Only the coordinator (and administrators)
    and the leaders of an area the cluster touches may confirm (403); an unknown cluster id
    is 404; a cluster with a registered matching site within `eps_m` is refused with 409
    unless `force`.
    """
    if not _may_confirm_role(user):
        raise HotspotForbidden(_("only the coordinator and the area's leaders may confirm a hotspot"))
    existing = Site.objects.filter(source=SUGGESTED_SOURCE, external_id=cluster_id).first()
    if existing is not None:
        if not scope_sites(Site.objects.filter(pk=existing.pk), user).exists():
            raise HotspotForbidden(_("this hotspot lies outside your area"))
        return existing
    params = {
        "eps_m": eps_m,
        "min_incidents": min_incidents,
        "years": years,
        "kinds": kinds,
        "on": on,
        "by_kind": by_kind,
    }
    # A leader looks among the clusters of his area first (one query when allowed), then
    # among all to tell a cluster of another area (403) from one that does not exist (404).
    area = None if sees_everything(user) else profile_of(user).area
    cluster = _find_cluster(cluster_id, area=area, **params)
    if cluster is None and area is not None and _find_cluster(cluster_id, **params) is not None:
        raise HotspotForbidden(_("this cluster lies outside your area"))
    if cluster is None:
        raise HotspotNotFound(
            _("no such cluster (the incidents may have changed since it was shown: reload the suggestions)")
        )
    site_kind = site_kind or (cluster.confirm_kinds[0] if cluster.confirm_kinds else None)
    if site_kind not in cluster.confirm_kinds:
        kind_label = IncidentKind(cluster.kind).label
        raise HotspotInvalid(
            {
                "site_kind": [
                    _("a cluster of “%(kind)s” incidents can be confirmed as: %(choices)s")
                    % {"kind": kind_label, "choices": ", ".join(cluster.confirm_kinds)}
                    if cluster.confirm_kinds
                    else _("a cluster of “%(kind)s” incidents cannot be confirmed as a site")
                    % {"kind": kind_label}
                ]
            }
        )
    if cluster.nearest_site is not None and not force:
        raise HotspotConflict(
            _(
                "a registered site (%(kind)s, id %(id)s) is %(distance)s m from this cluster: "
                "link the incidents to it, or confirm anyway"
            )
            % {
                "kind": KINDS[cluster.nearest_site.kind].label,
                "id": cluster.nearest_site.id,
                "distance": round(cluster.nearest_site.distance_m),
            }
        )
    if shape == "point":
        geom = Point(*cluster.centroid, srid=4326)
    elif shape == "area":
        geom = _hull_polygon(cluster.incident_ids)
    else:
        raise HotspotInvalid({"shape": [_("expected 'point' or 'area'")]})
    attrs = dict(attributes or {})
    if water_type:
        attrs["water_type"] = water_type
    try:
        with transaction.atomic():
            site = site_create(
                user=user,
                kind=site_kind,
                name=name,
                geom=geom,
                attributes=attrs,
                description=description,
                status=SiteStatus.ACTIVE,
                source=SUGGESTED_SOURCE,
                external_id=cluster_id,
            )
    except SiteInvalid as exc:
        raise HotspotInvalid(exc.errors) from exc
    except IntegrityError:
        # A concurrent confirmation of the same cluster won the race: return its site.
        existing = Site.objects.filter(source=SUGGESTED_SOURCE, external_id=cluster_id).first()
        if existing is None:
            raise
        return existing
    now = timezone.now()
    incidents = list(Incident.objects.filter(id__in=cluster.incident_ids, linked_site_manual=False))
    for incident in incidents:
        incident.linked_site, incident.linked_site_manual, incident.updated_at = site, False, now
    bulk_update_with_history(
        incidents, Incident, ["linked_site", "linked_site_manual", "updated_at"], default_user=user
    )
    return site


# --- school routes near water ----------------------------------------------------------------------------

# The routes are materialised first and the hotspot search is fenced (OFFSET 0), so that it
# runs once per route on the GiST index whatever the statistics say (see the module doc).
ROUTES_SQL = (
    """
WITH routes AS MATERIALIZED (
    SELECT r.id, r.name, r.commune_id, r.geom
      FROM places_site r
     WHERE r.kind = %s AND r.status = %s AND r.id IN ({routes})
)
SELECT r.id, r.name, r.commune_id, u.code, u.name,
       array_agg(h.id ORDER BY h.d, h.id) AS hotspot_ids,
       array_agg(h.d ORDER BY h.d, h.id) AS distances,
       array_agg(h.crosses ORDER BY h.d, h.id) AS crosses,
       min(h.d) AS min_d
  FROM routes r
  JOIN places_adminunit u ON u.id = r.commune_id
  JOIN LATERAL (
        SELECT w.id,
               ST_Distance(r.geom::geography, w.geom::geography) AS d,
               ST_Intersects(r.geom::geography, w.geom::geography) AS crosses
          FROM places_site w
         WHERE (w.kind || '') = %s AND (w.status || '') = %s
           AND w.geom && """
    + _expand_deg("r.geom", "%s")
    + """
           AND ST_DWithin(r.geom::geography, w.geom::geography, %s)
        OFFSET 0
  ) h ON true
 GROUP BY r.id, r.name, r.commune_id, u.code, u.name
 ORDER BY bool_or(h.crosses) DESC, min(h.d), r.id
"""
)


def routes_near_water(*, distance_m: float = 100, routes: QuerySet[Site] | None = None) -> list[dict]:
    """Active school routes that cross or pass within `distance_m` metres (spheroid) of an
    active drowning hotspot (point or water-body polygon).

    `routes`: a queryset of sites to choose from (e.g. scoped to the reader); default all.
    Each row: route_id, name, commune_id, commune_code, commune_name, crosses (the route
    touches or crosses a hotspot), min_distance_m, hotspot_ids (nearest first) and
    hotspots [{id, distance_m, crosses}]. Sorted: crossings first, then by distance.
    """
    if not (isinstance(distance_m, int | float) and 0 <= distance_m <= MAX_DISTANCE_M):
        raise HotspotInvalid(
            {"distance_m": [_("a distance in metres from 0 to %(max)s") % {"max": MAX_DISTANCE_M}]}
        )
    routes = Site.objects.all() if routes is None else routes
    try:
        sub_sql, sub_params = routes.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:  # e.g. Site.objects.none(): nothing to look at
        return []
    sql = ROUTES_SQL.replace("{routes}", sub_sql)
    params = [
        SiteKind.SCHOOL_ROUTE.value,
        SiteStatus.ACTIVE.value,
        *sub_params,
        SiteKind.DROWNING_HOTSPOT.value,
        SiteStatus.ACTIVE.value,
        float(distance_m),
        float(distance_m),
    ]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    return [
        {
            "route_id": rid,
            "name": name,
            "commune_id": commune_id,
            "commune_code": code,
            "commune_name": commune_name,
            "crosses": any(crosses),
            "min_distance_m": round(min_d, 1),
            "hotspot_ids": list(ids),
            "hotspots": [
                {"id": i, "distance_m": round(d, 1), "crosses": c}
                for i, d, c in zip(ids, distances, crosses, strict=True)
            ],
        }
        for rid, name, commune_id, code, commune_name, ids, distances, crosses, min_d in rows
    ]


def routes_near_water_for(*, user, distance_m: float = 100) -> list[dict]:
    """routes_near_water over the routes the user may see (inspections.scoping)."""
    return routes_near_water(distance_m=distance_m, routes=site_list(user=user))
