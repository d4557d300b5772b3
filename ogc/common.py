"""What the OGC API and the tile views share: errors, the reader, and query-parameter parsing.

Errors follow the OGC exception shape ({"code", "description"}) and also carry the
project's `{parameter: [messages]}` map, so a bad value is a 400 naming its parameter.
"""

import functools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from types import SimpleNamespace

from django.contrib.auth.models import AnonymousUser
from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError
from rest_framework.settings import api_settings

from core.exceptions import DomainError
from core.params import int_param, reject_unknown_params


class OgcError(Exception):
    """A refused request: HTTP status, OGC exception code, and messages per parameter."""

    def __init__(self, status: int, code: str, errors: dict[str, list[str]]):
        super().__init__(code)
        self.status, self.code, self.errors = status, code, errors

    def response(self) -> JsonResponse:
        description = "; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items())
        return JsonResponse(
            {"code": self.code, "description": description, "errors": self.errors},
            status=self.status,
            json_dumps_params={"ensure_ascii": False},
        )


def not_found(what: str) -> OgcError:
    return OgcError(404, "NotFound", {"detail": [what]})


def bad_param(name: str, message: str) -> OgcError:
    return OgcError(400, "InvalidParameterValue", {name: [message]})


def handles_errors(view):
    """Turn OgcError and the core.params ValidationError into JSON 4xx answers."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except OgcError as exc:
            return exc.response()
        except DomainError as exc:  # e.g. maps.indicators.IndicatorError
            code = "InvalidParameterValue" if exc.status == 400 else "Error"
            return OgcError(exc.status, code, exc.errors).response()
        except ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
            errors = {
                str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()
            }
            return OgcError(400, "InvalidParameterValue", errors).response()

    return wrapped


def reader(request):
    """The user the request speaks for: HTTP Basic credentials when sent, else the session.

    GIS clients (QGIS, GDAL) send Basic credentials; browsers use the login session.
    Wrong credentials are a 401, never a silent fall-back to anonymous.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        try:
            result = _basic_authentication()().authenticate(request)
        except AuthenticationFailed as exc:
            raise OgcError(401, "Unauthorized", {"authorization": [str(exc.detail)]}) from None
        except Throttled as exc:  # too many failed log-ins (core.auth)
            raise OgcError(429, "TooManyRequests", {"authorization": [str(exc.detail)]}) from None
        if result:
            return result[0]
    return getattr(request, "user", None) or AnonymousUser()


def _basic_authentication() -> type[BasicAuthentication]:
    """The API's own HTTP Basic class (with its log-in throttling), as REST_FRAMEWORK configures it."""
    for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        if issubclass(cls, BasicAuthentication):
            return cls
    return BasicAuthentication


def scope_key(user) -> str:
    return f"user:{user.pk}" if user and user.is_authenticated else "anonymous"


# --- query parameters ------------------------------------------------------------------------------


def query(request) -> SimpleNamespace:
    """core.params reads `request.query_params` (DRF); plain Django views have GET."""
    return SimpleNamespace(query_params=request.GET)


def check_params(request, allowed: set[str]) -> None:
    reject_unknown_params(query(request), allowed)
    repeated = sorted(k for k in request.GET if len(request.GET.getlist(k)) > 1)
    if repeated:
        raise bad_param(repeated[0], _("given more than once"))


def limit_offset(request, *, default: int, maximum: int) -> tuple[int, int]:
    limit = int_param(query(request), "limit", default, minimum=1, maximum=maximum)
    offset = int_param(query(request), "offset", 0, minimum=0)
    return limit, offset


def parse_bbox(request) -> tuple[float, float, float, float] | None:
    """`bbox=minLon,minLat,maxLon,maxLat` (or 6 numbers with heights), CRS84.

    A box whose minLon is east of maxLon crosses the antimeridian (allowed by the standard).
    """
    text = request.GET.get("bbox")
    if text is None:
        return None
    try:
        values = [float(p) for p in text.split(",")]
    except ValueError:
        values = []
    if len(values) not in (4, 6) or not all(math.isfinite(v) for v in values):
        raise bad_param("bbox", _("expected 4 or 6 comma-separated numbers, got '%(text)s'") % {"text": text})
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    xmin, ymin, xmax, ymax = values
    if not all(-180 <= v <= 180 for v in (xmin, xmax)) or not all(-90 <= v <= 90 for v in (ymin, ymax)):
        raise bad_param("bbox", _("longitude must be within −180…180 and latitude within −90…90"))
    if ymin > ymax:
        raise bad_param("bbox", _("the southern latitude must not be above the northern one"))
    return xmin, ymin, xmax, ymax


@dataclass(frozen=True)
class Interval:
    """A closed interval of instants; None is an open end."""

    start: datetime | None
    end: datetime | None


def _instant(text: str, *, end: bool) -> datetime:
    """RFC 3339 date-time, or a full date (the whole day: its first or last instant)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        raise bad_param(
            "datetime",
            _("expected an RFC 3339 date-time or date (e.g. 2025-07-01T00:00:00Z), got '%(text)s'")
            % {"text": text},
        ) from None
    if value.tzinfo is None:
        raise bad_param(
            "datetime", _("a date-time needs a time zone (e.g. Z), got '%(text)s'") % {"text": text}
        )
    return value


def parse_datetime(request) -> Interval | None:
    """`datetime=` an instant, a date, or an interval `a/b` with `..` (or nothing) for an open end."""
    text = request.GET.get("datetime")
    if text is None:
        return None
    text = text.strip()
    if "/" not in text:
        if len(text) == 10:  # a date is the interval of that day
            return Interval(_instant(text, end=False), _instant(text, end=True))
        moment = _instant(text, end=False)
        return Interval(moment, moment)
    first, _sep, second = text.partition("/")
    if "/" in second:
        raise bad_param("datetime", _("an interval has one '/', got '%(text)s'") % {"text": text})
    start = None if first in ("", "..") else _instant(first, end=False)
    finish = None if second in ("", "..") else _instant(second, end=True)
    if start is None and finish is None:
        raise bad_param("datetime", _("an interval needs at least one end"))
    if start and finish and start > finish:
        raise bad_param("datetime", _("the interval's start is after its end"))
    return Interval(start, finish)
