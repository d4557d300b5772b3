"""Writes of inspections: assignments, idempotent inspection submission, photos,
corrective actions. Keyword-only arguments; every multi-row change is one transaction."""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from places.models import Site
from places.selectors import site_list, today

from .errors import Conflict, InspectionError, NotAllowed, NotVisible
from .models import (
    ActionStatus,
    Agency,
    Answer,
    Assignment,
    AssignmentStatus,
    ChecklistTemplate,
    CorrectiveAction,
    Inspection,
    InspectionPhoto,
    Priority,
    Profile,
    Result,
    Role,
)
from .models.assignments import OPEN_ASSIGNMENT_STATUSES
from .models.checklists import SEVERITY_DEADLINE_DAYS, SEVERITY_RANK
from .models.records import AnswerValue, RiskLevel
from .photos import PhotoRejected, distance_m, photo_clean
from .scoping import profile_of, sees_everything

# The plan's field rule: an inspection is trusted as made on site within 200 m of it,
# with a GPS fix better than 100 m.
MAX_DISTANCE_M = 200.0
MAX_ACCURACY_M = 100.0


def _staff_profile(user, *, roles: set[str]) -> Profile:
    profile = profile_of(user)
    if profile is None or profile.role not in roles or profile.agency is None:
        raise NotAllowed(_("your role does not allow this"))
    return profile


# --- assignments ---------------------------------------------------------------------------------------


@dataclass
class AssignResult:
    created: list[Assignment]
    skipped_open: list[int]  # sites that already had an open assignment of this agency


@transaction.atomic
def assignment_create(
    *,
    manager,
    sites,
    inspector=None,
    due_date: date,
    priority: str = Priority.NORMAL,
    round_name: str = "",
    note: str = "",
) -> AssignResult:
    """Assign sites (ids or a queryset) of the manager's agency; skip those already assigned."""

    profile = _staff_profile(manager, roles={Role.AGENCY_MANAGER})
    agency = profile.agency
    errors: dict[str, list[str]] = {}
    if priority not in Priority.values:
        errors["priority"] = [_("unknown priority '%(p)s'") % {"p": priority}]
    if due_date < today():
        errors["due_date"] = [_("the due date is in the past")]
    if inspector is not None:
        ip = profile_of(inspector)
        if ip is None or ip.agency_id != agency.id or ip.role != Role.INSPECTOR:
            errors["inspector"] = [_("not an inspector of %(agency)s") % {"agency": agency.name}]
    if isinstance(sites, list | tuple | set):
        wanted = set(sites)
        qs = Site.objects.filter(id__in=wanted, agency=agency)
        found = set(qs.values_list("id", flat=True))
        if wanted - found:
            errors["sites"] = [
                _("not sites of %(agency)s: %(ids)s")
                % {"agency": agency.name, "ids": ", ".join(map(str, sorted(wanted - found)))}
            ]
    else:
        qs = sites.filter(agency=agency)
    if errors:
        raise InspectionError(errors)
    already = set(
        Assignment.objects.filter(
            site__in=qs, agency=agency, status__in=OPEN_ASSIGNMENT_STATUSES
        ).values_list("site_id", flat=True)
    )
    status = AssignmentStatus.ASSIGNED if inspector else AssignmentStatus.PLANNED
    new = [
        Assignment(
            site_id=site_id,
            agency=agency,
            inspector=inspector,
            due_date=due_date,
            priority=priority,
            status=status,
            round_name=round_name,
            note=note,
            created_by=manager,
        )
        for site_id in qs.exclude(id__in=already).order_by("id").values_list("id", flat=True)
    ]
    created = bulk_create_with_history(new, Assignment, default_user=manager)
    return AssignResult(created=created, skipped_open=sorted(already))


ALLOWED_TRANSITIONS = {
    AssignmentStatus.PLANNED: {AssignmentStatus.ASSIGNED, AssignmentStatus.CANCELLED},
    AssignmentStatus.ASSIGNED: {
        AssignmentStatus.IN_PROGRESS,
        AssignmentStatus.PLANNED,
        AssignmentStatus.CANCELLED,
    },
    AssignmentStatus.IN_PROGRESS: {AssignmentStatus.ASSIGNED, AssignmentStatus.CANCELLED},
    AssignmentStatus.DONE: set(),
    AssignmentStatus.CANCELLED: set(),
}


@transaction.atomic
def assignment_update(*, user, assignment: Assignment, **changes) -> Assignment:
    """Managers re-plan (inspector, due date, priority, status); an inspector may start his own."""

    profile = profile_of(user)
    is_manager = profile and profile.role == Role.AGENCY_MANAGER and profile.agency_id == assignment.agency_id
    is_own = profile and profile.role == Role.INSPECTOR and assignment.inspector_id == user.id
    if not (is_manager or is_own):
        raise NotAllowed(_("only the agency's managers change an assignment"))
    if is_own and set(changes) - {"status"}:
        raise NotAllowed(_("inspectors may only change the status of their own assignments"))
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    errors: dict[str, list[str]] = {}
    if "inspector" in changes:
        inspector = changes["inspector"]
        ip = profile_of(inspector) if inspector else None
        if inspector is not None and (
            ip is None or ip.agency_id != assignment.agency_id or ip.role != Role.INSPECTOR
        ):
            errors["inspector"] = [_("not an inspector of %(agency)s") % {"agency": assignment.agency.name}]
        else:
            assignment.inspector = inspector
            if inspector and assignment.status == AssignmentStatus.PLANNED and "status" not in changes:
                assignment.status = AssignmentStatus.ASSIGNED
    if "due_date" in changes:
        assignment.due_date = changes["due_date"]
    if "priority" in changes:
        if changes["priority"] not in Priority.values:
            errors["priority"] = [_("unknown priority '%(p)s'") % {"p": changes["priority"]}]
        assignment.priority = changes["priority"]
    if "note" in changes:
        assignment.note = changes["note"]
    if "status" in changes and changes["status"] != assignment.status:
        new = changes["status"]
        if new not in ALLOWED_TRANSITIONS.get(assignment.status, set()):
            raise Conflict(
                {"status": [_("cannot go from %(old)s to %(new)s") % {"old": assignment.status, "new": new}]}
            )
        if is_own and new not in (AssignmentStatus.IN_PROGRESS,):
            raise NotAllowed(_("inspectors may only start their assignments"))
        assignment.status = new
    if assignment.status == AssignmentStatus.ASSIGNED and assignment.inspector_id is None:
        errors["inspector"] = [_("an assigned assignment needs an inspector")]
    if errors:
        raise InspectionError(errors)
    assignment._history_user = user
    assignment.save()
    return assignment


# --- inspections ---------------------------------------------------------------------------------------


@dataclass
class AnswerIn:
    item: str
    value: str
    note: str = ""


def _content_hash(
    *,
    site_id,
    assignment_id,
    template_version,
    performed_at: datetime,
    position,
    accuracy,
    answers: list[AnswerIn],
    findings: str,
) -> str:
    canonical = {
        "site": site_id,
        "assignment": assignment_id,
        "template_version": template_version,
        "performed_at": performed_at.astimezone(UTC).isoformat(timespec="seconds"),
        "position": [round(position.x, 7), round(position.y, 7)] if position else None,
        "accuracy": round(accuracy, 1) if accuracy is not None else None,
        "answers": sorted([a.item, a.value, a.note.strip()] for a in answers),
        "findings": findings.strip(),
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Submitted:
    inspection: Inspection
    created: bool


def inspection_submit(
    *,
    user,
    client_uuid: uuid.UUID,
    site_id: int,
    performed_at: datetime,
    answers: list[AnswerIn],
    assignment_id: int | None = None,
    template_version: int | None = None,
    position: Point | None = None,
    gps_accuracy_m: float | None = None,
    findings: str = "",
) -> Submitted:
    """Store an inspection exactly once per client UUID.

    The same UUID with the same content returns the stored inspection (created=False);
    with other content it is a Conflict and nothing changes. Two simultaneous sends
    meet at the UNIQUE(client_uuid) constraint: the loser reads the winner's row.
    """

    profile = _staff_profile(user, roles={Role.INSPECTOR, Role.AGENCY_MANAGER})
    digest = _content_hash(
        site_id=site_id,
        assignment_id=assignment_id,
        template_version=template_version,
        performed_at=performed_at,
        position=position,
        accuracy=gps_accuracy_m,
        answers=answers,
        findings=findings,
    )
    existing = Inspection.objects.filter(client_uuid=client_uuid).first()
    if existing is not None:
        return _replay(existing, digest, user)

    assignment = None
    if assignment_id is not None:
        assignment = Assignment.objects.filter(pk=assignment_id, agency=profile.agency).first()
        if assignment is None:
            raise NotVisible({"assignment": [_("no such assignment of your agency")]})
        if assignment.site_id != site_id:
            raise InspectionError({"assignment": [_("the assignment is for another site")]})
        if assignment.status == AssignmentStatus.CANCELLED:
            raise Conflict(
                {
                    "assignment": [
                        _("the assignment was cancelled on %(day)s")
                        % {"day": timezone.localtime(assignment.updated_at).date()}
                    ]
                }
            )
    # A site re-routed or edited while the inspector was offline does not block an
    # inspection made under an assignment of his agency.
    site = site_list(user=user).filter(pk=site_id).first()
    if site is None and assignment is not None:
        site = Site.objects.filter(pk=site_id).first()
    if site is None:
        raise NotVisible({"site": [_("no such site")]})
    if template_version is None:
        template = ChecklistTemplate.objects.filter(site_kind=site.kind, is_current=True).first()
    else:
        template = ChecklistTemplate.objects.filter(site_kind=site.kind, version=template_version).first()
    if template is None:
        raise InspectionError(
            {
                "template_version": [
                    _("no checklist for %(kind)s version %(v)s")
                    % {"kind": site.kind, "v": template_version or "current"}
                ]
            }
        )
    items = {item.code: item for item in template.items.all()}
    errors: dict[str, list[str]] = {}
    seen = set()
    for a in answers:
        if a.item not in items:
            errors.setdefault("answers", []).append(_("unknown item %(code)s") % {"code": a.item})
        elif a.item in seen:
            errors.setdefault("answers", []).append(_("item %(code)s answered twice") % {"code": a.item})
        if a.value not in AnswerValue.values:
            errors.setdefault("answers", []).append(
                _("%(code)s: answer must be pass, fail or na") % {"code": a.item}
            )
        seen.add(a.item)
    missing = sorted(set(items) - seen)
    if missing:
        errors.setdefault("answers", []).append(_("not answered: %(codes)s") % {"codes": ", ".join(missing)})
    if performed_at > timezone.now() + timedelta(minutes=10):
        errors["performed_at"] = [_("in the future")]
    if gps_accuracy_m is not None and gps_accuracy_m < 0:
        errors["gps_accuracy_m"] = [_("must not be negative")]
    if errors:
        raise InspectionError(errors)

    failed = [items[a.item] for a in answers if a.value == AnswerValue.FAIL]
    worst = max((SEVERITY_RANK[i.severity] for i in failed), default=0)
    risk = {
        0: RiskLevel.NONE,
        1: RiskLevel.LOW,
        2: RiskLevel.MEDIUM,
        3: RiskLevel.HIGH,
        4: RiskLevel.CRITICAL,
    }[worst]
    flags = []
    distance = None
    if position is not None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT ST_Distance(geom::geography, ST_GeomFromEWKB(%s)::geography) FROM places_site"
                " WHERE id = %s",
                [bytes(position.ewkb), site.id],
            )
            distance = cur.fetchone()[0]
        if distance > MAX_DISTANCE_M:
            flags.append("far_from_site")
    else:
        flags.append("no_position")
    if gps_accuracy_m is not None and gps_accuracy_m > MAX_ACCURACY_M:
        flags.append("poor_gps_accuracy")
    if assignment is not None and assignment.inspector_id not in (None, user.id):
        flags.append("reassigned")
    flags += [f"photo_missing:{i.code}" for i in failed if i.photo_required_on_fail]

    try:
        with transaction.atomic():
            inspection = Inspection(
                client_uuid=client_uuid,
                content_hash=digest,
                site=site,
                assignment=assignment,
                template=template,
                inspector=user,
                agency=profile.agency,
                performed_at=performed_at,
                position=position,
                gps_accuracy_m=gps_accuracy_m,
                distance_to_site_m=distance,
                location_flagged=bool({"far_from_site", "poor_gps_accuracy", "no_position"} & set(flags)),
                flags=flags,
                findings=findings.strip(),
                result=Result.FAIL if failed else Result.PASS,
                risk_level=risk,
            )
            inspection._history_user = user
            inspection.save()
            Answer.objects.bulk_create(
                [
                    Answer(inspection=inspection, item=items[a.item], value=a.value, note=a.note.strip())
                    for a in answers
                ]
            )
            _update_actions(inspection, items, answers, user)
            if assignment is not None and assignment.status != AssignmentStatus.DONE:
                assignment.status = AssignmentStatus.DONE
                assignment._history_user = user
                assignment.save(update_fields=["status", "updated_at"])
    except IntegrityError:
        # A simultaneous send of the same UUID won the race: answer with its row.
        existing = Inspection.objects.filter(client_uuid=client_uuid).first()
        if existing is None:
            raise
        return _replay(existing, digest, user)
    return Submitted(inspection=inspection, created=True)


def _replay(existing: Inspection, digest: str, user) -> Submitted:

    if existing.inspector_id != user.id:
        raise NotVisible({"client_uuid": [_("no such inspection")]})
    if existing.content_hash != digest:
        raise Conflict(
            {
                "client_uuid": [
                    _(
                        "an inspection with this UUID was already received with other "
                        "content; nothing was changed"
                    )
                ]
            }
        )
    return Submitted(inspection=existing, created=False)


def _update_actions(inspection: Inspection, items: dict, answers: list[AnswerIn], user) -> None:
    """Failed items open (or re-open) a corrective action; passed items verify earlier ones."""
    site = inspection.site
    responsible = site.agency or inspection.agency
    # Two inspections of one site sent at the same moment would both find no open action for a
    # failed item and both create one (the unique constraint then turned the second into a 500;
    # found by the load test). Serialise them on the site row; FOR NO KEY UPDATE does not block
    # rows that merely reference the site.
    Site.objects.select_for_update(no_key=True).filter(pk=site.pk).order_by().values_list(
        "pk", flat=True
    ).first()
    # The unresolved actions of the answered items, locked, in one query (at most one per item:
    # action_one_unresolved_per_site_item).
    unresolved_by_item = {
        action.item_code: action
        for action in CorrectiveAction.objects.select_for_update(of=("self",))
        .filter(site=site, item_code__in=[items[a.item].code for a in answers])
        .exclude(status=ActionStatus.VERIFIED)
        .select_related("opened_by")
        .order_by()
    }
    for a in answers:
        item = items[a.item]
        unresolved = unresolved_by_item.get(item.code)
        if a.value == AnswerValue.FAIL:
            if unresolved is None:
                action = CorrectiveAction(
                    site=site,
                    item_code=item.code,
                    description=item.question,
                    severity=item.severity,
                    agency=responsible,
                    opened_by=inspection,
                    deadline=timezone.localtime(inspection.performed_at).date()
                    + timedelta(days=SEVERITY_DEADLINE_DAYS[item.severity]),
                )
                action._history_user = user
                action.save()
            elif unresolved.status == ActionStatus.REPORTED_DONE and (
                inspection.performed_at > (unresolved.reported_done_at or unresolved.created_at)
            ):
                unresolved.status = ActionStatus.OPEN  # reported fixed, found failing again
                unresolved._history_user = user
                unresolved.save(update_fields=["status"])
        elif (
            a.value == AnswerValue.PASS
            and unresolved is not None
            # Inspections sent late from the field must not verify a failure found after them.
            and inspection.performed_at > unresolved.opened_by.performed_at
        ):
            unresolved.status = ActionStatus.VERIFIED
            unresolved.verified_by = inspection
            unresolved.verified_at = timezone.now()
            unresolved._history_user = user
            unresolved.save(update_fields=["status", "verified_by", "verified_at"])


# --- photos --------------------------------------------------------------------------------------------


@dataclass
class PhotoAdded:
    photo: InspectionPhoto
    created: bool


@transaction.atomic
def inspection_photo_add(
    *, user, inspection: Inspection, data: bytes, filename: str = "", item_code: str | None = None
) -> PhotoAdded:
    """Attach a photo, cleaned of its metadata; sending the same photo again stores nothing."""

    if inspection.inspector_id != user.id:
        raise NotAllowed(_("only the inspector who made the inspection adds its photos"))
    item = None
    if item_code:
        item = inspection.template.items.filter(code=item_code).first()
        if item is None:
            raise InspectionError({"item": [_("unknown item %(code)s") % {"code": item_code}]})
    try:
        clean = photo_clean(data, filename=filename)
    except PhotoRejected as exc:
        raise InspectionError({"photo": [str(exc)]}) from exc
    inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
    existing = InspectionPhoto.objects.filter(inspection=inspection, sha256=clean.sha256).first()
    if existing is not None:
        return PhotoAdded(photo=existing, created=False)
    exif_distance = None
    if clean.exif_lon is not None and inspection.position is not None:
        exif_distance = distance_m(
            clean.exif_lon, clean.exif_lat, inspection.position.x, inspection.position.y
        )
    photo = InspectionPhoto(
        inspection=inspection,
        item=item,
        sha256=clean.sha256,
        width=clean.width,
        height=clean.height,
        exif_distance_m=exif_distance,
    )
    photo.file.save(f"{clean.sha256}{clean.extension}", ContentFile(clean.content), save=False)
    photo.save()
    flags = list(inspection.flags)
    if item is not None and f"photo_missing:{item.code}" in flags:
        flags.remove(f"photo_missing:{item.code}")
    if (
        exif_distance is not None
        and exif_distance > MAX_DISTANCE_M
        and "photo_far_from_inspector" not in flags
    ):
        flags.append("photo_far_from_inspector")
    if flags != inspection.flags:
        inspection.flags = flags
        inspection._history_user = user
        inspection.save(update_fields=["flags"])
    return PhotoAdded(photo=photo, created=True)


# --- corrective actions --------------------------------------------------------------------------------


@transaction.atomic
def corrective_action_report_done(*, user, action: CorrectiveAction, note: str = "") -> CorrectiveAction:
    """The responsible agency reports the fix; only a later inspection verifies it."""

    profile = profile_of(user)
    if not (
        sees_everything(user)
        or (
            profile
            and profile.agency_id == action.agency_id
            and profile.role in (Role.AGENCY_MANAGER, Role.INSPECTOR)
        )
    ):
        raise NotAllowed(_("only the responsible agency reports a corrective action done"))
    action = CorrectiveAction.objects.select_for_update().get(pk=action.pk)
    if action.status != ActionStatus.OPEN:
        raise Conflict(
            {
                "status": [
                    _("only an open action can be reported done (it is %(s)s)")
                    % {"s": action.get_status_display()}
                ]
            }
        )
    action.status = ActionStatus.REPORTED_DONE
    action.reported_done_at = timezone.now()
    action.reported_done_by = user
    action.report_note = note.strip()
    action._history_user = user
    action.save()
    return action


def agencies_in_force(on: date | None = None):
    day = on or today()
    return Agency.objects.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day)).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)
    )
