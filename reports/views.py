"""Report pages: the coordinator's overview of who has submitted for a period (with the provincial
report a click away), each user's own reports with a form to generate one, and the printable report."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import DomainError
from inspections.scoping import profile_of, sees_everything

from .api import download_response
from .models import Scope
from .render import FORMATS, localized, table_keys
from .services import (
    ReportNotFound,
    may_use_reports,
    parse_params,
    parse_period,
    report_create,
    report_get,
    report_list,
    report_submit,
    submissions,
)


def _users_only(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not may_use_reports(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _own_scope(user) -> dict:
    """The generate form's fixed scope for a manager or a leader."""
    profile = profile_of(user)
    if sees_everything(user) or profile is None:
        return {"scope": Scope.PROVINCE}
    if profile.agency and profile.role == "agency_manager":
        return {"scope": Scope.AGENCY, "agency": profile.agency.code, "label": profile.agency.name}
    return {"scope": Scope.AREA, "area": profile.area.code, "label": profile.area.name}


@_users_only
def index(request):
    """For the coordinator: who has submitted for the period; for the others: their own reports."""
    default_year = timezone.localdate().year - 1
    query = {k: v for k, v in request.GET.items() if k in ("year", "from", "to")} or {
        "year": str(default_year)
    }
    errors = {}
    try:
        period = parse_period(query)
    except DomainError as exc:
        errors = exc.errors
        period = parse_period({"year": str(default_year)})
    coordinator = sees_everything(request.user)
    rows = submissions(period) if coordinator else []
    reports = report_list(user=request.user).filter(date_from=period.date_from, date_to=period.date_to)
    return render(
        request,
        "reports/index.html",
        {
            "period": period,
            "query": query,
            "errors": errors,
            "coordinator": coordinator,
            "rows": rows,
            "submitted_count": sum(1 for r in rows if r["report"]),
            "reports": reports[:200],
            "own": _own_scope(request.user),
        },
    )


@_users_only
@require_POST
def generate(request):
    data = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
    try:
        scope, period, suppressed = parse_params(data)
        report = report_create(user=request.user, scope=scope, period=period, suppressed=suppressed)
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied from exc
        for field, problems in exc.errors.items():
            messages.error(request, f"{field}: {' '.join(str(p) for p in problems)}")
        return redirect("reports:index")
    messages.success(request, _("The report was generated and frozen."))
    return redirect("reports:detail", pk=report.pk)


def _get(request, pk):
    try:
        return report_get(user=request.user, pk=pk)
    except ReportNotFound:
        raise Http404 from None


@_users_only
def detail(request, pk):
    report = _get(request, pk)
    lang = translation.get_language() or "vi"
    lang = "en" if lang.startswith("en") else "vi"
    return render(
        request,
        "reports/detail.html",
        {
            "report": report,
            "doc": localized(report.data, lang),
            "lang": lang,
            "checksum": report.checksum,
            "formats": FORMATS,
            "tables": table_keys(report.data),
            "can_submit": report.scope != Scope.PROVINCE and report.submitted_at is None,
        },
    )


@_users_only
@require_http_methods(["GET"])
def download(request, pk, fmt):
    report = _get(request, pk)
    lang = translation.get_language() or "vi"
    params = {"format": fmt, **{k: v for k, v in request.GET.items() if k in ("lang", "table")}}
    try:
        return download_response(report, params, default_lang="en" if lang.startswith("en") else "vi")
    except DomainError as exc:
        messages.error(request, "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.errors.items()))
        return redirect("reports:detail", pk=report.pk)


@_users_only
@require_POST
def submit(request, pk):
    report = _get(request, pk)
    try:
        report_submit(user=request.user, report=report)
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied from exc
        messages.error(request, "; ".join(" ".join(map(str, v)) for v in exc.errors.values()))
        return redirect("reports:detail", pk=report.pk)
    messages.success(request, _("The report was submitted to the coordinator."))
    return redirect("reports:detail", pk=report.pk)
