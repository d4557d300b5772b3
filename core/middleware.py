"""Refuse NUL characters in query strings and form fields before any view sees them.

PostgreSQL cannot store or compare a string containing NUL, so one would surface as a
500 wherever a parameter reaches a query; refusing it here covers every endpoint.
"""

from django.http import JsonResponse
from django.utils.translation import gettext as _


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in v for v in values):
                return JsonResponse(
                    {name.replace("\x00", "") or "query": [_("contains a NUL character")]}, status=400
                )
        return self.get_response(request)
