"""Request guards that apply to every endpoint before any view runs.

NUL characters: PostgreSQL cannot store or compare a string containing NUL, so one would
surface as a 500 wherever a path segment, parameter or JSON string reaches a query;
refusing them here covers every endpoint.
"""

import json

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return JsonResponse({"path": [_("contains a NUL character")]}, status=400)
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return JsonResponse(
                    {name.replace("\x00", "") or "query": [_("contains a NUL character")]}, status=400
                )
        content_type = request.META.get("CONTENT_TYPE", "")
        if request.method in {"POST", "PUT", "PATCH"} and "json" in content_type.split(";")[0]:
            where = _nul_in_json(request.body)
            if where:
                return JsonResponse({where: [_("contains a NUL character")]}, status=400)
        return self.get_response(request)


def _nul_in_json(body: bytes) -> str | None:
    """The JSON path ("body.answers[2].note") of the first key or string holding NUL, if any."""
    if b"\\u0000" not in body.lower() and b"\x00" not in body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None  # not JSON: the view's parser answers 400 with its own message
    stack = [("body", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return path
                stack.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def _wants_json(request) -> bool:
    accept = request.META.get("HTTP_ACCEPT", "")
    return request.path.startswith(("/api/", "/ogcapi/", "/tiles/")) or (
        "json" in accept and "html" not in accept
    )


class RequestSizeLimitMiddleware:
    """413 for a body larger than allowed, before anything reads it.

    Uploads (multipart) may be up to MAX_UPLOAD_BYTES, any other body (JSON, forms) up to
    DATA_UPLOAD_MAX_MEMORY_SIZE. DRF streams request bodies without Django's own check, so this
    is the one place where the limit holds for every endpoint.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings

        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"Content-Length": [_("is not a number")]}, status=400)
        multipart = request.META.get("CONTENT_TYPE", "").startswith("multipart/")
        limit = settings.MAX_UPLOAD_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            message = _("The request body is %(size)s bytes; at most %(limit)s bytes are accepted here.") % {
                "size": length,
                "limit": limit,
            }
            if _wants_json(request):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """503 with Retry-After while PostgreSQL cannot be reached, instead of a 500.

    The broken connection is closed so that the next request opens a fresh one: the service
    recovers by itself once the database is back (CONN_HEALTH_CHECKS does the same at the
    start of each request).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.db import InterfaceError, OperationalError

        try:
            return self.get_response(request)
        except (OperationalError, InterfaceError) as exc:
            return self._unavailable(request, exc)

    def process_exception(self, request, exception):
        from django.db import InterfaceError, OperationalError

        if isinstance(exception, OperationalError | InterfaceError):
            return self._unavailable(request, exception)
        return None

    def _unavailable(self, request, exc):
        from django.db import connections

        for conn in connections.all(initialized_only=True):
            conn.close_if_unusable_or_obsolete()
        message = _("The database is not reachable at the moment. Please try again shortly.")
        if _wants_json(request):
            response = JsonResponse({"detail": message, "error": exc.__class__.__name__}, status=503)
        else:
            response = HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = "5"
        return response


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response.

    The policy allows our own origin only (plus data:/blob: images for photo previews and any
    tile server named in CSP_IMG_SRC_EXTRA): no script, style, font or connection from elsewhere,
    no framing, no plugins. Inline scripts stay allowed because folium writes its maps inline.
    Geolocation and camera are allowed for our own pages (inspectors' position and photos).
    """

    def __init__(self, get_response):
        from django.conf import settings

        self.get_response = get_response
        self.csp = settings.CONTENT_SECURITY_POLICY
        self.permissions = settings.PERMISSIONS_POLICY

    def __call__(self, request):
        response = self.get_response(request)
        if self.csp:
            response.headers.setdefault("Content-Security-Policy", self.csp)
        if self.permissions:
            response.headers.setdefault("Permissions-Policy", self.permissions)
        return response


class ApiJsonErrorsMiddleware:
    """Errors under /api/, /ogcapi/ and /tiles/ (the machine interfaces) are JSON, as the schemas
    document, even when Django answered with HTML.

    URL patterns that do not match (a 404 from the resolver) and Django's own 400/403/405 pages
    are HTML by default, and in development the 404 is the technical debug page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.path.startswith(("/api/v1/", "/ogcapi/", "/tiles/"))
            and response.status_code >= 400
            and response.get("Content-Type", "").startswith("text/html")
            and not getattr(response, "streaming", False)
        ):
            replaced = JsonResponse({"detail": response.reason_phrase}, status=response.status_code)
            for header in ("Retry-After", "Allow", "WWW-Authenticate"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response
