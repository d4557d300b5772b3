"""The ranking and the picks as CSV and XLSX, with the parameters used written into the file.

A file is a list of parameters (name, value) and one or more tables (title, header,
rows). CSV: UTF-8 with a byte-order mark (spreadsheets then read Vietnamese right), the
parameters first as "parameter, name, value" lines, a blank line, then each table with
its title line. XLSX (openpyxl): a sheet "Parameters" and one sheet per table, numbers
as real numeric cells; a hidden (suppressed) count is the hidden symbol as text.
"""

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl import Workbook

from incidents.suppression import HIDDEN_LABEL
from places.models import Site

from .access import METHOD, METHOD_LABELS
from .priority import DEFAULT_WEIGHTS, INCIDENT_YEARS, PriorityRow, incident_period
from .siting import SitingResult

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("csv", "xlsx")


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list]


def component_labels() -> dict[str, str]:
    return {
        "unserved": _("Children without access"),
        "extremely_difficult": _("Extremely difficult commune"),
        "poverty": _("Poverty rate (%)"),
        "incidents": _("Child incidents per 10,000 children (5 years)"),
        "playgrounds": _("Playgrounds per 1,000 children (fewer = more need)"),
    }


def data_as_of() -> datetime | None:
    """When the villages and playgrounds the analysis reads last changed."""
    return Site.objects.filter(kind__in=("village", "playground")).aggregate(t=Max("updated_at"))["t"]


def _when(value) -> str:
    if value is None:
        return "—"
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def common_parameters(*, threshold_m: float, scope_label: str, method: str = METHOD) -> list[tuple]:
    """method: access.METHOD or access.NETWORK_METHOD, written as its label."""
    return [
        (_("Method of distance"), str(METHOD_LABELS[method])),
        (_("Walking distance threshold (m)"), threshold_m),
        (_("Area"), scope_label),
        (_("Date of this file"), _when(timezone.now())),
        (_("Data as of (last change to villages and playgrounds)"), _when(data_as_of())),
    ]


def ranking_parameters(
    *,
    rows: list[PriorityRow],
    weights: dict[str, float],
    threshold_m: float,
    scope_label: str,
    exact: bool,
    method: str = METHOD,
) -> list[tuple]:
    labels = component_labels()
    start, end = incident_period(timezone.localdate())
    years = rows[0].years if rows else {}
    out = common_parameters(threshold_m=threshold_m, scope_label=scope_label, method=method)
    out += [(_("Weight: %(name)s") % {"name": labels[n]}, weights[n]) for n in DEFAULT_WEIGHTS]
    out += [
        (
            _("Child incidents counted"),
            _("%(years)s years, %(start)s to %(end)s")
            % {"years": INCIDENT_YEARS, "start": start.isoformat(), "end": end.isoformat()},
        ),
        (
            _("Incident numbers"),
            _("exact") if exact else _("published table: small counts hidden (x), counted as 2.5"),
        ),
    ]
    out += [
        (_("Statistics year: %(indicator)s") % {"indicator": k}, v if v else "—") for k, v in years.items()
    ]
    return out


def _name(row_name: str, row_name_en: str) -> str:
    return row_name_en if (get_language() or "vi").startswith("en") else row_name


def ranking_table(rows: list[PriorityRow]) -> Table:
    labels = component_labels()
    header = [_("Rank"), _("Commune code"), _("Commune"), _("Score")]
    for n in DEFAULT_WEIGHTS:
        header += [
            f"{labels[n]}: " + _("value"),
            f"{labels[n]}: " + _("normalised"),
            f"{labels[n]}: " + _("weight"),
            f"{labels[n]}: " + _("contribution"),
        ]
    header += [
        _("Children (villages)"),
        _("Children served"),
        _("Share served"),
        _("Playgrounds"),
        _("Child incidents (5 years)"),
        _("Missing values"),
    ]
    out = []
    for r in rows:
        line = [r.rank, r.code, _name(r.name, r.name_en), round(r.score, 6)]
        for n in DEFAULT_WEIGHTS:
            c = r.components[n]
            raw = HIDDEN_LABEL if c.hidden else c.raw
            line += [raw, c.normalised, round(c.weight, 6), round(c.contribution, 6)]
        a = r.access
        line += [
            a.children if a else None,
            a.children_served if a else None,
            a.share_served if a else None,
            a.playgrounds if a else None,
            HIDDEN_LABEL if r.incidents is None else r.incidents,
            ", ".join(r.missing),
        ]
        out.append(line)
    return Table(_("Priority of communes for new play areas"), header, out)


def siting_parameters(
    *, result: SitingResult, threshold_m: float, scope_label: str, only_ed: bool, candidates_label: str
) -> list[tuple]:
    out = common_parameters(threshold_m=threshold_m, scope_label=scope_label, method=result.method)
    out += [
        (_("Budget (new play areas)"), result.budget),
        (_("Only extremely difficult communes"), _("yes") if only_ed else _("no")),
        (_("Candidates"), candidates_label),
        (_("Candidates considered"), result.candidates),
        (_("Children (villages)"), result.children),
        (_("Children served before"), result.served_before),
        (_("Children served after"), result.served_after),
        (_("Result"), result.stop_reason),
    ]
    return out


def picks_tables(result: SitingResult) -> list[Table]:
    picks = Table(
        _("New play areas, in the order chosen"),
        [
            _("Order"),
            _("Candidate number"),
            _("Village id"),
            _("Longitude"),
            _("Latitude"),
            _("Commune code"),
            _("Children newly served"),
            _("Villages newly served"),
            _("Children newly served (cumulative)"),
        ],
        [
            [
                p.order,
                p.candidate_index + 1,
                p.village_id,
                round(p.lon, 6),
                round(p.lat, 6),
                p.commune_code,
                p.children_newly_served,
                p.villages_newly_served,
                p.cumulative_children_newly_served,
            ]
            for p in result.picks
        ],
    )
    communes = Table(
        _("Children served per commune, before and after"),
        [_("Commune code"), _("Commune"), _("Children (villages)"), _("Served before"), _("Served after")],
        [[c.code, c.name, c.children, c.served_before, c.served_after] for c in result.communes],
    )
    return [picks, communes]


def to_csv(parameters: list[tuple], tables: list[Table]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    for name, value in parameters:
        w.writerow([_("parameter"), name, value])
    for t in tables:
        w.writerow([])
        w.writerow([t.title])
        w.writerow(t.header)
        w.writerows([["" if v is None else v for v in row] for row in t.rows])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _sheet_title(text: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\
    return "".join(c for c in text if c not in "[]:*?/\\")[:31]


def to_xlsx(parameters: list[tuple], tables: list[Table]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _sheet_title(_("Parameters"))
    ws.append([_("Parameter"), _("Value")])
    for name, value in parameters:
        ws.append([name, value])
    ws.column_dimensions["A"].width = 48
    ws.column_dimensions["B"].width = 40
    for i, t in enumerate(tables, start=1):
        sheet = wb.create_sheet(_sheet_title(f"{i}. {t.title}"))
        sheet.append(t.header)
        for row in t.rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render(fmt: str, parameters: list[tuple], tables: list[Table]) -> tuple[bytes, str]:
    """(content, content type) of the file in `fmt` ("csv" or "xlsx")."""
    if fmt == "xlsx":
        return to_xlsx(parameters, tables), XLSX_TYPE
    return to_csv(parameters, tables), CSV_TYPE
