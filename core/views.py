from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .selectors import home_summary


@require_GET
def home(request):
    return render(request, "core/home.html", {"summary": home_summary()})


@never_cache
@require_GET
def healthz(request):
    """200 with the PostGIS version when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT postgis_lib_version(), current_setting('server_version')")
            postgis, postgres = cursor.fetchone()
    except DatabaseError as exc:
        # The next request must try a fresh connection, not reuse a broken one.
        connection.close_if_unusable_or_obsolete()
        return JsonResponse(
            {"status": "unavailable", "database": "error", "detail": exc.__class__.__name__}, status=503
        )
    return JsonResponse({"status": "ok", "database": "ok", "postgis": postgis, "postgresql": postgres})
