"""Per-unit statistics: import from CSV keyed by GSO code, and wide reads for other apps.

CSV columns: gso_code, year, source, and any of the indicator columns
(population, children_0_15, poverty_rate, ethnic_minority_share,
extremely_difficult); optional valid_on (YYYY-MM-DD) picks the structure when a
code exists in both (03388 before and after 01/07/2025); without it the unit in
force on 31 December of the year is used. Empty cells are skipped, not zeroed.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .models import AdminUnit, StatIndicator, UnitStatistic

REQUIRED = ("gso_code", "year", "source")


@dataclass
class StatImportReport:
    stored: int = 0
    rejected: list[dict] = field(default_factory=list)
    dry_run: bool = False

    def to_dict(self) -> dict:
        return {"stored": self.stored, "rejected": self.rejected, "dry_run": self.dry_run}


class StatFileError(Exception):
    pass


def _value(indicator: str, text: str) -> float:
    if indicator == StatIndicator.EXTREMELY_DIFFICULT:
        lowered = text.lower()
        if lowered in {"1", "true", "yes", "có"}:
            return 1.0
        if lowered in {"0", "false", "no", "không"}:
            return 0.0
        raise ValueError(_("expected 1/0 or yes/no, got '%(v)s'") % {"v": text})
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise ValueError(_("expected a number, got '%(v)s'") % {"v": text}) from None
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        raise ValueError(_("must be a number of at least 0"))
    if indicator in (StatIndicator.POPULATION, StatIndicator.CHILDREN_0_15) and not number.is_integer():
        raise ValueError(_("expected a whole number, got '%(v)s'") % {"v": text})
    if indicator in (StatIndicator.POVERTY_RATE, StatIndicator.ETHNIC_MINORITY_SHARE) and number > 100:
        raise ValueError(_("a percentage must be at most 100"))
    return number


@transaction.atomic
def statistics_import_csv(*, data: bytes, dry_run: bool = False) -> StatImportReport:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatFileError(_("the file is not UTF-8 text (byte %(pos)s)") % {"pos": exc.start}) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise StatFileError(_("missing column(s): %(cols)s") % {"cols": ", ".join(missing)})
    indicators = [c for c in header if c in StatIndicator.values]
    unknown = [c for c in header if c not in indicators and c not in REQUIRED and c != "valid_on"]
    if unknown:
        raise StatFileError(
            _("unknown column(s): %(cols)s (indicators: %(known)s)")
            % {"cols": ", ".join(unknown), "known": ", ".join(StatIndicator.values)}
        )
    if not indicators:
        raise StatFileError(
            _("no indicator column (expected some of: %(known)s)")
            % {"known": ", ".join(StatIndicator.values)}
        )
    report = StatImportReport(dry_run=dry_run)
    rows = []
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}

        def reject(column, reason, line=line):
            report.rejected.append({"row": line, "field": column, "reason": reason})

        try:
            year = int(row["year"])
            if not 1990 <= year <= 2100:
                raise ValueError
        except ValueError:
            reject("year", _("expected a year such as 2024, got '%(v)s'") % {"v": row["year"]})
            continue
        if not row["source"]:
            reject("source", _("required: where the figure comes from"))
            continue
        try:
            day = date.fromisoformat(row["valid_on"]) if row.get("valid_on") else date(year, 12, 31)
        except ValueError:
            reject("valid_on", _("expected a date YYYY-MM-DD"))
            continue
        unit = AdminUnit.objects.valid_on(day).filter(code=row["gso_code"]).first()
        if unit is None:
            reject(
                "gso_code",
                _("no unit with code '%(code)s' in force on %(day)s")
                % {"code": row["gso_code"], "day": day.isoformat()},
            )
            continue
        values = {}
        for indicator in indicators:
            if not row.get(indicator):
                continue
            try:
                values[indicator] = _value(indicator, row[indicator])
            except ValueError as exc:
                reject(indicator, str(exc))
        if len(values) < sum(1 for i in indicators if row.get(i)):
            continue
        rows.extend((unit, year, indicator, value, row["source"]) for indicator, value in values.items())
    if not dry_run:
        for unit, year, indicator, value, source in rows:
            UnitStatistic.objects.update_or_create(
                unit=unit, year=year, indicator=indicator, defaults={"value": value, "source": source}
            )
    report.stored = len(rows)
    return report


def statistics_wide(*, units: QuerySet[AdminUnit] | None = None, year: int) -> dict[int, dict[str, float]]:
    """{unit_id: {indicator: value}} for one year (one query)."""
    qs = UnitStatistic.objects.filter(year=year)
    if units is not None:
        qs = qs.filter(unit__in=units)
    out: dict[int, dict[str, float]] = {}
    for unit_id, indicator, value in qs.values_list("unit_id", "indicator", "value"):
        out.setdefault(unit_id, {})[indicator] = value
    return out
