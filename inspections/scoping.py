"""Who sees what: every list, map, export and API read passes through these filters.

- public (anonymous, or a user without a profile): active sites only, no inspection data;
- inspector, agency manager: what their agency answers for;
- area leader: what lies in their district or commune;
- planner: every site (play-area planning is province-wide), no inspection records;
- coordinator, administrator (and Django superusers): everything.
Objects outside a user's scope are simply absent, so guessing an id gives 404.
"""

from django.db.models import Q, QuerySet

from places.models import AdminLevel, SiteStatus

from .models import Profile, Role

ALL_ROLES = {Role.COORDINATOR, Role.ADMINISTRATOR}


def profile_of(user) -> Profile | None:
    if not (user and user.is_authenticated):
        return None
    try:
        return user.profile
    except Profile.DoesNotExist:
        return None


def sees_everything(user) -> bool:
    profile = profile_of(user)
    return bool(user and user.is_authenticated and user.is_superuser) or bool(
        profile and profile.role in ALL_ROLES
    )


EDITOR_ROLES = {Role.INSPECTOR, Role.AGENCY_MANAGER, Role.COORDINATOR, Role.ADMINISTRATOR}


def can_edit_sites(user) -> bool:
    """Sites are mapped by agency staff and the coordinator; others read only."""
    profile = profile_of(user)
    return bool(user and user.is_authenticated and user.is_superuser) or bool(
        profile and profile.role in EDITOR_ROLES
    )


def area_q(area, prefix: str = "") -> Q:
    """Sites (or rows with a site under `prefix`) inside an area.

    Sites store today's commune, so a current commune matches by key; a district or a
    pre-2025 commune is matched on its boundary (index-backed ST_Intersects).
    """
    if area.level == AdminLevel.COMMUNE and area.valid_to is None:
        return Q(**{f"{prefix}commune": area})
    if area.level == AdminLevel.PROVINCE:
        return Q()
    return Q(**{f"{prefix}geom__intersects": area.geom})


def scope_sites(qs: QuerySet, user) -> QuerySet:
    if sees_everything(user):
        return qs
    profile = profile_of(user)
    if profile is None:
        return qs.filter(status=SiteStatus.ACTIVE)
    if profile.role == Role.PLANNER:
        return qs
    if profile.role in (Role.INSPECTOR, Role.AGENCY_MANAGER):
        return qs.filter(agency=profile.agency)
    if profile.role == Role.AREA_LEADER:
        return qs.filter(area_q(profile.area))
    return qs.none()


def scope_site_records(
    qs: QuerySet, user, *, site_prefix: str = "site__", agency_field: str = "agency"
) -> QuerySet:
    """Assignments, inspections and corrective actions: by agency, or by the site's area."""
    if sees_everything(user):
        return qs
    profile = profile_of(user)
    if profile is None or profile.role == Role.PLANNER:
        return qs.none()
    if profile.role in (Role.INSPECTOR, Role.AGENCY_MANAGER):
        return qs.filter(**{agency_field: profile.agency})
    if profile.role == Role.AREA_LEADER:
        return qs.filter(area_q(profile.area, prefix=site_prefix))
    return qs.none()
