"""Domain errors the API turns into a status code and field messages (never a 500)."""

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainError(Exception):
    """A refused request: `errors` maps a field (or "detail") to messages; `status` is the HTTP status."""

    status = 400

    def __init__(self, errors: dict[str, list[str]] | str):
        if isinstance(errors, str):
            errors = {"detail": [errors]}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.errors, status=exc.status)
    return drf_exception_handler(exc, context)
