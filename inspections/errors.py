"""Domain errors of inspections, each with its HTTP status (core.exceptions maps them)."""

from core.exceptions import DomainError


class InspectionError(DomainError):
    status = 400


class NotVisible(InspectionError):
    """The object is outside the user's scope: answered 404, as if it did not exist."""

    status = 404


class NotAllowed(InspectionError):
    status = 403


class Conflict(InspectionError):
    """The same client UUID with other content, or a state that forbids the change."""

    status = 409
