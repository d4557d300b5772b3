"""Reads of incidents: single records (scoped) and aggregate counts (from stored keys)."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, QuerySet

from places.models import AdminLevel, AdminUnit

from .models import AgeBand, Incident, IncidentKind, Outcome, Sex
from .privacy import scope_incidents

CATEGORY_FIELDS = {"kind": IncidentKind, "age_band": AgeBand, "sex": Sex, "outcome": Outcome}
NEW_STRUCTURE = date(2025, 7, 1)


def incident_list(
    *,
    user,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
    commune: AdminUnit | None = None,
) -> QuerySet[Incident]:
    qs = scope_incidents(Incident.objects.select_related("commune", "current_commune", "linked_site"), user)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    if kind:
        qs = qs.filter(kind=kind)
    if commune is not None:
        qs = qs.filter(current_commune=commune) if commune.valid_to is None else qs.filter(commune=commune)
    return qs


@dataclass
class CountTable:
    level: str
    by: str
    rows: list[tuple[str, str, str]]  # (code, name, name_en) in display order
    columns: list[tuple[str, str]]  # (value, label)
    counts: dict[tuple[str, str], int]  # (row code, column value) → count, zeros included
    outside_level: int  # incidents that have no unit of this level (e.g. districts after 01/07/2025)


def incident_counts(
    *,
    level: str,
    by: str = "kind",
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
) -> CountTable:
    """Counts per unit and category, grouped in PostGIS on the stored commune keys.

    level: "commune" (today's communes; earlier incidents restated through the crosswalk),
    "district" (the districts until 30/06/2025, from the commune as recorded), "province".
    """
    qs = Incident.objects.all()
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    if kind:
        qs = qs.filter(kind=kind)
    if level == AdminLevel.COMMUNE:
        units = AdminUnit.objects.filter(
            level=AdminLevel.COMMUNE, valid_to__isnull=True, valid_from__isnull=False
        )
        key = F("current_commune__code")
    elif level == AdminLevel.DISTRICT:
        units = AdminUnit.objects.filter(level=AdminLevel.DISTRICT)
        key = F("commune__parent__code")
    else:
        units = AdminUnit.objects.filter(level=AdminLevel.PROVINCE)
        key = None
    units = list(units.order_by("code").values_list("code", "name", "name_en"))
    columns = [(value, str(label)) for value, label in CATEGORY_FIELDS[by].choices]
    counts = {(code, value): 0 for code, _, _ in units for value, _ in columns}
    outside = 0
    if key is None:
        province = units[0][0]
        for row in qs.values(by).annotate(n=Count("id")):
            counts[(province, row[by])] = row["n"]
    else:
        for row in qs.annotate(unit=key).values("unit", by).annotate(n=Count("id")):
            if row["unit"] is None or (row["unit"], row[by]) not in counts:
                outside += row["n"]
            else:
                counts[(row["unit"], row[by])] = row["n"]
    return CountTable(level=level, by=by, rows=units, columns=columns, counts=counts, outside_level=outside)
