"""Public aggregate tables of incidents: counts per unit and category with totals,
small numbers hidden (incidents.suppression) for everyone who may not see single
records. The same table feeds the API, the maps and the exports."""

from datetime import date

from django.utils.translation import gettext as _

from .selectors import incident_counts
from .suppression import HIDDEN_LABEL, suppress_table

NO_UNIT = "_none"


def aggregate_table(
    *,
    level: str,
    by: str = "kind",
    date_from: date | None = None,
    date_to: date | None = None,
    kind: str | None = None,
    suppressed: bool = True,
) -> dict:
    counts = incident_counts(level=level, by=by, date_from=date_from, date_to=date_to, kind=kind)
    rows = list(counts.rows)
    cells = dict(counts.counts)
    if counts.outside_level:
        # Incidents recorded on units that have no parent of this level (e.g. communes of after
        # 01/07/2025 for districts) form a row of their own, protected like any other.
        rows.append(
            (NO_UNIT, _("Recorded after 01/07/2025 (no district)"), "Recorded after 01/07/2025 (no district)")
        )
        outside = incident_counts(level="province", by=by, date_from=date_from, date_to=date_to, kind=kind)
        inside = {
            value: sum(cells[(code, value)] for code, _n, _e in counts.rows) for value, _l in counts.columns
        }
        province = outside.rows[0][0]
        for value, _label in counts.columns:
            cells[(NO_UNIT, value)] = outside.counts[(province, value)] - inside[value]
    row_codes = [code for code, _n, _e in rows]
    column_values = [v for v, _l in counts.columns]
    table = suppress_table(cells, rows=row_codes, cols=column_values) if suppressed else None

    def shown(key):
        return table.cells[key] if table else cells[key]

    out_rows = []
    for code, name, name_en in rows:
        row_total = sum(cells[(code, v)] for v, _l in counts.columns)
        out_rows.append(
            {
                "code": code,
                "name": name,
                "name_en": name_en,
                "cells": {v: shown((code, v)) for v, _l in counts.columns},
                "total": table.row_totals[code] if table else row_total,
            }
        )
    column_totals = {
        v: (table.col_totals[v] if table else sum(cells[(c, v)] for c, _n, _e in rows))
        for v, _l in counts.columns
    }
    grand = table.grand_total if table else sum(cells.values())
    return {
        "level": level,
        "by": by,
        "from": date_from.isoformat() if date_from else None,
        "to": date_to.isoformat() if date_to else None,
        "kind": kind,
        "suppressed": suppressed,
        # Hidden numbers are null in the data and shown as this label, with the footnote.
        "hidden_label": HIDDEN_LABEL if suppressed else None,
        "footnote": table.footnote() if table and table.has_hidden else "",
        "columns": [{"value": v, "label": label} for v, label in counts.columns],
        "rows": out_rows,
        "column_totals": column_totals,
        "total": grand,
    }
