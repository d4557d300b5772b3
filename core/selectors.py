"""Reads for the home page: what is loaded, counted in the database."""

from django.apps import apps
from django.db import DatabaseError


def home_summary() -> list[dict]:
    """Counts of the main tables that exist so far (apps add theirs as they land)."""
    wanted = [
        ("places", "AdminUnit"),
        ("places", "Site"),
        ("inspections", "Inspection"),
        ("incidents", "Incident"),
    ]
    rows = []
    for app_label, model_name in wanted:
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue
        try:
            rows.append({"label": model._meta.verbose_name_plural, "count": model.objects.count()})
        except DatabaseError:
            rows.append({"label": model._meta.verbose_name_plural, "count": None})
    return rows
