"""Reads of inspections, all scoped by inspections.scoping."""

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from places.selectors import today

from .models import (
    ActionStatus,
    Assignment,
    ChecklistTemplate,
    CorrectiveAction,
    Inspection,
    Role,
)
from .models.assignments import OPEN_ASSIGNMENT_STATUSES
from .scoping import area_q, scope_site_records


def current_template(*, site_kind: str) -> ChecklistTemplate | None:
    return (
        ChecklistTemplate.objects.filter(site_kind=site_kind, is_current=True)
        .prefetch_related("items")
        .first()
    )


def assignment_list(
    *, user, mine: bool = False, overdue: bool = False, status: str | None = None, site_id: int | None = None
) -> QuerySet[Assignment]:
    qs = scope_site_records(Assignment.objects.select_related("site", "agency", "inspector"), user)
    if mine:
        qs = qs.filter(inspector=user)
    if overdue:
        qs = qs.filter(status__in=OPEN_ASSIGNMENT_STATUSES, due_date__lt=today())
    if status:
        qs = qs.filter(status=status)
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    return qs


def inspection_list(*, user, mine: bool = False, site_id: int | None = None) -> QuerySet[Inspection]:
    qs = scope_site_records(
        Inspection.objects.select_related("site", "agency", "inspector", "template"), user
    )
    if mine:
        qs = qs.filter(inspector=user)
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    return qs


def action_list(
    *,
    area=None,
    user,
    status: str | None = None,
    overdue: bool = False,
    agency_code: str | None = None,
    site_id: int | None = None,
) -> QuerySet[CorrectiveAction]:
    qs = scope_site_records(CorrectiveAction.objects.select_related("site", "agency", "opened_by"), user)
    if status:
        qs = qs.filter(status=status)
    if overdue:
        qs = qs.filter(~Q(status=ActionStatus.VERIFIED), deadline__lt=today())
    if agency_code:
        qs = qs.filter(agency__code=agency_code)
    if site_id is not None:
        qs = qs.filter(site_id=site_id)
    if area is not None:
        qs = qs.filter(area_q(area, prefix="site__"))
    return qs


def checklist_template(*, site_kind: str, version: int) -> ChecklistTemplate | None:
    """A given version (the one a form was drawn with); checklists are public reference data."""
    return (
        ChecklistTemplate.objects.filter(site_kind=site_kind, version=version)
        .prefetch_related("items")
        .first()
    )


def inspector_list(*, agency) -> QuerySet:
    """The active inspectors of an agency, for the manager's assignment form."""
    return (
        get_user_model()
        .objects.filter(profile__agency=agency, profile__role=Role.INSPECTOR, is_active=True)
        .order_by("last_name", "first_name", "username")
    )
