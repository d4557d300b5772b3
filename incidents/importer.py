"""Import child injury incidents from the spreadsheet a district or commune social-affairs
office keeps: CSV (UTF-8, with or without BOM, comma or semicolon) or XLSX (first sheet).

The header is on the first line (line 1); its names are matched without regard to case,
accents or punctuation ("Ngày xảy ra", "ngay_xay_ra" and "NGAY XAY RA" are one column).

Columns (Vietnamese header / English header: values):
- loai, loai_tai_nan / kind: drowning/đuối nước, traffic/giao thông, fall/ngã, burn/bỏng,
  construction_site/công trình, animal/động vật cắn, other/khác (a leading "tai nạn" or "bị" is dropped)
- ngay, ngay_xay_ra / date: YYYY-MM-DD or DD/MM/YYYY (also D/M/YYYY, DD-MM-YYYY, DD.MM.YYYY) or an
  XLSX date cell; not in the future
- gio / time (optional): HH:MM[:SS], 14h30, 14h, or an XLSX time cell
- kinh_do / lon, longitude and vi_do / lat, latitude (optional): WGS 84 degrees, decimal point or
  comma; both or neither
- ma_xa / commune, commune_code: GSO code of the commune in force on the date (five digits; 3389 is
  read as 03389); used when the row has no lon/lat
- do_tuoi, nhom_tuoi / age_band: 0-4, 5-9, 10-14, 15-17 (a whole age in years is mapped to its band)
- tuoi / age: an exact age, 0–17 years (or "18 tháng"); only its band is stored
- gioi_tinh / sex, gender: nam/male, nữ/female; blank or "không rõ" → not recorded
- hau_qua / outcome: tử vong/fatal, nhập viện/hospitalised, nhẹ/minor
- hoan_canh / circumstances: free text without names, birth dates, phone or ID numbers (≤ 500 characters)
- don_vi_bao_cao / source: the reporting office; blank: the import's default source
- so_bao_cao / reference: the office's report number; a re-import updates by (source, reference)
- stt, so_thu_tu: the running number spreadsheets have; ignored

Required columns: kind, date, outcome, age_band or age, and lon+lat or commune (a row may
use either), and source unless the import is given a default source.

The whole file is refused (IncidentFileError), on its header alone and before any row
is read, when a header identifies a child (incidents.privacy.identifying_column: names,
birth dates, addresses, phone and ID numbers), when a header is unknown (a typo must
not make a column vanish), when a column is given twice or a required one is missing;
and, while the rows are read and before anything is stored, when a column without a
header holds values (it could hold anything). Nothing else stops the import: every row
goes through incidents.services.incident_record (the rules of the API) inside its own
savepoint, so a bad row is reported (line, column as written in the file, reason) and
never aborts the others; the valid rows are stored in one transaction; dry_run rolls it
back after counting what would happen.

Idempotency: a row with a report number updates the record of (source, reference).
A row without one gets the reference 'auto:' + sha1 of its normalised stored content
(kind, date, time, point to 7 decimals, commune code, age band, sex, outcome,
circumstances); identical rows of one file are told apart by their occurrence (the
second identical row is a second child: siblings drowning together is sadly common),
so re-importing the same file creates nothing. The key uses the age band, never the
exact age, which could otherwise be recovered from the hash by trying 18 values.

Row numbers (RowError.row) are lines of the file, the header being line 1, as a
spreadsheet shows them; empty lines are skipped but counted.
"""

import csv
import datetime as dt
import difflib
import hashlib
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError
from xml.parsers.expat import ExpatError

from django.contrib.gis.geos import Point
from django.db import DataError, IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from places.importer import ImportFileError, ImportReport, RowError, check_zip_directory, unpacked_too_far
from places.selectors import today

from .models import AgeBand, Incident, IncidentKind, Outcome, Sex
from .privacy import fold, identifying_column
from .services import IncidentInvalid, incident_record

MAX_ROWS = 20_000
# openpyxl holds the shared strings of a workbook in memory: a few kB of zip can declare gigabytes.
# 20 000 rows of incidents unpack to a few MB; zipfile never inflates a member past its declared size.
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024
# The shared-strings part (every text cell's text) is read whole into memory: 20 000 rows of
# incidents hold well under 5 MB of text; a bigger part is not an incident list.
MAX_XLSX_SHARED_STRINGS_BYTES = 20 * 1024 * 1024
CIRCUMSTANCES_MAX = Incident._meta.get_field("circumstances").max_length
SOURCE_MAX = Incident._meta.get_field("source").max_length
REFERENCE_MAX = Incident._meta.get_field("reference").max_length
AUTO_PREFIX = "auto:"
# An earlier date is a typo (1024 for 2024), not a record: the province's records start far later.
EARLIEST = dt.date(1990, 1, 1)
# First key of pg_advisory_xact_lock(int, int): imports of one source run one at a time.
LOCK_NAMESPACE = 0x1C1D

# Field → accepted headers (folded: lower case, no accents, đ → d, non-alphanumerics → _).
COLUMNS: dict[str, tuple[str, ...]] = {
    "kind": ("loai", "loai_tai_nan", "kind"),
    "date": ("ngay", "ngay_xay_ra", "date"),
    "time": ("gio", "time"),
    "lon": ("kinh_do", "lon", "longitude"),
    "lat": ("vi_do", "lat", "latitude"),
    "commune": ("ma_xa", "commune", "commune_code"),
    "age_band": ("do_tuoi", "nhom_tuoi", "age_band"),
    "age": ("tuoi", "age"),
    "sex": ("gioi_tinh", "sex", "gender"),
    "outcome": ("hau_qua", "outcome"),
    "circumstances": ("hoan_canh", "circumstances"),
    "source": ("don_vi_bao_cao", "source"),
    "reference": ("so_bao_cao", "reference"),
}
IGNORED_COLUMNS = ("stt", "so_thu_tu")
ALIASES = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}

# Values (folded) → stored value. A leading "tai_nan_" / "bi_" is dropped first ("Tai nạn đuối nước").
KIND_WORDS = {
    IncidentKind.DROWNING: ("drowning", "duoi_nuoc", "chet_duoi"),
    IncidentKind.TRAFFIC: ("traffic", "giao_thong", "tngt"),
    IncidentKind.FALL: ("fall", "nga", "te_nga", "nga_cao"),
    IncidentKind.BURN: ("burn", "bong"),
    IncidentKind.CONSTRUCTION_SITE: (
        "construction_site",
        "construction",
        "cong_trinh",
        "cong_trinh_xay_dung",
    ),
    IncidentKind.ANIMAL: ("animal", "dong_vat", "dong_vat_can", "cho_can", "animal_bite"),
    IncidentKind.OTHER: ("other", "khac"),
}
SEX_WORDS = {
    Sex.MALE: ("nam", "male", "m", "trai", "be_trai"),
    Sex.FEMALE: ("nu", "female", "f", "gai", "be_gai"),
    Sex.UNKNOWN: ("unknown", "khong_ro", "chua_ro", "khong_xac_dinh"),
}
OUTCOME_WORDS = {
    Outcome.FATAL: ("fatal", "tu_vong", "chet", "death", "died"),
    Outcome.HOSPITALISED: ("hospitalised", "hospitalized", "nhap_vien", "dieu_tri_noi_tru"),
    Outcome.MINOR: ("minor", "nhe", "thuong_nhe", "bi_thuong_nhe"),
}
# Shown in messages: what a cell may say.
KIND_HELP = (
    "drowning/đuối nước, traffic/giao thông, fall/ngã, burn/bỏng, "
    "construction_site/công trình, animal/động vật cắn, other/khác"
)
SEX_HELP = "nam/male, nữ/female, không rõ/unknown"
OUTCOME_HELP = "tử vong/fatal, nhập viện/hospitalised, nhẹ/minor"
AGE_BANDS = [(int(band.split("-")[0]), int(band.split("-")[1]), band) for band in AgeBand.values]


class IncidentFileError(Exception):
    """The file (or an argument of the import) cannot be used at all; the message says why."""


@dataclass
class IncidentImportReport(ImportReport):
    """What an import did (or, with dry_run, would do). RowError.row is a line, the header being line 1."""

    row_numbering: str = "line"


def _lookup(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {word: str(value) for value, aliases in words.items() for word in aliases}


KINDS_BY_WORD = _lookup(KIND_WORDS)
SEXES_BY_WORD = _lookup(SEX_WORDS)
OUTCOMES_BY_WORD = _lookup(OUTCOME_WORDS)


# --- reading ----------------------------------------------------------------------------

# A line of the file: (line number, cells, error message by column index); the header comes first.
Line = tuple[int, list[Any], dict[int, str]]


def _format(data: bytes, filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    if data[:4] == b"PK\x03\x04":
        return "xlsx"  # a workbook whatever its name says
    if suffix == ".xls" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise IncidentFileError(
            _("the old Excel format (.xls) is not read: save the file as .xlsx or CSV UTF-8")
        )
    if suffix in (".xlsx", ".xlsm"):
        raise IncidentFileError(_("not a readable XLSX workbook"))
    if suffix in (".csv", ".txt", ""):
        return "csv"
    raise IncidentFileError(
        _("unsupported file type '%(suffix)s' (expected .csv or .xlsx)") % {"suffix": suffix}
    )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        raise IncidentFileError(
            _(
                "the file is not UTF-8 text (line %(line)d, byte %(byte)d): "
                "save it as 'CSV UTF-8' (Excel: File > Save As > CSV UTF-8)"
            )
            % {"line": data[:offset].count(b"\n") + 1, "byte": offset + 1}
        ) from exc


def _csv_lines(data: bytes) -> Iterator[Line]:
    text = _decode(data)
    if not text.strip():
        raise IncidentFileError(_("the file is empty"))
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 1
    try:
        for record in reader:
            number, line = line, reader.line_num + 1
            yield number, list(record), {}
    except csv.Error as exc:
        raise IncidentFileError(
            _("unreadable CSV at line %(line)d: %(error)s") % {"line": line, "error": exc}
        ) from exc


# Malformed XML, or XML declaring entities (expat refuses their expansion: "billion laughs").
_XML_ERRORS = (ParseError, ExpatError)


def _xml_message() -> str:
    return _("not a readable XLSX workbook: its XML is malformed or declares entities")


def _xlsx_lines(data: bytes) -> Iterator[Line]:
    try:
        # A workbook is a zip: its directory is checked from the end record before zipfile reads it.
        check_zip_directory(io.BytesIO(data))
    except ImportFileError as exc:
        raise IncidentFileError(str(exc)) from exc
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise IncidentFileError(_("not a readable XLSX workbook")) from exc
    if sum(info.file_size for info in members) > MAX_XLSX_UNPACKED_BYTES:
        raise IncidentFileError(unpacked_too_far(MAX_XLSX_UNPACKED_BYTES))
    shared = sum(info.file_size for info in members if info.filename.lower().endswith("sharedstrings.xml"))
    if shared > MAX_XLSX_SHARED_STRINGS_BYTES:
        raise IncidentFileError(
            _("the workbook holds %(size)d MB of text; an incident list holds at most %(limit)d MB")
            % {"size": math.ceil(shared / 2**20), "limit": MAX_XLSX_SHARED_STRINGS_BYTES // 2**20}
        )
    try:
        # data_only=False: a formula is read as a formula, so that it can be refused.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, OSError) as exc:
        raise IncidentFileError(_("not a readable XLSX workbook")) from exc
    except _XML_ERRORS as exc:
        raise IncidentFileError(_xml_message()) from exc
    try:
        if not workbook.worksheets:
            raise IncidentFileError(_("the workbook has no sheet"))
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record a wrong size; read what is there
        for line, cells in enumerate(sheet.iter_rows(min_row=1), 1):
            values, errors = [], {}
            for index, cell in enumerate(cells):
                value = cell.value
                if cell.data_type == "f":
                    errors[index] = _("formulas are not accepted, paste values")
                    value = None
                elif cell.data_type == "e":
                    errors[index] = _("the cell holds the spreadsheet error %(value)s") % {"value": value}
                    value = None
                values.append(value)
            yield line, values, errors
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise IncidentFileError(_("not a readable XLSX workbook")) from exc
    except _XML_ERRORS as exc:
        raise IncidentFileError(_xml_message()) from exc
    finally:
        workbook.close()


def _blank(value):
    """None for an empty cell; text NFC-normalised and stripped; other values as they are."""
    if value is None:
        return None
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return value


# --- the header ----------------------------------------------------------------------------


def _columns(header: list[str], *, default_source: str | None) -> tuple[dict[int, str], dict[str, str]]:
    """(column index → field, field → header as written); raises IncidentFileError for an unusable header."""
    names = [unicodedata.normalize("NFC", str(h or "")).strip() for h in header]
    identifying = [name for name in names if name and identifying_column(name)]
    if identifying:
        quoted = ", ".join(f"'{name}'" for name in identifying)
        message = (
            _(
                "the file has a column %(columns)s that identifies a child: "
                "remove names, birth dates, addresses, phone and ID numbers; nothing was imported"
            )
            if len(identifying) == 1
            else _(
                "the file has columns %(columns)s that identify a child: "
                "remove names, birth dates, addresses, phone and ID numbers; nothing was imported"
            )
        )
        raise IncidentFileError(message % {"columns": quoted})
    fields: dict[int, str] = {}
    labels: dict[str, str] = {}
    unknown = []
    for index, name in enumerate(names):
        if not name:
            continue
        folded = fold(name)
        if folded in IGNORED_COLUMNS:
            continue
        target = ALIASES.get(folded)
        if target is None:
            guess = difflib.get_close_matches(folded, list(ALIASES), n=1, cutoff=0.75)
            unknown.append(
                _("'%(column)s' (did you mean '%(guess)s'?)") % {"column": name, "guess": guess[0]}
                if guess
                else f"'{name}'"
            )
            continue
        if target in labels:
            raise IncidentFileError(
                _("the columns '%(first)s' and '%(second)s' are the same column: keep one")
                % {"first": labels[target], "second": name}
            )
        fields[index], labels[target] = target, name
    if unknown:
        raise IncidentFileError(
            _("unknown columns: %(columns)s; the accepted columns are %(accepted)s")
            % {
                "columns": ", ".join(unknown),
                "accepted": ", ".join(f"{a[0]}/{a[-1]}" for a in COLUMNS.values()),
            }
        )
    missing = [
        f"{COLUMNS[name][0]}/{COLUMNS[name][-1]}"
        for name in ("kind", "date", "outcome")
        if name not in labels
    ]
    if "age_band" not in labels and "age" not in labels:
        missing.append(_("%(first)s or %(second)s") % {"first": "do_tuoi/age_band", "second": "tuoi/age"})
    if "commune" not in labels and not ("lon" in labels and "lat" in labels):
        missing.append(
            _("%(first)s or %(second)s") % {"first": "kinh_do+vi_do/lon+lat", "second": "ma_xa/commune"}
        )
    if "source" not in labels and not default_source:
        missing.append("don_vi_bao_cao/source " + _("(or give the import a default source)"))
    if missing:
        raise IncidentFileError(_("the file has no column %(columns)s") % {"columns": "; ".join(missing)})
    if ("lon" in labels) != ("lat" in labels):
        raise IncidentFileError(
            _("the file has '%(column)s' without its pair: give both kinh_do/lon and vi_do/lat")
            % {"column": labels.get("lon") or labels.get("lat")}
        )
    return fields, labels


# --- one row ---------------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Fields whose value was replaced to let incident_record check the rest of the row.
    substituted: set[str] = field(default_factory=set)
    # Which column gave the age band: "age_band" or "age".
    band_from: str = "age_band"
    kwargs: dict[str, Any] = field(default_factory=dict)
    key: str = ""

    def fail(self, name: str, message: str):
        self.errors.setdefault(name, []).append(message)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code or number that the spreadsheet turned into 1001.0
    return unicodedata.normalize("NFC", str(value)).strip()


def _choice(row: _Row, name: str, value, table: dict[str, str], help_text: str, *, blank: str | None = None):
    text = _text(value)
    if not text:
        if blank is not None:
            return blank
        row.fail(name, _("required"))
        return None
    folded = fold(text)
    if name == "kind":
        folded = re.sub(r"^(?:tai_nan_|bi_)", "", folded)
    found = table.get(folded)
    if found is None:
        row.fail(name, _("'%(value)s' is not one of: %(choices)s") % {"value": text, "choices": help_text})
    return found


DATE_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
DATE_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})")


def _date(row: _Row, value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return _plausible(row, value.date())
    if isinstance(value, dt.date):
        return _plausible(row, value)
    text = _text(value)
    if not text:
        row.fail("date", _("required"))
        return None
    parts = None
    if match := DATE_ISO.fullmatch(text):
        parts = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    elif match := DATE_DMY.fullmatch(text):
        if len(match.group(3)) == 2:
            row.fail("date", _("'%(value)s': write the year with four digits") % {"value": text})
            return None
        parts = (int(match.group(3)), int(match.group(2)), int(match.group(1)))
    if parts is None:
        row.fail("date", _("'%(value)s' is not a date (expected DD/MM/YYYY or YYYY-MM-DD)") % {"value": text})
        return None
    try:
        day = dt.date(*parts)
    except ValueError:
        row.fail("date", _("'%(value)s' is not a day of the calendar") % {"value": text})
        return None
    return _plausible(row, day)


def _plausible(row: _Row, day: dt.date) -> dt.date | None:
    if day < EARLIEST:
        row.fail(
            "date",
            _("%(day)s is before %(year)d: check the year") % {"day": day.isoformat(), "year": EARLIEST.year},
        )
        return None
    return day


TIME_TEXT = re.compile(
    r"(\d{1,2})\s*(?::|h|giờ|g)\s*(?:(\d{1,2})\s*(?:phút|p)?)?(?::(\d{1,2}))?", re.IGNORECASE
)


def _time(row: _Row, value) -> dt.time | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.time().replace(microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(microsecond=0, tzinfo=None)
    text = _text(value)
    match = TIME_TEXT.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        return dt.time(int(match.group(1)), int(match.group(2) or 0), int(match.group(3) or 0))
    except ValueError:
        row.fail("time", _("'%(value)s' is not a time of day (expected HH:MM)") % {"value": text})
        return None


def _number(value) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value).replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")  # decimal comma, as Vietnamese spreadsheets write it
        number = float(text)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _location(row: _Row, lon_value, lat_value) -> Point | None:
    if lon_value is None and lat_value is None:
        return None
    if lon_value is None or lat_value is None:
        row.fail("location", _("give both the longitude and the latitude, or neither"))
        return None
    try:
        lon, lat = _number(lon_value), _number(lat_value)
    except (ValueError, TypeError):
        row.fail(
            "location",
            _("'%(lon)s', '%(lat)s' are not coordinates in degrees") % {"lon": lon_value, "lat": lat_value},
        )
        return None
    if 8 <= lon <= 24 and 100 <= lat <= 112:
        row.fail("location", _("the longitude and the latitude seem swapped"))
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        row.fail("location", _("%(lon)s, %(lat)s are not WGS 84 degrees") % {"lon": lon, "lat": lat})
        return None
    return Point(lon, lat, srid=4326)


def _commune(value) -> str | None:
    text = _text(value)
    if text.isdigit() and len(text) < 5:
        text = text.zfill(5)  # GSO commune codes have five digits; a spreadsheet drops the leading zeros
    return text or None


AGE_BAND_TEXT = re.compile(r"(\d{1,2})\s*[-–—]\s*(\d{1,2})(?:\s*(?:tuổi|tuoi|years?))?", re.IGNORECASE)
AGE_TEXT = re.compile(r"(\d{1,2})(?:[.,]0+)?\s*(tuổi|tuoi|years?|tháng|thang|months?)?", re.IGNORECASE)


def _band_of(age: int) -> str:
    return next(band for low, high, band in AGE_BANDS if low <= age <= high)


def _age(row: _Row, value, name: str) -> str | None:
    """The band of an exact age (whole years 0–17, or months); the age itself is not kept."""
    if isinstance(value, bool | dt.date | dt.time):
        row.fail(name, _("not an age in years"))
        return None
    if isinstance(value, int | float):
        if float(value).is_integer() and 0 <= value <= 17:
            return _band_of(int(value))
        row.fail(name, _("an age must be a whole number of years from 0 to 17"))
        return None
    match = AGE_TEXT.fullmatch(_text(value))
    if match is None:
        row.fail(name, _("an age must be a whole number of years from 0 to 17"))
        return None
    number, unit = int(match.group(1)), fold(match.group(2) or "")
    years = number // 12 if unit.startswith(("thang", "month")) else number
    if years > 17:
        row.fail(name, _("an age must be a whole number of years from 0 to 17"))
        return None
    return _band_of(years)


def _age_band(row: _Row, value) -> str | None:
    if isinstance(value, dt.date | dt.time):
        row.fail(
            "age_band",
            _("a date, not an age band (if Excel turned '5-9' into a date, format the column as text)"),
        )
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _age(row, value, "age_band")
    text = _text(value)
    if match := AGE_BAND_TEXT.fullmatch(text):
        band = f"{int(match.group(1))}-{int(match.group(2))}"
        if band in AgeBand.values:
            return band
    elif AGE_TEXT.fullmatch(text):
        return _age(row, text, "age_band")
    row.fail(
        "age_band",
        _("'%(value)s' is not an age band (expected %(choices)s)")
        % {"value": text, "choices": ", ".join(AgeBand.values)},
    )
    return None


def _limited(row: _Row, name: str, text: str, limit: int) -> str:
    if len(text) > limit:
        row.fail(name, _("longer than %(max)d characters") % {"max": limit})
    return text


def _parse(
    line: int, values: dict[str, Any], cell_errors: dict[str, list[str]], *, default_source: str
) -> _Row:
    """Read one row; a field whose cell is unusable (a formula, a NUL) is reported once, not parsed."""
    row = _Row(line, values, errors={name: list(messages) for name, messages in cell_errors.items()})
    bad = set(cell_errors)
    get = values.get
    kind = None if "kind" in bad else _choice(row, "kind", get("kind"), KINDS_BY_WORD, KIND_HELP)
    day = None if "date" in bad else _date(row, get("date"))
    time_of_day = None if "time" in bad else _time(row, get("time"))
    location = None if "location" in bad else _location(row, get("lon"), get("lat"))
    commune = None if "commune" in bad else _commune(get("commune"))
    band = None
    if get("age_band") is not None and "age_band" not in bad:
        band = _age_band(row, get("age_band"))
    if get("age") is not None and "age" not in bad:
        from_age = _age(row, get("age"), "age")
        if band is None and "age_band" not in row.errors:
            band, row.band_from = from_age, "age"
        elif from_age is not None and band is not None and from_age != band:
            row.fail("age", _("does not fall in the age band given (%(band)s)") % {"band": band})
    if band is None and "age_band" not in row.errors and "age" not in row.errors:
        row.fail("age_band", _("required: an age band or an age"))
    sex = (
        None if "sex" in bad else _choice(row, "sex", get("sex"), SEXES_BY_WORD, SEX_HELP, blank=Sex.UNKNOWN)
    )
    outcome = (
        None if "outcome" in bad else _choice(row, "outcome", get("outcome"), OUTCOMES_BY_WORD, OUTCOME_HELP)
    )
    circumstances = _limited(row, "circumstances", _text(get("circumstances")), CIRCUMSTANCES_MAX)
    source = _limited(row, "source", _text(get("source")) or default_source, SOURCE_MAX)
    reference = _limited(row, "reference", _text(get("reference")), REFERENCE_MAX)
    if location is None and commune is None and "location" not in row.errors and "commune" not in row.errors:
        row.fail("commune", _("give the location (kinh_do, vi_do) or the commune's GSO code (ma_xa)"))
    # What incident_record gets. A field that could not be read is replaced by a valid stand-in, and
    # the service's errors about it are ignored, so that the rest of the row is still checked.
    stand_ins = {
        "kind": IncidentKind.OTHER,
        "age_band": AgeBand.AGE_0_4,
        "sex": Sex.UNKNOWN,
        "outcome": Outcome.MINOR,
    }
    given = {"kind": kind, "age_band": band, "sex": sex, "outcome": outcome}
    for name, value in given.items():
        if value is None:
            given[name] = str(stand_ins[name])
            row.substituted.add(name)
    row.substituted.update(
        name for name in ("date", "time", "circumstances", "source", "reference") if name in row.errors
    )
    if "location" in row.errors or "commune" in row.errors:
        row.substituted.update({"location", "commune"})
    row.kwargs = {
        "kind": given["kind"],
        "day": day,
        "time_of_day": time_of_day,
        "location": location,
        "commune_code": commune,
        "age_band": given["age_band"],
        "sex": given["sex"],
        "outcome": given["outcome"],
        "circumstances": "" if "circumstances" in row.errors else circumstances,
        "source": default_source if "source" in row.errors else source,
        "reference": "" if "reference" in row.errors else reference,
    }
    return row


def _content(kwargs: dict) -> str:
    """The row as it would be stored, normalised: the age band, never an exact age."""
    location = kwargs["location"]
    return "\x1f".join(
        [
            kwargs["kind"],
            kwargs["day"].isoformat(),
            kwargs["time_of_day"].isoformat() if kwargs["time_of_day"] else "",
            f"{location.x:.7f},{location.y:.7f}" if location is not None else "",
            kwargs["commune_code"] or "",
            kwargs["age_band"],
            kwargs["sex"],
            kwargs["outcome"],
            " ".join(kwargs["circumstances"].split()),
        ]
    )


def _keys(rows: list[_Row]) -> None:
    """Reference of each valid row: its own, or 'auto:' + the hash of its content and occurrence."""
    first_line: dict[tuple[str, str], int] = {}
    occurrences: dict[tuple[str, str], int] = {}
    for row in rows:
        source, reference = row.kwargs["source"], row.kwargs["reference"]
        if reference:
            first = first_line.setdefault((source, reference), row.line)
            if first != row.line:
                row.fail(
                    "reference",
                    _("report number '%(reference)s' is already on line %(line)d")
                    % {"reference": reference, "line": first},
                )
            continue
        content = _content(row.kwargs)
        n = occurrences[(source, content)] = occurrences.get((source, content), 0) + 1
        digest = hashlib.sha1(f"{content}\x1e{n}".encode(), usedforsecurity=False).hexdigest()
        row.kwargs["reference"] = AUTO_PREFIX + digest


# --- storing ---------------------------------------------------------------------------------

COMPARED = (
    "kind",
    "date",
    "time",
    "commune_id",
    "current_commune_id",
    "age_band",
    "sex",
    "outcome",
    "circumstances",
    "linked_site_id",
    "linked_site_manual",
    "synthetic",
)


def _snapshot(incident: Incident) -> tuple:
    location = incident.location
    return (
        *(getattr(incident, name) for name in COMPARED),
        None if location is None else (round(location.x, 9), round(location.y, 9)),
    )


def _lock_sources(sources: set[str]) -> None:
    """Two imports of one source at a time would both create the same rows; the second waits."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(s))"
            " FROM (SELECT s FROM unnest(%s::text[]) AS s ORDER BY s) AS t",
            [LOCK_NAMESPACE, sorted(sources)],
        )


def _record(row: _Row, *, user, report: IncidentImportReport) -> None:
    """incident_record in a savepoint: kept when it creates or changes, rolled back otherwise."""
    kwargs = row.kwargs
    existing = Incident.objects.filter(source=kwargs["source"], reference=kwargs["reference"]).first()
    before = _snapshot(existing) if existing is not None else None
    savepoint = transaction.savepoint()
    try:
        recorded = incident_record(user=user, **kwargs)
    except IncidentInvalid as exc:
        transaction.savepoint_rollback(savepoint)
        for name, messages in exc.errors.items():
            for message in messages:
                row.fail(name, str(message))
        return
    except (DataError, IntegrityError) as exc:
        transaction.savepoint_rollback(savepoint)
        row.fail("row", _("could not be stored: %(error)s") % {"error": str(exc).splitlines()[0]})
        return
    if recorded.created:
        report.created += 1
    elif before == _snapshot(recorded.incident):
        report.unchanged += 1
        transaction.savepoint_rollback(savepoint)  # no history entry, no new updated_at
        return
    else:
        report.updated += 1
    transaction.savepoint_commit(savepoint)


def _check_rest(row: _Row, *, user) -> None:
    """A row with unreadable fields: let incident_record check the others, store nothing."""
    errors_before = {name: list(messages) for name, messages in row.errors.items()}
    kwargs = dict(row.kwargs)
    if kwargs["day"] is None:
        kwargs["day"] = today()  # a stand-in; the communes, which depend on the date, are not judged then
    savepoint = transaction.savepoint()
    try:
        incident_record(user=user, **kwargs)
    except IncidentInvalid as exc:
        for name, messages in exc.errors.items():
            if name in row.substituted or (name in ("commune", "location") and "date" in row.substituted):
                continue
            errors_before.setdefault(name, []).extend(str(m) for m in messages)
    except (DataError, IntegrityError):
        pass
    finally:
        transaction.savepoint_rollback(savepoint)
    row.errors = errors_before


def _label(name: str, row: _Row, labels: dict[str, str]) -> str:
    """The column of the file an error is about, as its header is written."""
    if name == "location":
        if "lon" in labels:
            return f"{labels['lon']}, {labels['lat']}"
        return name
    if name == "age_band" and "age" in labels and (row.band_from == "age" or "age_band" not in labels):
        return labels["age"]
    if name == "commune" and "commune" not in labels and "lon" in labels:
        return f"{labels['lon']}, {labels['lat']}"
    return labels.get(name, name)


def _rows(
    lines: Iterator[Line], fields: dict[int, str], header: list[str], *, default_source: str
) -> list[_Row]:
    """Parse the data lines; a column without a header that holds values refuses the file."""
    rows = []
    for line, cells, cell_errors in lines:
        for index, cell in enumerate(cells):
            if (index >= len(header) or not header[index]) and _blank(cell) is not None:
                raise IncidentFileError(
                    _(
                        "column %(column)d has no name in the header but holds values (line %(line)d): "
                        "name it or delete it"
                    )
                    % {"column": index + 1, "line": line}
                )
        if all(
            (index >= len(cells) or _blank(cells[index]) is None) and index not in cell_errors
            for index in fields
        ):
            continue  # an empty line: trailing rows of a spreadsheet, or rows of a template with only an STT
        if len(rows) >= MAX_ROWS:
            raise IncidentFileError(_("more than %(max)d rows: split the file") % {"max": MAX_ROWS})
        values, errors = {}, {}
        for index, name in fields.items():
            value = _blank(cells[index]) if index < len(cells) else None
            target = "location" if name in ("lon", "lat") else name
            if isinstance(value, str) and "\x00" in value:
                errors.setdefault(target, []).append(_("contains a NUL character"))
                value = None
            if index in cell_errors:
                errors.setdefault(target, []).append(cell_errors[index])
            values[name] = value
        rows.append(_parse(line, values, errors, default_source=default_source))
    return rows


def import_incidents(
    *, data: bytes, filename: str, user=None, dry_run: bool = False, default_source: str | None = None
) -> IncidentImportReport:
    """Validate every row of a CSV or XLSX file and store the valid ones in one transaction.

    `filename` (the name the user gave the file) helps choose the format; a workbook is
    recognised by its content too. `default_source` is the reporting office of rows
    without one. Raises IncidentFileError when the file cannot be used at all: then
    nothing is stored.
    """
    default_source = _text(default_source)
    if len(default_source) > SOURCE_MAX:
        raise IncidentFileError(_("the source name is longer than %(max)d characters") % {"max": SOURCE_MAX})
    if not data:
        raise IncidentFileError(_("the file is empty"))
    fmt = _format(data, filename)
    lines = _xlsx_lines(data) if fmt == "xlsx" else _csv_lines(data)
    try:
        first = next(lines, None)
        if first is None or not any(_blank(cell) is not None for cell in first[1]):
            raise IncidentFileError(_("the first line must hold the column names"))
        if first[2]:
            raise IncidentFileError(_("the header (line 1) must hold plain column names, not formulas"))
        header = [unicodedata.normalize("NFC", _text(cell)) for cell in first[1]]
        # The header decides before any row is read: a file that identifies a child is refused whole.
        fields, labels = _columns(header, default_source=default_source)
        rows = _rows(lines, fields, header, default_source=default_source)
    finally:
        lines.close()
    report = IncidentImportReport(format=fmt, dry_run=dry_run, total=len(rows))
    _keys([r for r in rows if not r.errors])
    user = user if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        if not dry_run:
            _lock_sources({r.kwargs["source"] for r in rows if not r.errors})
        for row in rows:
            if row.errors:
                _check_rest(row, user=user)
            else:
                _record(row, user=user, report=report)
        if dry_run:
            transaction.set_rollback(True)
    for row in rows:
        for name, messages in row.errors.items():
            label = _label(name, row, labels)
            report.rejected.extend(RowError(row.line, label, message) for message in messages)
    return report


__all__ = ["IncidentFileError", "IncidentImportReport", "RowError", "fold", "import_incidents"]
