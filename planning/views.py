"""The play-area planning page: map (choropleth of unserved children or of the score), the
ranking with each component's contribution, the weights, and "where to build".

GET parameters set the ranking (?threshold_m=&w_<name>=&layer=; &format=csv|xlsx downloads
it); "where to build" is a POST (points may be uploaded) that shows the picks, or with
format=csv|xlsx downloads them. Scoped by planning.scope (others: 403)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import analysis
from .access import METHOD_LABELS, NETWORK_METHOD, distance_method
from .exceptions import PlanningInvalid
from .exports import FORMATS, component_labels
from .forms import PriorityForm, SitingForm
from .priority import DEFAULT_WEIGHTS
from .scope import planning_scope


def _download(content: bytes, content_type: str, name: str, fmt: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _errors_text(exc: PlanningInvalid) -> list[str]:
    return [f"{key}: {' '.join(str(m) for m in msgs)}" for key, msgs in exc.errors.items()]


def _map_values(rows) -> dict:
    return {
        r.commune_id: {
            "rank": r.rank,
            "score": round(r.score, 4),
            "unserved": r.access.children_unserved if r.access else None,
            "children": r.access.children if r.access else None,
        }
        for r in rows
    }


def _siting_map(run) -> dict:
    res = run.result
    return {
        "picks": [
            {"order": p.order, "lon": p.lon, "lat": p.lat, "children": p.children_newly_served}
            for p in res.picks
        ],
        "villages": [[round(x, 6), round(y, 6), c, int(b), int(a)] for _vid, x, y, c, b, a in res.villages],
    }


@login_required
@require_http_methods(["GET", "POST"])
def index(request):
    scope = planning_scope(request.user)
    form = PriorityForm(request.GET or None)
    status = 200
    ranking = None
    problems: list[str] = []
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        weights = form.weights() if form.is_bound else {}
        threshold = form.threshold() if form.is_bound else 1000.0
        try:
            ranking = analysis.ranking(user=request.user, weights=weights or None, threshold_m=threshold)
        except PlanningInvalid as exc:
            status, problems = 400, _errors_text(exc)
    fmt = form.cleaned_data.get("format") if form.is_bound and form.is_valid() else None
    if ranking is not None and fmt in FORMATS:
        return _download(*ranking.file(fmt), "play-area-priority", fmt)

    siting_form = SitingForm(request.POST or None, request.FILES or None)
    run = None
    if request.method == "POST" and ranking is not None:
        if siting_form.is_valid():
            d = siting_form.cleaned_data
            try:
                run = analysis.siting(
                    user=request.user,
                    budget=d["budget"],
                    candidates=d["candidate_points"],
                    threshold_m=ranking.threshold_m,
                    only_extremely_difficult=d["only_extremely_difficult"],
                    with_villages=True,
                )
            except PlanningInvalid as exc:
                for key, msgs in exc.errors.items():
                    where = key
                    if key.startswith("candidates["):
                        where = _("point %(n)s") % {"n": int(key[11:-1]) + 1}
                    siting_form.add_error(None, f"{where}: {' '.join(str(m) for m in msgs)}")
            out = request.POST.get("format")
            if run is not None and out in FORMATS:
                return _download(*run.file(out), "play-area-picks", out)
        if run is None:
            status = 400

    method = run.result.method if run else ranking.method if ranking else distance_method()
    labels = component_labels()
    layer = (form.cleaned_data.get("layer") if form.is_bound and form.is_valid() else None) or "unserved"
    context = {
        "form": form,
        "siting_form": siting_form,
        "problems": problems,
        "ranking": ranking,
        "run": run,
        "scope_label": analysis.scope_label(scope),
        "method": METHOD_LABELS[method],
        "network": method == NETWORK_METHOD,
        "components": [(n, labels[n]) for n in DEFAULT_WEIGHTS],
        "weight_fields": [form[f"w_{n}"] for n in DEFAULT_WEIGHTS],
        "query": request.GET.urlencode(),
        "layer": layer,
        "exact_incidents": scope.exact_incidents,
    }
    if ranking is not None:
        changed = [c for c in run.result.communes if c.children] if run else []
        context["communes_after"] = changed
        context["map_data"] = {
            "communes": analysis.commune_shapes(scope.communes),
            "values": _map_values(ranking.rows),
            "layer": layer,
            "siting": _siting_map(run) if run else None,
            "labels": {
                "unserved": _("Children without access"),
                "score": _("Priority score"),
                "rank": _("Rank"),
                "pick": _("New play area"),
                "served_before": _("Village served before"),
                "newly_served": _("Village newly served"),
                "unserved_after": _("Village still without access"),
                "children": _("children"),
                "no_data": _("no children mapped"),
            },
        }
    return render(request, "planning/index.html", context, status=status)
