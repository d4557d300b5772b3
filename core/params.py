"""Query-parameter parsing shared by the API views: a bad value is a 400 naming the parameter."""

from datetime import date

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError


def plain_digits(text: str) -> bool:
    """Only the ASCII digits 0-9: str.isdigit() also accepts "¹" or "²", which int() refuses."""
    return text.isascii() and text.isdigit()


def reject_unknown_params(request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ValidationError(
            {
                name: [
                    _("unknown query parameter (allowed: %(allowed)s)")
                    % {"allowed": ", ".join(sorted(allowed))}
                ]
                for name in unknown
            }
        )


def int_param(request, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(
            {name: [_("expected a whole number, got '%(text)s'") % {"text": text}]}
        ) from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}…{maximum}" if maximum is not None else f"≥ {minimum}"
        raise ValidationError({name: [_("must be within %(bounds)s") % {"bounds": bounds}]})
    return value


def bool_param(request, name: str) -> bool:
    text = request.query_params.get(name, "false")
    if str(text).lower() in {"1", "true", "yes", "on"}:
        return True
    if str(text).lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValidationError({name: [_("expected true or false, got '%(text)s'") % {"text": text}]})


def float_param(request, name: str, default: float, *, minimum: float, maximum: float) -> float:
    text = request.query_params.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValidationError({name: [_("expected a number, got '%(text)s'") % {"text": text}]}) from None
    if not (minimum <= value <= maximum):
        raise ValidationError({name: [_("must be within %(bounds)s") % {"bounds": f"{minimum}…{maximum}"}]})
    return value


def choice_param(request, name: str, choices, default=None):
    value = request.query_params.get(name, default)
    if value is not None and value not in choices:
        raise ValidationError(
            {
                name: [
                    _("unknown value '%(v)s' (expected: %(allowed)s)")
                    % {"v": value, "allowed": ", ".join(choices)}
                ]
            }
        )
    return value


def date_param(request, name: str) -> date | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            {name: [_("expected a date YYYY-MM-DD, got '%(value)s'") % {"value": text}]}
        ) from None
