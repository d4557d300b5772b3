"""Who may plan play areas, over which communes, and with which incident numbers.

- planner, coordinator, administrator (and Django superusers): the whole province;
- area leader: the communes of today in his area (a commune of today; for a district or a
  commune of before 01/07/2025, today's communes whose interior point lies in it), and the
  villages in it (inspections.scoping.area_q);
- everyone else: refused (403).

Playgrounds are public places: every active playground counts for access, wherever it
lies, so a village near the edge of an area is served by one across the boundary.

Incident numbers: whoever may read single records (incidents.privacy.reads_single_records:
the coordinator, administrators, an area leader for his own area) gets exact counts; the
planner gets the published, suppressed table (incidents.aggregates.aggregate_table).
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import QuerySet

from incidents.privacy import reads_single_records
from inspections.models import Role
from inspections.scoping import area_q, profile_of, sees_everything
from places.models import AdminLevel, AdminUnit, Site

from .access import COMMUNES_SQL, Sources, sources_for


@dataclass(frozen=True)
class PlanningScope:
    communes: frozenset[int] | None  # None: the whole province
    area: AdminUnit | None
    exact_incidents: bool

    @property
    def province(self) -> bool:
        return self.communes is None

    def villages(self) -> QuerySet[Site] | None:
        if self.area is None:
            return None
        return Site.objects.filter(area_q(self.area))

    def sources(self) -> Sources:
        return sources_for(villages=self.villages())


PROVINCE = PlanningScope(communes=None, area=None, exact_incidents=True)


def communes_in(area: AdminUnit) -> frozenset[int]:
    if area.level == AdminLevel.PROVINCE:
        with connection.cursor() as cur:
            cur.execute(f"SELECT id FROM ({COMMUNES_SQL}) u")  # noqa: S608 - constant SQL
            return frozenset(r[0] for r in cur.fetchall())
    if area.level == AdminLevel.COMMUNE and area.valid_to is None:
        return frozenset([area.id])
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT u.id FROM ({COMMUNES_SQL}) u JOIN places_adminunit g ON g.id = u.id"  # noqa: S608
            " WHERE ST_Intersects(ST_PointOnSurface(g.geom), %s::geometry)",
            [bytes(area.geom.ewkb)],
        )
        return frozenset(r[0] for r in cur.fetchall())


def planning_scope(user) -> PlanningScope:
    """The user's planning scope; PermissionDenied for roles that do not plan."""
    if sees_everything(user):
        return PROVINCE
    profile = profile_of(user)
    if profile is None:
        raise PermissionDenied
    if profile.role == Role.PLANNER:
        return PlanningScope(communes=None, area=None, exact_incidents=reads_single_records(user))
    if profile.role == Role.AREA_LEADER and profile.area is not None:
        if profile.area.level == AdminLevel.PROVINCE:
            return PlanningScope(communes=None, area=None, exact_incidents=True)
        return PlanningScope(communes=communes_in(profile.area), area=profile.area, exact_incidents=True)
    raise PermissionDenied
