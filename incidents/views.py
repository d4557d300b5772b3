"""Incident pages: the public, suppressed overview; and for the coordinator and area
leaders, the records, a form to enter one and a file import."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.exceptions import DomainError
from inspections.scoping import profile_of, sees_everything
from places.kinds import WATER_TYPES

from .aggregates import aggregate_table
from .forms import ImportForm, IncidentForm, PeriodForm
from .hotspots import hotspot_confirm, suggested_hotspots
from .importer import IncidentFileError, import_incidents
from .privacy import reads_single_records
from .selectors import incident_list
from .services import incident_record

FIELD_OF = {"location": "lon", "commune": "commune", "date": "date", "circumstances": "circumstances"}


def _readers_only(view):
    @login_required
    def wrapped(request, *args, **kwargs):
        if not reads_single_records(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def index(request):
    """Counts per area and category; small numbers hidden except for the coordinator."""
    form = PeriodForm(request.GET or None)
    params = form.cleaned_data if form.is_valid() else {"level": "commune", "by": "kind"}
    table = aggregate_table(
        level=params["level"],
        by=params["by"],
        date_from=params.get("date_from"),
        date_to=params.get("date_to"),
        suppressed=not sees_everything(request.user),
    )
    return render(
        request,
        "incidents/index.html",
        {
            "form": form,
            "table": table,
            "can_read_records": reads_single_records(request.user),
        },
    )


@_readers_only
def records(request):
    qs = incident_list(user=request.user).order_by("-date", "-id")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "incidents/records.html", {"page": page})


@_readers_only
@require_http_methods(["GET", "POST"])
def new(request):
    form = IncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        location = Point(d["lon"], d["lat"], srid=4326) if d.get("lon") is not None else None
        try:
            incident_record(
                user=request.user,
                kind=d["kind"],
                day=d["date"],
                time_of_day=d.get("time"),
                location=location,
                commune_code=d.get("commune") or None,
                age_band=d["age_band"],
                sex=d["sex"],
                outcome=d["outcome"],
                circumstances=d.get("circumstances", ""),
                source=d["source"],
                reference=d.get("reference", ""),
            )
        except DomainError as exc:
            for field, messages in exc.errors.items():
                for message in messages:
                    form.add_error(
                        FIELD_OF.get(field, field) if FIELD_OF.get(field, field) in form.fields else None,
                        message,
                    )
        else:
            return redirect("incidents:records")
    return render(request, "incidents/new.html", {"form": form})


@_readers_only
@require_http_methods(["GET", "POST"])
def import_file(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    report, error = None, None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = import_incidents(
                data=upload.read(),
                filename=upload.name,
                user=request.user,
                dry_run=form.cleaned_data["dry_run"],
            )
        except IncidentFileError as exc:
            error = str(exc)
    return render(request, "incidents/import.html", {"form": form, "report": report, "error": error})


@_readers_only
@require_http_methods(["GET", "POST"])
def hotspots(request):
    """Suggested hotspots in the reader's area (clusters with no site nearby); one click confirms."""
    profile = profile_of(request.user)
    area = None if sees_everything(request.user) or profile is None else profile.area
    error = None
    if request.method == "POST":
        try:
            site = hotspot_confirm(
                user=request.user,
                cluster_id=request.POST.get("cluster", ""),
                name=request.POST.get("name", ""),
                water_type=request.POST.get("water_type", ""),
            )
        except DomainError as exc:
            error = "; ".join(m for messages in exc.errors.values() for m in messages)
        else:
            messages.success(request, _("%(name)s is now a registered site.") % {"name": site.name})
            return redirect("incidents:hotspots")
    clusters = suggested_hotspots(area=area)
    return render(
        request,
        "incidents/hotspots.html",
        {
            "clusters": clusters,
            "error": error,
            "water_types": WATER_TYPES,
            "can_read_records": True,
        },
    )
