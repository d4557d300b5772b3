"""Every format of a report, rendered from its frozen snapshot only (never from the live tables).

The same snapshot and language give the same bytes: HTML and CSV trivially, XLSX because the workbook's
properties carry the generation time and the zip entries a fixed date. Hidden incident numbers (None in
an integer column) are written as the hidden symbol "x" everywhere, with the footnote.
"""

import csv
import io
import logging
import re
import zipfile
from datetime import UTC, datetime
from html import escape

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from incidents.suppression import HIDDEN_LABEL

NOT_APPLICABLE = "–"
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
ZIP_DATE = (2000, 1, 1, 0, 0, 0)
FORMATS = ("html", "xlsx", "csv", "pdf")
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "zip": "application/zip",
    "pdf": "application/pdf",
}


def pick(value, lang: str):
    return value.get(lang) or value.get("vi") if isinstance(value, dict) else value


def cell_type(tbl: dict, row: int, col: int) -> str:
    """int, pct, text; delta / pct_delta for a change (a difference of counts or of shares)."""
    types = tbl.get("row_types")
    kind = tbl["columns"][col]["type"]
    if types and col > 0:
        row_kind = types[row]
        if kind == "delta":
            return "pct_delta" if row_kind == "pct" else "delta"
        return row_kind
    return kind


def display(value, kind: str, lang: str) -> str:
    if value is None:
        return HIDDEN_LABEL if kind in ("int", "delta") else NOT_APPLICABLE
    if kind == "delta":
        text = f"{value:+,d}"
        return text.replace(",", ".") if lang == "vi" else text
    if kind == "pct_delta":
        text = f"{value * 100:+.1f}"
        return (text.replace(".", ",") + " điểm %") if lang == "vi" else text + " pp"
    if kind == "pct":
        text = f"{value * 100:.1f}"
        return (text.replace(".", ",") + " %") if lang == "vi" else text + "%"
    if kind == "int":
        text = f"{value:,}"  # thousands: 13.691 in Vietnamese, 13,691 in English
        return text.replace(",", ".") if lang == "vi" else text
    return str(pick(value, lang))


def all_tables(data: dict):
    for section in data["sections"]:
        yield from section["tables"]


def localized(data: dict, lang: str) -> dict:
    """The snapshot as display strings in one language, for the templates."""
    sections = []
    for n, section in enumerate(data["sections"]):
        tables = []
        for tbl in section["tables"]:
            rows = [
                [display(v, cell_type(tbl, i, j), lang) for j, v in enumerate(row)]
                for i, row in enumerate(tbl["rows"])
            ]
            total = None
            if tbl.get("total") is not None:
                total = [display(v, tbl["columns"][j]["type"], lang) for j, v in enumerate(tbl["total"])]
            numeric = [c["type"] != "text" for c in tbl["columns"]]
            tables.append(
                {
                    "key": tbl["key"],
                    "title": pick(tbl["title"], lang),
                    "columns": [pick(c["label"], lang) for c in tbl["columns"]],
                    "numeric": numeric,
                    "rows": [list(zip(r, numeric, strict=True)) for r in rows],
                    "total": list(zip(total, numeric, strict=True)) if total else None,
                    "note": pick(tbl["note"], lang) if tbl.get("note") else None,
                    "svg": map_svgs(tbl, lang) if tbl["key"] == "map" else None,
                    "empty": not tbl["rows"],
                }
            )
        sections.append(
            {
                "number": ROMAN[n],
                "key": section["key"],
                "title": pick(section["title"], lang),
                "tables": tables,
            }
        )
    header = {k: (pick(v, lang) if isinstance(v, dict) else v) for k, v in data["header"].items()}
    header["recipients"] = [pick(r, lang) for r in data["header"]["recipients"]]
    header["copies"] = [pick(r, lang) for r in data["header"]["copies"]]
    return {
        "header": header,
        "sections": sections,
        "footnote": pick(data["footnote"], lang) if data.get("footnote") else "",
        "params": data["params"],
        "generated_at": data["generated_at"],
        "generated_by": data.get("generated_by") or "",
    }


# --- the static choropleths ------------------------------------------------------------------------------

COVERAGE_CLASSES = [(0.2, "#fee5d9"), (0.4, "#fcae91"), (0.6, "#fb6a4a"), (0.8, "#de2d26"), (1.01, "#a50f15")]
INCIDENT_CLASSES = [(0, "#f7fbff"), (4, "#c6dbef"), (9, "#6baed6"), (19, "#2171b5"), (None, "#08306b")]
NO_DATA = "#e0e0e0"
HIDDEN_FILL = "#bdbdbd"
COVERAGE_LEGEND = ["0–20 %", "20–40 %", "40–60 %", "60–80 %", "80–100 %"]
INCIDENT_LEGEND = ["0", "1–4", "5–9", "10–19", "≥ 20"]
NO_SITES = gettext_lazy("no sites")
HIDDEN_TEXT = gettext_lazy("hidden")
COVERAGE_TITLE = gettext_lazy("Inspection coverage")
INCIDENTS_TITLE = gettext_lazy("Incidents")


def coverage_fill(value) -> str:
    if value is None:
        return NO_DATA
    return next(color for upper, color in COVERAGE_CLASSES if value < upper)


def incident_fill(value) -> str:
    if value is None:
        return HIDDEN_FILL
    return next(color for upper, color in INCIDENT_CLASSES if upper is None or value <= upper)


def _svg(tbl: dict, lang: str, title: str, column: int, fill, legend: list[tuple[str, str]]) -> str:
    x, y, w, h = tbl["view_box"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="choropleth" viewBox="{x} {y} {w} {h}" '
        f'role="img" aria-label="{escape(title)}">'
    ]
    for row in tbl["rows"]:
        path = tbl["paths"].get(row[0], "")
        if not path:
            continue
        value = row[column]
        kind = "pct" if column == 4 else "int"
        label = f"{pick(row[1], lang)}: {display(value, kind, lang)}"
        parts.append(
            f'<path d="{escape(path)}" fill="{fill(value)}" stroke="#555" '
            f'stroke-width="{max(w, h) / 600:.0f}">'
            f"<title>{escape(label)}</title></path>"
        )
    parts.append("</svg>")
    items = "".join(
        f'<li><span class="swatch" style="background:{color}"></span>{escape(text)}</li>'
        for text, color in legend
    )
    caption = f"<figcaption>{escape(title)}</figcaption>"
    return f'<figure class="map">{caption}{"".join(parts)}<ul class="legend">{items}</ul></figure>'


def map_svgs(tbl: dict, lang: str) -> str:
    with translation.override(lang):
        coverage_legend = [
            *zip(COVERAGE_LEGEND, [c for _u, c in COVERAGE_CLASSES], strict=True),
            (str(NO_SITES), NO_DATA),
        ]
        incident_legend = [*zip(INCIDENT_LEGEND, [c for _u, c in INCIDENT_CLASSES], strict=True)]
        if any(row[5] is None for row in tbl["rows"]):
            incident_legend.append((f"{HIDDEN_LABEL} ({HIDDEN_TEXT})", HIDDEN_FILL))
        return mark_safe(  # noqa: S308 - every text inside is escaped above
            _svg(tbl, lang, str(COVERAGE_TITLE), 4, coverage_fill, coverage_legend)
            + _svg(tbl, lang, str(INCIDENTS_TITLE), 5, incident_fill, incident_legend)
        )


# --- HTML and PDF ------------------------------------------------------------------------------------------


def render_html(data: dict, lang: str, *, checksum: str = "") -> str:
    with translation.override(lang):
        return render_to_string(
            "reports/document.html", {"doc": localized(data, lang), "lang": lang, "checksum": checksum}
        )


def render_pdf(data: dict, lang: str, *, checksum: str = "") -> bytes:
    import weasyprint  # imported here: only PDF needs it (and the system's Pango)
    from PIL import ImageFile

    # WeasyPrint turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES when imported; reports draw no
    # raster images, and the photo checks of inspections need it off.
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # one INFO line per page otherwise
    return weasyprint.HTML(string=render_html(data, lang, checksum=checksum)).write_pdf()


# --- XLSX ------------------------------------------------------------------------------------------------


def _sheet_name(text: str, used: set) -> str:
    clean = "".join(ch for ch in text if ch not in "[]:*?/\\")[:31].strip() or "Sheet"
    name, n = clean, 2
    while name.lower() in used:
        suffix = f" {n}"
        name, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def _xlsx_value(value, kind: str, lang: str):
    """Numbers stay numbers; hidden counts are the symbol; missing ratios are empty cells."""
    if value is None:
        return HIDDEN_LABEL if kind in ("int", "delta") else None
    if kind in ("int", "pct", "delta", "pct_delta"):
        return value
    return str(pick(value, lang))


MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _fixed_zip(raw: bytes, modified: datetime) -> bytes:
    """Rewrite a workbook with a fixed date on every zip entry and the generation time as its
    'modified' property (openpyxl stamps the time of saving), so the same snapshot gives the same bytes."""
    stamp = modified.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = MODIFIED.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            dst.writestr(entry, content)
    return out.getvalue()


def render_xlsx(data: dict, lang: str, *, checksum: str = "") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    doc = localized(data, lang)
    generated = (
        datetime.fromisoformat(data["generated_at"]).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    )
    wb = Workbook()
    wb.properties.creator = "ChildSafe Map"
    wb.properties.lastModifiedBy = "ChildSafe Map"
    wb.properties.created = generated
    wb.properties.modified = generated
    wb.properties.title = doc["header"]["title"]
    bold = Font(bold=True)
    used: set = set()
    with translation.override(lang):
        cover = wb.active
        cover.title = _sheet_name(_("Report"), used)
        h = doc["header"]
        for label, value in [
            (_("Sender"), h["sender"]),
            (_("Number"), h["number"]),
            (_("Title"), h["title"]),
            (_("To"), "; ".join(h["recipients"])),
            (_("From"), data["params"]["from"]),
            (_("To (date)"), data["params"]["to"]),
            (_("Generated at"), data["generated_at"]),
            (_("Generated by"), doc["generated_by"]),
            (_("Small numbers hidden"), _("yes") if data["params"]["suppressed"] else _("no")),
            (_("Snapshot checksum (SHA-256)"), checksum),
        ]:
            cover.append([label, value])
            cover.cell(row=cover.max_row, column=1).font = bold
        cover.column_dimensions["A"].width = 32
        cover.column_dimensions["B"].width = 80
        for section, loc in zip(data["sections"], doc["sections"], strict=True):
            ws = wb.create_sheet(_sheet_name(f"{loc['number']}. {loc['title']}", used))
            for tbl in section["tables"]:
                if ws.max_row > 1:
                    ws.append([])
                ws.append([pick(tbl["title"], lang)])
                ws.cell(row=ws.max_row, column=1).font = bold
                ws.append([pick(c["label"], lang) for c in tbl["columns"]])
                for cell in ws[ws.max_row]:
                    cell.font = bold
                lines = [(i, row) for i, row in enumerate(tbl["rows"])]
                for i, row in lines:
                    ws.append([_xlsx_value(v, cell_type(tbl, i, j), lang) for j, v in enumerate(row)])
                    _formats(ws, tbl, i)
                if tbl.get("total") is not None:
                    ws.append(
                        [_xlsx_value(v, tbl["columns"][j]["type"], lang) for j, v in enumerate(tbl["total"])]
                    )
                    _formats(ws, tbl, None)
                    for cell in ws[ws.max_row]:
                        cell.font = bold
                if any(v is None for row in tbl["rows"] for v in row) and doc["footnote"]:
                    ws.append([doc["footnote"]])
            ws.column_dimensions["A"].width = 28
            ws.column_dimensions["B"].width = 28
    raw = io.BytesIO()
    wb.save(raw)
    return _fixed_zip(raw.getvalue(), generated)


def _formats(ws, tbl: dict, row_index: int | None) -> None:
    for j, cell in enumerate(ws[ws.max_row]):
        kind = tbl["columns"][j]["type"] if row_index is None else cell_type(tbl, row_index, j)
        if kind == "pct" and isinstance(cell.value, float | int):
            cell.number_format = "0.0%"
        elif kind == "pct_delta" and isinstance(cell.value, float | int):
            cell.number_format = "+0.0%;-0.0%;0.0%"
        elif kind == "delta" and isinstance(cell.value, int):
            cell.number_format = "+0;-0;0"


# --- CSV -------------------------------------------------------------------------------------------------


def table_keys(data: dict) -> list[str]:
    return [tbl["key"] for tbl in all_tables(data)]


def render_csv_table(data: dict, key: str, lang: str) -> bytes:
    """One table as CSV (UTF-8 with BOM, so spreadsheet programs read the Vietnamese right)."""
    tbl = next(t for t in all_tables(data) if t["key"] == key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([pick(c["label"], lang) for c in tbl["columns"]])
    for i, row in enumerate(tbl["rows"]):
        writer.writerow([_csv_value(v, cell_type(tbl, i, j), lang) for j, v in enumerate(row)])
    if tbl.get("total") is not None:
        writer.writerow([_csv_value(v, tbl["columns"][j]["type"], lang) for j, v in enumerate(tbl["total"])])
    footnote = pick(data["footnote"], lang) if data.get("footnote") else ""
    if footnote and any(v is None for row in tbl["rows"] for v in row):
        writer.writerow([footnote])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value, kind: str, lang: str) -> str:
    """Plain machine-readable numbers (ratios as decimals), the hidden symbol, or the text."""
    if value is None:
        return HIDDEN_LABEL if kind in ("int", "delta") else ""
    if kind in ("int", "pct", "delta", "pct_delta"):
        return str(value)
    return str(pick(value, lang))


def render_csv_zip(data: dict, lang: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, key in enumerate(table_keys(data), start=1):
            entry = zipfile.ZipInfo(f"{n:02d}_{key}.csv", date_time=ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            zf.writestr(entry, render_csv_table(data, key, lang))
    return out.getvalue()


def render(
    data: dict, fmt: str, lang: str, *, checksum: str = "", table: str | None = None
) -> tuple[bytes, str]:
    """(content, content type) of one format."""
    if fmt == "html":
        return render_html(data, lang, checksum=checksum).encode("utf-8"), CONTENT_TYPES["html"]
    if fmt == "xlsx":
        return render_xlsx(data, lang, checksum=checksum), CONTENT_TYPES["xlsx"]
    if fmt == "csv":
        if table:
            return render_csv_table(data, table, lang), CONTENT_TYPES["csv"]
        return render_csv_zip(data, lang), CONTENT_TYPES["zip"]
    if fmt == "pdf":
        return render_pdf(data, lang, checksum=checksum), CONTENT_TYPES["pdf"]
    raise ValueError(fmt)


def filename(report, fmt: str, lang: str, table: str | None = None) -> str:
    ext = "zip" if fmt == "csv" and not table else fmt
    stem = f"report-{report.pk}-{report.date_from:%Y%m%d}-{report.date_to:%Y%m%d}-{lang}"
    return f"{stem}-{table}.{ext}" if table else f"{stem}.{ext}"
