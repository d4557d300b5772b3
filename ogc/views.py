"""OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) at /ogcapi/.

Plain Django views: every answer is JSON built here or, for features, in PostGIS.
The reader is the session user or HTTP Basic credentials (common.reader); sites are
scoped through places.selectors.site_list exactly as /api/v1/sites/ is.
"""

import json

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from core.cache import cache_get, cache_set
from core.params import plain_digits

from .collections import COLLECTIONS, CRS84, Collection
from .common import (
    bad_param,
    check_params,
    handles_errors,
    limit_offset,
    not_found,
    parse_bbox,
    parse_datetime,
    reader,
    scope_key,
)
from .openapi import openapi_document

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
EXTENT_SECONDS = 60

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def _json(data, content_type=JSON, status=200) -> HttpResponse:
    return HttpResponse(
        json.dumps(data, ensure_ascii=False, default=str), content_type=content_type, status=status
    )


def _url(request, name: str, *args) -> str:
    return request.build_absolute_uri(reverse(f"ogc:{name}", args=args))


def _collection(collection_id: str, user) -> Collection:
    """The collection, or a 404 when it does not exist or the reader may not see it."""
    found = COLLECTIONS.get(collection_id)
    if found is None or not found.visible(user):
        raise not_found(_("no collection '%(id)s'") % {"id": collection_id})
    return found


@csrf_exempt  # read-only (require_safe): any other method is a 405, not a CSRF 403
@require_safe
@handles_errors
def landing(request):
    check_params(request, {"f"})
    _format(request)
    return _json(
        {
            "title": _("ChildSafe Map – OGC API Features"),
            "description": _(
                "Administrative units and mapped sites of Lai Châu province as OGC API – Features."
            ),
            "links": [
                {"href": _url(request, "landing"), "rel": "self", "type": JSON, "title": _("This document")},
                {
                    "href": _url(request, "api"),
                    "rel": "service-desc",
                    "type": OPENAPI,
                    "title": _("API definition"),
                },
                {
                    "href": _url(request, "conformance"),
                    "rel": "conformance",
                    "type": JSON,
                    "title": _("Conformance"),
                },
                {
                    "href": _url(request, "collections"),
                    "rel": "data",
                    "type": JSON,
                    "title": _("Collections"),
                },
            ],
        }
    )


def _format(request) -> None:
    """`f=json` is accepted (some clients send it); we answer JSON only."""
    value = request.GET.get("f")
    if value is not None and value not in ("json", "geojson", "application/json", "application/geo+json"):
        raise bad_param("f", _("only JSON is served (f=json), got '%(v)s'") % {"v": value})


@csrf_exempt  # read-only (require_safe): any other method is a 405, not a CSRF 403
@require_safe
@handles_errors
def conformance(request):
    check_params(request, {"f"})
    _format(request)
    return _json({"conformsTo": CONFORMANCE})


@csrf_exempt  # read-only (require_safe): any other method is a 405, not a CSRF 403
@require_safe
@handles_errors
def api(request):
    check_params(request, {"f"})
    return _json(openapi_document(request, list(COLLECTIONS.values()), MAX_LIMIT, DEFAULT_LIMIT), OPENAPI)


def _collection_json(request, collection: Collection, user) -> dict:
    key = f"ogc:extent:{collection.id}:{scope_key(user)}"
    extent = cache_get(key)
    if extent is None:
        extent = collection.extent(user)
        cache_set(key, extent, EXTENT_SECONDS)
    links = [
        {"href": _url(request, "collection", collection.id), "rel": "self", "type": JSON},
        {"href": _url(request, "items", collection.id), "rel": "items", "type": GEOJSON},
    ]
    if collection.tiled:
        links.append(
            {
                "href": request.build_absolute_uri(reverse("tiles:tilejson", args=[collection.id])),
                "rel": "describedby",
                "type": JSON,
                "title": _("TileJSON of the vector tiles"),
            }
        )
    return {
        "id": collection.id,
        "title": str(collection.title),
        "description": str(collection.description),
        "itemType": "feature",
        "crs": [CRS84],
        "extent": extent,
        "links": links,
    }


@csrf_exempt  # read-only (require_safe): any other method is a 405, not a CSRF 403
@require_safe
@handles_errors
def collections(request):
    check_params(request, {"f"})
    _format(request)
    user = reader(request)
    return _json(
        {
            "links": [{"href": _url(request, "collections"), "rel": "self", "type": JSON}],
            "collections": [
                _collection_json(request, c, user) for c in COLLECTIONS.values() if c.visible(user)
            ],
        }
    )


@csrf_exempt  # read-only (require_safe): any other method is a 405, not a CSRF 403
@require_safe
@handles_errors
def collection(request, collection_id):
    user = reader(request)
    collection = _collection(collection_id, user)
    check_params(request, {"f"})
    _format(request)
    return _json(_collection_json(request, collection, user))


def _page_link(request, rel: str, offset: int, limit: int) -> dict:
    query = request.GET.copy()
    query["offset"] = str(offset)
    query["limit"] = str(limit)
    return {
        "href": request.build_absolute_uri(f"{request.path}?{query.urlencode()}"),
        "rel": rel,
        "type": GEOJSON,
    }


@csrf_exempt  # read-only (require_safe): any other method is a 405, not a CSRF 403
@require_safe
@handles_errors
def items(request, collection_id):
    user = reader(request)
    collection = _collection(collection_id, user)
    check_params(request, {"limit", "offset", "bbox", "datetime", "f"})
    _format(request)
    limit, offset = limit_offset(request, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    matched, returned, features = collection.page(
        user,
        bbox=parse_bbox(request),
        interval=parse_datetime(request),
        limit=limit,
        offset=offset,
    )
    links = [
        {"href": request.build_absolute_uri(), "rel": "self", "type": GEOJSON},
        {"href": _url(request, "collection", collection.id), "rel": "collection", "type": JSON},
    ]
    if offset + returned < matched:
        links.append(_page_link(request, "next", offset + limit, limit))
    if offset > 0:
        links.append(_page_link(request, "prev", max(0, offset - limit), limit))
    head = {
        "type": "FeatureCollection",
        "timeStamp": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "numberMatched": matched,
        "numberReturned": returned,
        "links": links,
    }
    body = json.dumps(head, ensure_ascii=False)[:-1] + ',"features":' + features + "}"
    return HttpResponse(body, content_type=GEOJSON)


@csrf_exempt  # read-only (require_safe): any other method is a 405, not a CSRF 403
@require_safe
@handles_errors
def item(request, collection_id, feature_id):
    user = reader(request)
    collection = _collection(collection_id, user)
    check_params(request, {"f"})
    _format(request)
    missing = not_found(
        _("no feature '%(id)s' in collection '%(c)s'") % {"id": feature_id, "c": collection.id}
    )
    if not plain_digits(feature_id) or len(feature_id) > 18:
        raise missing
    feature = collection.single(user, int(feature_id))
    if feature is None:
        raise missing
    links = [
        {"href": request.build_absolute_uri(), "rel": "self", "type": GEOJSON},
        {"href": _url(request, "collection", collection.id), "rel": "collection", "type": JSON},
    ]
    body = feature[:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}"
    return HttpResponse(body, content_type=GEOJSON)
