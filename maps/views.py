"""Map pages: /maps/ (a choropleth with the choice of indicator, level, period, kind and
agency; an area leader lands on his own area; a district click opens its communes) and
/maps/units/<code>/ (every indicator of one unit)."""

from datetime import date

from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import urlencode
from rest_framework.exceptions import ValidationError

from core.exceptions import DomainError
from incidents.models import IncidentKind
from incidents.privacy import reads_single_records
from inspections.models import Agency, Role
from inspections.scoping import profile_of
from places.kinds import KINDS
from places.models import AdminUnit

from .builders import builder_for, map_parts, tiles_setting
from .classify import METHODS, ClassificationError
from .indicators import INDICATORS, LEVELS, indicator_table, period, privacy_footnote
from .layers import choropleth, upper_boundaries
from .params import MAP_PARAMS, map_params


class _Query:
    """Lets the API's parameter parsing read a page's GET parameters."""

    def __init__(self, request):
        self.query_params = request.GET


def _bad_request(errors) -> HttpResponseBadRequest:
    items = "".join(
        f"<li><code>{escape(k)}</code>: {escape(' '.join(str(m) for m in v))}</li>" for k, v in errors.items()
    )
    return HttpResponseBadRequest(f"<!DOCTYPE html><title>400</title><ul>{items}</ul>")


def _defaults_for(user) -> dict:
    """An area leader lands on his own area (its communes); everyone else on the province's districts."""
    profile = profile_of(user)
    if profile and profile.role == Role.AREA_LEADER and profile.area:
        return {"area": profile.area.code, "level": "commune"}
    return {"level": "district"}


def build_page_map(request, params: dict):
    """The choropleth and the folium map for a page (or the export) from parsed parameters."""
    indicator = params.pop("indicator")
    bbox = params.pop("bbox", None)
    ch = choropleth(indicator, user=request.user, bbox=bbox, page_url=reverse("maps:index"), **params)
    api = {"sites": reverse("site-list")}
    if reads_single_records(request.user):
        api["incidents"] = (
            reverse("incident-list")
            + "?"
            + urlencode({"from": ch.date_from.isoformat(), "to": ch.date_to.isoformat(), "page_size": 1000})
        )
    builder = builder_for(indicator)
    kwargs = {"boundaries": upper_boundaries(ch.level, ch.structure), "api": api, "tiles": tiles_setting()}
    if builder.__name__ == "coverage_map":
        kwargs["api"] = {"sites": api["sites"]}
    return ch, builder(ch, **kwargs)


def index(request):
    unknown = sorted(set(request.GET) - MAP_PARAMS)
    if unknown:
        return _bad_request({name: ["unknown query parameter"] for name in unknown})
    defaults = _defaults_for(request.user)
    query = request.GET.copy()
    for key, value in defaults.items():
        query.setdefault(key, value)
    shim = _Query(request)
    shim.query_params = query
    try:
        params = map_params(shim, default_indicator="risk", default_level=defaults["level"])
        ch, m = build_page_map(request, dict(params))
    except ValidationError as exc:
        return _bad_request(exc.detail)
    except ClassificationError as exc:
        return _bad_request({exc.field: [str(exc)]})
    except DomainError as exc:
        return _bad_request(exc.errors)
    meta = ch.collection["meta"]
    area_code = query.get("area")
    area = AdminUnit.objects.filter(code=area_code).first() if area_code else None
    up = None
    if area is not None:
        up_params = {k: v for k, v in query.items() if k not in ("area", "level")}
        up = reverse("maps:index") + "?" + urlencode({**up_params, "level": "district"})
    return render(
        request,
        "maps/index.html",
        {
            "map": map_parts(m),
            "meta": meta,
            "legend": ch.legend,
            "indicators": [(name, spec.label) for name, spec in INDICATORS.items()],
            "levels": LEVELS,
            "methods": METHODS,
            "site_kinds": [(code, spec.label) for code, spec in KINDS.items()],
            "incident_kinds": IncidentKind.choices,
            "agencies": Agency.objects.order_by("kind", "code"),
            "q": {
                **{k: query.get(k, "") for k in MAP_PARAMS},
                "indicator": meta["indicator"],
                "level": meta["level"],
                "from": meta["from"],
                "to": meta["to"],
                "classes": meta["method"],
            },
            "area": area,
            "up_url": up,
        },
    )


def unit_detail(request, code: str):
    """Every indicator of one unit for the period (?from=&to=&level=&structure=)."""
    try:
        date_from = date.fromisoformat(request.GET["from"]) if request.GET.get("from") else None
        date_to = date.fromisoformat(request.GET["to"]) if request.GET.get("to") else None
        date_from, date_to = period(date_from, date_to)
    except ValueError:
        return _bad_request({"from": ["expected a date YYYY-MM-DD"]})
    except DomainError as exc:
        return _bad_request(exc.errors)
    level = request.GET.get("level", "commune")
    if level not in LEVELS:
        return _bad_request({"level": [f"unknown value '{level}'"]})
    restate = request.GET.get("structure", "new") != "old"
    units = AdminUnit.objects.filter(code=code, level=level)
    if not units.exists():
        return _bad_request({"code": [f"no {level} with code '{code}'"]})
    rows = []
    unit = None
    for name, spec in INDICATORS.items():
        values = indicator_table(
            name, level=level, date_from=date_from, date_to=date_to, user=request.user, restate=restate
        )
        found = next((v for v in values if v.code == code), None)
        if found is None:
            continue
        unit = found
        rows.append({"spec": spec, "row": found})
    return render(
        request,
        "maps/unit.html",
        {
            "unit": unit,
            "rows": rows,
            "date_from": date_from,
            "date_to": date_to,
            "footnote": privacy_footnote() if any(r["row"].suppressed for r in rows) else "",
        },
    )
