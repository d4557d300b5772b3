"""Offline field capture: the installable inspector app.

- a web app manifest and a service worker served from /inspections/ (so its scope covers the
  inspector pages); the worker serves cached pages and static files when there is no signal;
- a bundle of what one inspector needs in the field, limited to his own scope: his open
  assignments, their sites (geometry and attributes), the checklist templates of those sites'
  kinds and the boundaries of his area. The page stores it in IndexedDB and caches the pages;
- the "on the phone" page: the queue of inspections saved without signal (sent, waiting or
  refused with the server's reason), a map of the sites drawn from the stored bundle, and the
  downloaded assignments.

Inspections saved offline are sent by the page itself (static/inspections/offline-app.js) through
the idempotent API (POST /api/v1/inspections/, then one POST per photo), never by the worker.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.i18n import localized as _localized
from places.geojson import site_features_json
from places.selectors import today

from .models import ChecklistTemplate
from .models.assignments import OPEN_ASSIGNMENT_STATUSES
from .scoping import profile_of
from .selectors import assignment_list
from .serializers import ChecklistTemplateSerializer
from .views import INSPECTING_ROLES, MAX_ASSIGNMENTS_SHOWN, _context, role_required

BUNDLE_FORMAT = 1
# Boundaries are drawn on a phone's screen: a tolerance of about 30 m keeps them light.
BOUNDARY_SIMPLIFY_DEG = 0.0003
# What the worker keeps at install: the static files every inspector page needs offline.
SHELL_STATIC = [
    "core/base.css",
    "inspections/inspections.css",
    "inspections/offline-app.js",
    "inspections/offline-page.js",
    "inspections/inspect.js",
    "inspections/detail.js",
    "inspections/sitemap.js",
    "inspections/icon.svg",
    "inspections/icon-192.png",
    "inspections/icon-512.png",
]
STATIC_DIR = Path(__file__).resolve().parent / "static"


def _inspect_url(site_id: int, assignment_id: int | None) -> str:
    url = reverse("inspections:inspect", args=[site_id])
    return url + ("?" + urlencode({"assignment": assignment_id}) if assignment_id else "")


BOUNDARY_SQL = """
SELECT coalesce(json_agg(json_build_object(
    'type', 'Feature',
    'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(u.geom, %s), 5)::json,
    'properties', json_build_object('code', u.code, 'name', u.name, 'name_en', u.name_en, 'level', u.level)
) ORDER BY u.level, u.code), '[]'::json)::text
FROM places_adminunit u
WHERE u.id = ANY(%s::bigint[])
"""


def _boundaries(unit_ids: list[int]) -> list[dict]:
    if not unit_ids:
        return []
    with connection.cursor() as cur:
        cur.execute(BOUNDARY_SQL, [BOUNDARY_SIMPLIFY_DEG, sorted(set(unit_ids))])
        return json.loads(cur.fetchone()[0])


def offline_bundle(user) -> dict:
    """What `user` (an inspector or agency manager) takes into the field, and nothing more.

    Assignments: his own open ones (as on "My assignments"), read through the scoped selector.
    Sites: those of these assignments only (not the agency's whole register, not the province).
    Checklists: the current template of each kind among these sites.
    Boundaries: the area his agency governs (a district or commune committee); for a provincial
    department, which governs no area, the communes of his assigned sites (their stored key).
    """
    profile = profile_of(user)
    agency = profile.agency
    assignments = list(
        assignment_list(user=user, mine=True)
        .filter(status__in=OPEN_ASSIGNMENT_STATUSES)
        .select_related("site__commune")
        .order_by("due_date", "id")[:MAX_ASSIGNMENTS_SHOWN]
    )
    rows = []
    numbers: dict[int, int] = {}
    for number, a in enumerate(assignments, start=1):
        numbers.setdefault(a.site_id, number)
        rows.append(
            {
                "id": a.id,
                "number": number,
                "site": a.site_id,
                "site_name": a.site.name,
                "site_kind": a.site.kind,
                "site_kind_label": str(a.site.get_kind_display()),
                "commune": _localized(a.site.commune, "name"),
                "due_date": a.due_date.isoformat(),
                "overdue": a.due_date < today(),
                "priority": a.priority,
                "priority_label": str(a.get_priority_display()),
                "status": a.status,
                "round_name": a.round_name,
                "note": a.note,
                "url": _inspect_url(a.site_id, a.id),
            }
        )
    site_ids = list(numbers)
    features = json.loads(site_features_json(site_ids)) if site_ids else []
    first = {}
    for row in rows:
        first.setdefault(row["site"], row)
    for feature in features:
        row = first[feature["properties"]["id"]]
        feature["properties"].update(
            {
                "number": row["number"],
                "kind_label": row["site_kind_label"],
                "url": row["url"],
                "overdue": row["overdue"],
            }
        )
    kinds = sorted({row["site_kind"] for row in rows})
    templates = ChecklistTemplate.objects.filter(site_kind__in=kinds, is_current=True).prefetch_related(
        "items"
    )
    checklists = ChecklistTemplateSerializer(templates.order_by("site_kind", "version"), many=True).data
    if agency.area_id is not None:
        unit_ids = [agency.area_id]
    else:
        unit_ids = sorted({a.site.commune_id for a in assignments if a.site.commune_id})
    pages = [reverse("inspections:offline"), reverse("inspections:index")]
    pages += sorted({row["url"] for row in rows})
    return {
        "format": BUNDLE_FORMAT,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "user": user.get_username(),
        "agency": {"code": agency.code, "name": _localized(agency, "name")},
        "assignments": rows,
        "sites": features,
        "checklists": checklists,
        "boundaries": _boundaries(unit_ids),
        "pages": pages,
    }


# --- views -----------------------------------------------------------------------------------------------


@role_required(INSPECTING_ROLES)
@require_GET
@never_cache
def bundle(request):
    """The inspector's offline bundle (JSON); query parameters are refused, none are defined."""
    if request.GET:
        names = ", ".join(sorted(request.GET))
        return JsonResponse(
            {"detail": _("unknown query parameter(s): %(names)s") % {"names": names}}, status=400
        )
    response = JsonResponse(offline_bundle(request.user), json_dumps_params={"ensure_ascii": False})
    response["Vary"] = "Cookie, Accept-Language"
    return response


@role_required(INSPECTING_ROLES)
@require_GET
def offline_page(request):
    """The inspector's phone: inspections waiting to send, the map and the downloaded assignments."""
    return render(
        request,
        "inspections/offline.html",
        _context(request, section="offline", messages_js=_page_messages()),
    )


def _page_messages() -> dict[str, str]:
    """Sentences the page's script writes (it runs offline, so they are drawn into the page)."""
    return {
        "waiting": _("Waiting to send"),
        "sending": _("Sending…"),
        "sent": _("Sent"),
        "refused": _("Refused by the server"),
        "photos": _("Photos"),
        "photos_sent": _("sent"),
        "saved_at": _("Saved on the phone"),
        "discard": _("Discard"),
        "discard_confirm": _("Remove this inspection from the phone? It has not been stored on the server."),
        "discard_sent_confirm": _("Remove this inspection from the phone?"),
        "edit": _("Edit and save again"),
        "retry": _("Try again"),
        "see": _("See it on the server"),
        "no_connection": _("No connection: it will be sent when there is signal."),
        "login": _("Log in again to send (your session has ended)."),
        "server_error": _("The server could not take it now; it will be tried again."),
        "flag_reassigned": _(
            "Accepted; the manager sees it was made by another inspector than the one assigned."
        ),
        "nothing": _("Nothing is waiting on this phone."),
        "ready": _("Ready to work offline"),
        "not_ready": _("Not yet downloaded for offline use. Open this page once with signal."),
        "downloaded": _("Downloaded"),
        "assignments": _("assignments"),
        "online": _("Online"),
        "offline": _("Offline: inspections are saved on the phone."),
        "due": _("Due"),
        "overdue": _("Overdue"),
        "photo_refused": _("Photo %(name)s: %(reason)s"),
        "no_assignments": _("You have no open assignments."),
        "other_user": _("Saved by %(user)s: it is sent when %(user)s logs in on this phone."),
    }


@require_GET
def manifest(request):
    """The web app manifest: installable on the phone's home screen, opening the offline page."""
    data = {
        "name": _("ChildSafe Map · inspections"),
        "short_name": _("ChildSafe inspections"),
        "description": _("Record safety inspections in the field, with or without signal."),
        "id": reverse("inspections:offline"),
        "start_url": reverse("inspections:offline"),
        "scope": reverse("inspections:index"),
        "display": "standalone",
        "orientation": "portrait",
        "lang": get_language() or settings.LANGUAGE_CODE,
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": static("inspections/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("inspections/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("inspections/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
            {"src": static("inspections/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False), content_type="application/manifest+json; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache"
    return response


@cache
def _shell_version() -> str:
    """Changes whenever a file the worker keeps changes, so phones drop their old copies."""
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        path = STATIC_DIR / name
        digest.update(name.encode())
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request):
    """The service worker, served under /inspections/ so that it controls the inspector pages."""
    scope = reverse("inspections:index")
    text = render_to_string(
        "inspections/sw.js",
        {
            "config": json.dumps(
                {
                    "version": _shell_version() + ("-debug" if settings.DEBUG else ""),
                    "scope": scope,
                    "shell": [static(name) for name in SHELL_STATIC],
                    "static_prefix": settings.STATIC_URL
                    if settings.STATIC_URL.startswith("/")
                    else "/" + settings.STATIC_URL,
                    "offline_page": reverse("inspections:offline"),
                    "bundle": reverse("inspections:offline-bundle"),
                }
            )
        },
    )
    response = HttpResponse(text, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = scope
    # Browsers check the worker for updates at most daily anyway; never let a proxy keep it longer.
    response["Cache-Control"] = "no-cache"
    return response
