"""Log-in paths with rate limiting: the login page and the API's HTTP Basic authentication."""

import base64
import binascii
import math

from django.contrib.auth import views as auth_views
from django.shortcuts import render
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BasicAuthentication

from . import throttle


def _wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return _("Too many failed log-in attempts. Try again in %(minutes)d minutes.") % {"minutes": minutes}


class LoginView(auth_views.LoginView):
    """Django's login page, refusing with 429 while the user name or the address is over its limit."""

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        wait = throttle.blocked_for(request, username)
        if wait:
            response = render(
                request,
                "registration/login.html",
                {
                    "form": self.get_form(),
                    "throttled": _wait_message(wait),
                    "next": request.POST.get("next", ""),
                },
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttle.record_failure(self.request, form.data.get("username", ""))
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.record_success(self.request, form.get_user().get_username())
        return super().form_valid(form)


class Throttled429(exceptions.Throttled):
    def __init__(self, wait: int):
        super().__init__(wait=wait, detail=_wait_message(wait))


class ThrottledBasicAuthentication(BasicAuthentication):
    """HTTP Basic for API clients, under the same limits as the login page."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        parts = header.split()
        if len(parts) != 2 or parts[0].lower() != "basic":
            return super().authenticate(request)
        try:
            decoded = base64.b64decode(parts[1]).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            decoded = ""
        if "\x00" in decoded:
            # PostgreSQL cannot compare a string holding NUL: refuse before any query (was a 500).
            raise exceptions.AuthenticationFailed(
                _("Invalid basic header: the credentials contain a NUL character.")
            )
        username = decoded.partition(":")[0]
        wait = throttle.blocked_for(request, username)
        if wait:
            raise Throttled429(wait)
        try:
            result = super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.record_failure(request, username)
            raise
        if result:
            throttle.record_success(request, username)
        return result


class ThrottledBasicScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema that ThrottledBasicAuthentication is plain HTTP Basic."""

    target_class = ThrottledBasicAuthentication
    name = "basicAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic"}
