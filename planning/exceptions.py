"""Refused planning requests: a 400 with messages keyed by the parameter at fault."""

from core.exceptions import DomainError


class PlanningInvalid(DomainError):
    """E.g. {"weights.poverty": ["must be at least 0"]} or {"budget": [...]}."""

    status = 400
