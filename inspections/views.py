"""Phone-sized pages of inspections: my assignments, the inspection form, my inspections,
and the agency manager's assignment, overdue and corrective-action pages.

Thin views: parse the form, call one selector or service, render. Who sees what is
decided by inspections.selectors / places.selectors (scoping); the role checks here only
pick which pages a role has (403), and objects outside the user's scope are 404.
"""

import json
import re
import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.geos import Point
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core.i18n import localized as _localized
from places.geojson import site_features_json
from places.models import SiteStatus
from places.selectors import site_list, today

from .errors import InspectionError
from .forms import AssignForm, InspectionForm, SiteFilterForm
from .models import ActionStatus, Role
from .models.assignments import OPEN_ASSIGNMENT_STATUSES
from .models.records import AnswerValue
from .photos import PhotoRejected, photo_clean
from .scoping import profile_of
from .selectors import (
    action_list,
    assignment_list,
    checklist_template,
    current_template,
    inspection_list,
    inspector_list,
)
from .services import (
    MAX_ACCURACY_M,
    MAX_DISTANCE_M,
    assignment_create,
    corrective_action_report_done,
    inspection_photo_add,
    inspection_submit,
)

INSPECTING_ROLES = {Role.INSPECTOR, Role.AGENCY_MANAGER}
MANAGER_ROLES = {Role.AGENCY_MANAGER}
PAGE_SIZE = 50
# An inspector's open assignments are tens; the list and the map stop here all the same.
MAX_ASSIGNMENTS_SHOWN = 300
MAX_SITES_LISTED = 300


# --- helpers ---------------------------------------------------------------------------------------------
def _forbidden(request):
    return render(request, "inspections/forbidden.html", _context(request), status=403)


def role_required(roles: set[str]):
    """Logged in, with one of `roles` and an agency; anyone else gets a 403 page."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            profile = profile_of(request.user)
            if profile is None or profile.role not in roles or profile.agency_id is None:
                return _forbidden(request)
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator


def _context(request, **extra) -> dict:
    profile = profile_of(request.user)
    role = profile.role if profile else None
    ctx = {
        "is_inspecting": role in INSPECTING_ROLES and profile.agency_id is not None,
        "is_manager": role in MANAGER_ROLES and profile.agency_id is not None,
        "agency_name": _localized(profile.agency, "name") if profile and profile.agency else "",
        "section": extra.pop("section", ""),
    }
    ctx.update(extra)
    return ctx


def _page(request, qs):
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _int_or_404(text) -> int | None:
    if text in (None, ""):
        return None
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise Http404(_("No such assignment.")) from None
    if value < 1:
        raise Http404(_("No such assignment."))
    return value


def _is_overdue(assignment) -> bool:
    return assignment.status in OPEN_ASSIGNMENT_STATUSES and assignment.due_date < today()


FLAG_LABELS = {
    "far_from_site": gettext_lazy("Recorded more than %(m)s m from the site"),
    "no_position": gettext_lazy("No position was recorded"),
    "poor_gps_accuracy": gettext_lazy("GPS accuracy worse than %(m)s m"),
    "reassigned": gettext_lazy("Made by another inspector than the one assigned"),
    "photo_far_from_inspector": gettext_lazy("A photo was taken far from where the inspector stood"),
}


def flag_labels(flags: list[str]) -> list[str]:
    labels = []
    for flag in flags:
        name, _sep, code = flag.partition(":")
        if name == "photo_missing":
            labels.append(_("Photo missing for item %(code)s") % {"code": code})
        elif name == "far_from_site":
            labels.append(str(FLAG_LABELS[name]) % {"m": f"{MAX_DISTANCE_M:.0f}"})
        elif name == "poor_gps_accuracy":
            labels.append(str(FLAG_LABELS[name]) % {"m": f"{MAX_ACCURACY_M:.0f}"})
        else:
            labels.append(str(FLAG_LABELS.get(name, flag)))
    return labels


# --- 1. my assignments -----------------------------------------------------------------------------------


@role_required(INSPECTING_ROLES)
def index(request):
    qs = (
        assignment_list(user=request.user, mine=True)
        .filter(status__in=OPEN_ASSIGNMENT_STATUSES)
        .select_related("site__commune")
        .order_by("due_date", "id")
    )
    total = qs.count()
    rows = []
    for number, a in enumerate(qs[:MAX_ASSIGNMENTS_SHOWN], start=1):
        url = reverse("inspections:inspect", args=[a.site_id]) + "?" + urlencode({"assignment": a.id})
        rows.append(
            {
                "number": number,
                "assignment": a,
                "url": url,
                "overdue": _is_overdue(a),
                "days_left": (a.due_date - today()).days,
                "days_late": max(0, (today() - a.due_date).days),
                "commune": _localized(a.site.commune, "name"),
            }
        )
    # The map draws the GeoJSON of these sites (built in PostGIS) as inline SVG: no tiles, works offline.
    first_row = {}
    for row in rows:
        first_row.setdefault(row["assignment"].site_id, row)
    features = json.loads(site_features_json(list(first_row))) if first_row else []
    for feature in features:
        row = first_row[feature["properties"]["id"]]
        feature["properties"] = {
            "id": feature["properties"]["id"],
            "number": row["number"],
            "name": feature["properties"]["name"],
            "kind": str(row["assignment"].site.get_kind_display()),
            "url": row["url"],
            "overdue": row["overdue"],
        }
    return render(
        request,
        "inspections/index.html",
        _context(
            request,
            section="index",
            rows=rows,
            total=total,
            overdue_count=sum(1 for r in rows if r["overdue"]),
            truncated=total > len(rows),
            features=features,
        ),
    )


# --- 2. the inspection form ------------------------------------------------------------------------------


# Service error keys → the form field they belong to; the rest are shown above the form.
SERVICE_FIELD = {"gps_accuracy_m": "accuracy", "findings": "findings", "position": "lon"}


def _apply_service_errors(form: InspectionForm, errors: dict[str, list[str]]) -> list[str]:
    """Put the service's messages next to their fields; return those that belong to no field."""
    general = []
    codes = [item.code for item in form.items]
    for key, messages_ in errors.items():
        for message in messages_:
            if key == "answers":
                # The service names the item(s) in its message ("CS-03: answer must be …").
                named = [c for c in codes if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", message)]
                if len(named) == 1:
                    form.add_error(f"answer-{named[0]}", message)
                    continue
            elif key in SERVICE_FIELD:
                form.add_error(SERVICE_FIELD[key], message)
                continue
            general.append(message)
    return general


def _site_and_assignment(request, site_id: int, assignment_id: int | None):
    """The site (and assignment) as the user may see them; 404 otherwise."""
    assignment = None
    if assignment_id is not None:
        assignment = assignment_list(user=request.user).filter(pk=assignment_id, site_id=site_id).first()
        if assignment is None:
            raise Http404(_("No such assignment."))
    site = site_list(user=request.user).filter(pk=site_id).select_related("commune").first()
    if site is None and assignment is not None:
        # Re-routed while assigned: the assignment of the user's agency still lets him inspect it.
        site = assignment.site
    if site is None:
        raise Http404(_("No such site."))
    return site, assignment


def _template_for(site, version: int | None):
    if version is None:
        return current_template(site_kind=site.kind)
    return checklist_template(site_kind=site.kind, version=version)


@role_required(INSPECTING_ROLES)
@require_http_methods(["GET", "POST"])
def inspect(request, site_id: int):
    posted = request.method == "POST"
    source = request.POST if posted else request.GET
    site, assignment = _site_and_assignment(request, site_id, _int_or_404(source.get("assignment")))
    version = None
    if posted:
        try:
            version = int(request.POST.get("template_version", ""))
        except ValueError:
            version = None
    template = _template_for(site, version)
    if template is None:
        return render(
            request,
            "inspections/inspect.html",
            _context(request, section="index", site=site, kind=site.get_kind_display(), no_template=True),
        )
    items = list(template.items.all())
    general_errors: list[str] = []
    photo_errors: dict[str, list[str]] = {}
    sent_before = None
    if posted:
        data = request.POST.copy()
        if not data.get("client_uuid"):
            # Without JavaScript the UUID comes from the <noscript> field made when the form was drawn.
            data["client_uuid"] = data.get("client_uuid_nojs", "")
        form = InspectionForm(data, items=items)
        photos = []
        for item in items:
            for upload in request.FILES.getlist(f"photo-{item.code}"):
                content = upload.read()
                try:
                    photo_clean(content, filename=upload.name)
                except PhotoRejected as exc:
                    photo_errors.setdefault(item.code, []).append(str(exc))
                photos.append((item.code, upload.name, content))
        if form.is_valid() and not photo_errors:
            d = form.cleaned_data
            position = Point(d["lon"], d["lat"], srid=4326) if d.get("lon") is not None else None
            try:
                submitted = inspection_submit(
                    user=request.user,
                    client_uuid=d["client_uuid"],
                    site_id=site.id,
                    assignment_id=d.get("assignment"),
                    template_version=d["template_version"],
                    performed_at=d["performed_at"],
                    position=position,
                    gps_accuracy_m=d.get("accuracy"),
                    findings=d.get("findings", ""),
                    answers=form.answers(),
                )
            except InspectionError as exc:
                general_errors = _apply_service_errors(form, exc.errors)
                if "client_uuid" in exc.errors and exc.status == 409:
                    # This form's UUID was already received with other answers (an old draft sent
                    # again after editing): show that inspection and offer a fresh form.
                    sent_before = reverse("inspections:detail", args=[d["client_uuid"]])
            else:
                inspection = submitted.inspection
                for code, name, content in photos:
                    try:
                        inspection_photo_add(
                            user=request.user,
                            inspection=inspection,
                            data=content,
                            filename=name,
                            item_code=code,
                        )
                    except InspectionError as exc:
                        for msgs in exc.errors.values():
                            for msg in msgs:
                                messages.error(
                                    request, _("Photo for %(code)s: %(error)s") % {"code": code, "error": msg}
                                )
                if submitted.created:
                    messages.success(
                        request,
                        _("The inspection was received. Result: %(result)s.")
                        % {"result": inspection.get_result_display()},
                    )
                else:
                    messages.info(
                        request, _("This inspection had already been received; it was not stored twice.")
                    )
                return redirect("inspections:detail", client_uuid=inspection.client_uuid)
        # A browser cannot put a chosen file back into a form drawn again: say so where it was chosen.
        for code, _name, _content in photos:
            if code not in photo_errors:
                photo_errors.setdefault(code, []).append(_("Choose the photo again before sending."))
    else:
        form = InspectionForm(
            initial={
                "performed_at": timezone.localtime().isoformat(timespec="seconds"),
                "template_version": template.version,
                "assignment": assignment.id if assignment else None,
            },
            items=items,
        )
    hidden_labels = {
        "client_uuid": _("Form identifier"),
        "performed_at": _("Time of the inspection"),
        "template_version": _("Checklist version"),
        "assignment": _("Assignment"),
    }
    for name, label in hidden_labels.items():
        for error in form.errors.get(name, []):
            general_errors.append(f"{label}: {error}")
    general_errors = [*form.non_field_errors(), *general_errors]
    rows = []
    for item in items:
        answer = form[f"answer-{item.code}"]
        rows.append(
            {
                "item": item,
                "question": _localized(item, "question"),
                "severity": item.get_severity_display(),
                "answer": answer,
                "value": answer.value() or "",
                "note": form[f"note-{item.code}"],
                "photo_name": f"photo-{item.code}",
                "photo_errors": photo_errors.get(item.code, []),
                "choices": [
                    (value, label, f"answer-{item.code}-{value}") for value, label in AnswerValue.choices
                ],
            }
        )
    return render(
        request,
        "inspections/inspect.html",
        _context(
            request,
            section="index",
            site=site,
            kind=site.get_kind_display(),
            commune=_localized(site.commune, "name"),
            assignment=assignment,
            template=template,
            template_title=_localized(template, "title"),
            form=form,
            rows=rows,
            general_errors=general_errors,
            fallback_uuid=uuid.uuid4(),
            sent_before=sent_before,
            fresh_url=reverse("inspections:inspect", args=[site.id])
            + (("?" + urlencode({"assignment": assignment.id})) if assignment else ""),
            bound=form.is_bound,
        ),
    )


# --- 3. my inspections and one inspection ----------------------------------------------------------------


@role_required(INSPECTING_ROLES)
def mine(request):
    page = _page(request, inspection_list(user=request.user, mine=True).order_by("-performed_at", "-id"))
    rows = [{"inspection": i, "flags": flag_labels(i.flags)} for i in page]
    return render(request, "inspections/mine.html", _context(request, section="mine", page=page, rows=rows))


def _visible_inspection(request, client_uuid):
    inspection = (
        inspection_list(user=request.user)
        .filter(client_uuid=client_uuid)
        .select_related("site__commune", "assignment")
        .prefetch_related("answers__item", "photos__item")
        .first()
    )
    if inspection is None:
        raise Http404(_("No such inspection."))
    return inspection


@login_required
def detail(request, client_uuid):
    inspection = _visible_inspection(request, client_uuid)
    answers = sorted(inspection.answers.all(), key=lambda a: (a.item.order, a.item.code))
    actions = action_list(user=request.user).filter(opened_by=inspection).order_by("deadline", "id")
    own = inspection.inspector_id == request.user.id
    failed_items = [a.item for a in answers if a.value == AnswerValue.FAIL]
    return render(
        request,
        "inspections/detail.html",
        _context(
            request,
            section="mine",
            inspection=inspection,
            site=inspection.site,
            commune=_localized(inspection.site.commune, "name"),
            template_title=_localized(inspection.template, "title"),
            answers=[
                {"answer": a, "question": _localized(a.item, "question"), "value": a.get_value_display()}
                for a in answers
            ],
            flags=flag_labels(inspection.flags),
            photos=list(inspection.photos.all()),
            actions=actions,
            can_add_photo=own,
            photo_items=failed_items or [a.item for a in answers],
        ),
    )


@login_required
def photo(request, client_uuid, photo_id: int):
    """A stored photo, to those who may see its inspection (photos are not public media)."""
    inspection = _visible_inspection(request, client_uuid)
    stored = inspection.photos.filter(pk=photo_id).first()
    if stored is None:
        raise Http404(_("No such photo."))
    content_type = "image/png" if stored.file.name.endswith(".png") else "image/jpeg"
    response = FileResponse(stored.file.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response


@require_POST
@login_required
def photo_add(request, client_uuid):
    inspection = _visible_inspection(request, client_uuid)
    upload = request.FILES.get("photo")
    if upload is None:
        messages.error(request, _("Choose a photo first."))
    else:
        try:
            added = inspection_photo_add(
                user=request.user,
                inspection=inspection,
                data=upload.read(),
                filename=upload.name,
                item_code=request.POST.get("item") or None,
            )
        except InspectionError as exc:
            for msgs in exc.errors.values():
                for msg in msgs:
                    messages.error(request, msg)
        else:
            if added.created:
                messages.success(request, _("The photo was added."))
            else:
                messages.info(request, _("This photo had already been added."))
    return redirect("inspections:detail", client_uuid=inspection.client_uuid)


# --- 4. manager pages ------------------------------------------------------------------------------------


@role_required(MANAGER_ROLES)
@require_http_methods(["GET", "POST"])
def assign(request):
    agency = profile_of(request.user).agency
    filters = SiteFilterForm(request.GET or None)
    sites = site_list(user=request.user).filter(status=SiteStatus.ACTIVE, agency=agency)
    if filters.is_valid():
        if filters.cleaned_data.get("kind"):
            sites = sites.filter(kind=filters.cleaned_data["kind"])
        if filters.cleaned_data.get("commune"):
            sites = sites.filter(commune_id=filters.cleaned_data["commune"])
    elif filters.is_bound:
        sites = sites.none()
    sites = sites.select_related("commune").order_by("kind", "name", "id")
    site_count = sites.count()
    shown = list(sites[:MAX_SITES_LISTED])
    site_choices = [(s.id, s.name) for s in shown]
    inspectors = list(inspector_list(agency=agency))
    if request.method == "POST":
        form = AssignForm(request.POST, site_choices=site_choices, inspectors=inspectors)
        if form.is_valid():
            d = form.cleaned_data
            try:
                result = assignment_create(
                    manager=request.user,
                    sites=sites if d["scope"] == "all" else list(d["sites"]),
                    inspector=form.inspectors.get(d["inspector"]) if d["inspector"] else None,
                    due_date=d["due_date"],
                    priority=d["priority"],
                    round_name=d["round_name"],
                    note=d["note"],
                )
            except InspectionError as exc:
                for key, msgs in exc.errors.items():
                    for msg in msgs:
                        form.add_error(key if key in form.fields else None, msg)
            else:
                messages.success(
                    request,
                    _("Assignments created: %(created)s. Sites skipped (already assigned): %(skipped)s.")
                    % {"created": len(result.created), "skipped": len(result.skipped_open)},
                )
                return redirect(request.get_full_path())
    else:
        form = AssignForm(site_choices=site_choices, inspectors=inspectors)
    ticked = {str(v) for v in (form["sites"].value() or [])}
    return render(
        request,
        "inspections/assign.html",
        _context(
            request,
            section="assign",
            filters=filters,
            form=form,
            sites=[
                {
                    "site": s,
                    "kind": s.get_kind_display(),
                    "commune": _localized(s.commune, "name"),
                    "ticked": str(s.id) in ticked,
                }
                for s in shown
            ],
            site_count=site_count,
            truncated=site_count > len(shown),
            no_inspectors=not inspectors,
        ),
    )


@role_required(MANAGER_ROLES)
def overdue(request):
    qs = (
        assignment_list(user=request.user, overdue=True)
        .select_related("site__commune")
        .order_by("due_date", "id")
    )
    page = _page(request, qs)
    rows = [
        {
            "assignment": a,
            "days": (today() - a.due_date).days,
            "commune": _localized(a.site.commune, "name"),
            "url": reverse("inspections:inspect", args=[a.site_id]) + "?" + urlencode({"assignment": a.id}),
        }
        for a in page
    ]
    return render(
        request, "inspections/overdue.html", _context(request, section="overdue", page=page, rows=rows)
    )


ACTION_TABS = [
    ("open", gettext_lazy("Open")),
    ("reported_done", gettext_lazy("Reported done")),
    ("verified", gettext_lazy("Verified")),
    ("overdue", gettext_lazy("Overdue")),
]


def _actions_for(user, tab: str):
    if tab == "overdue":
        return action_list(user=user, overdue=True)
    return action_list(user=user, status=tab)


@role_required(MANAGER_ROLES)
def actions(request):
    tab = request.GET.get("status") or "open"
    if tab not in dict(ACTION_TABS):
        tab = "open"
    tabs = [
        {
            "code": code,
            "label": label,
            "count": _actions_for(request.user, code).count(),
            "active": code == tab,
        }
        for code, label in ACTION_TABS
    ]
    page = _page(
        request, _actions_for(request.user, tab).select_related("site__commune").order_by("deadline", "id")
    )
    rows = [
        {
            "action": a,
            "overdue": a.status != ActionStatus.VERIFIED and a.deadline < today(),
            "commune": _localized(a.site.commune, "name"),
            "can_report": a.status == ActionStatus.OPEN,
        }
        for a in page
    ]
    return render(
        request,
        "inspections/actions.html",
        _context(request, section="actions", tabs=tabs, tab=tab, page=page, rows=rows),
    )


@role_required(MANAGER_ROLES)
@require_POST
def action_report_done(request, action_id: int):
    action = action_list(user=request.user).filter(pk=action_id).first()
    if action is None:
        raise Http404(_("No such corrective action."))
    try:
        corrective_action_report_done(user=request.user, action=action, note=request.POST.get("note", ""))
    except InspectionError as exc:
        for msgs in exc.errors.values():
            for msg in msgs:
                messages.error(request, msg)
    else:
        messages.success(request, _("Reported done; a later inspection will verify it."))
    back = request.POST.get("next", "")
    home = reverse("inspections:actions")
    if not (
        back.startswith(home) and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    ):
        back = home
    return redirect(back)
