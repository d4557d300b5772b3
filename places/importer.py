"""Import sites from a file: GeoJSON, GeoPackage, zipped Shapefile or CSV (plan flow 2).

Every row goes through the rules the API applies (places.validation), the communes of
all valid rows are resolved in one query (places_unit_at), and the valid rows are
stored in one transaction. A row that cannot be stored is reported with its number,
field and reason; it never stops the other rows and is never dropped silently.

Rows are keyed by (source, external_id): re-importing a file updates what it stored
before and creates no duplicates. A row without an external_id gets a content key
('sha1:' + hash of kind, name and geometry rounded to 7 decimals, about 1 cm), so a
file without ids re-imports idempotently too. A `source` column, which the export
writes, takes precedence over the `source` argument: an exported file re-imports onto
the very sites it came from.

Columns that are not attributes: kind, name, description, status, source,
external_id (or id); the geometry columns of a CSV (lon/lat, longitude/latitude,
x/y, wkt, srid/epsg); and what the export derives (commune_code, commune_name,
length_m), which is recomputed. Every other non-empty column must be an attribute
of the row's kind.

Row numbers (RowError.row): for CSV the line of the file, the header being line 1, so
the first data row is 2, as a spreadsheet shows it; for GeoJSON, GeoPackage and
Shapefile the position of the feature in the file or layer, 1 for the first.

Limits, so that one import stays within a server worker's memory (tests/test_hostile_memory.py):
a file holds at most IMPORT_MAX_ROWS rows (setting, 50 000), counted while it is read; a GeoJSON,
CSV or GeoPackage file, and the .shp of a zipped shapefile, is at most IMPORT_MAX_BYTES (setting,
20 MB); a CSV line is at most CSV_MAX_LINE characters; a zip holds at most MAX_ZIP_ENTRIES entries,
read from its end record before its directory is. Over a limit the whole file is refused, naming
the limit, and nothing is stored. GeoJSON and CSV are read as streams, one feature or line at a
time, and each row is checked as it is read: only the compact candidates (EWKB, not GEOS objects)
are kept until the single transaction. A shapefile record with more than MAX_VERTICES points is a
row error found in the .shx/.shp record headers: GDAL never reads its points.
"""

import codecs
import csv
import ctypes
import hashlib
import itertools
import json
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import shapely
import shapely.geometry
from django.conf import settings
from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, SpatialReference
from django.contrib.gis.gdal.error import SRSException
from django.contrib.gis.gdal.libgdal import lgdal
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Point
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.params import plain_digits

from .kinds import KINDS
from .models import Site, SiteStatus
from .selectors import unit_ids_at
from .validation import (
    MAX_VERTICES,
    SiteInvalid,
    clean_attributes,
    clean_geometry,
    clean_kind,
    too_many_vertices,
)

FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shapefile", ".csv": "csv"}

# Columns the export writes that are derived from the geometry or the database and
# recomputed here, so a round trip does not read them as unknown attributes.
DERIVED_COLUMNS = frozenset({"commune_code", "commune_name", "length_m"})
CSV_WKT_COLUMNS = ("wkt", "geometry", "geom")
CSV_XY_COLUMNS = (("lon", "lat"), ("longitude", "latitude"), ("x", "y"))
CSV_SRID_COLUMNS = ("srid", "epsg")
GEOMETRY_COLUMNS = frozenset(CSV_WKT_COLUMNS + sum(CSV_XY_COLUMNS, ()) + CSV_SRID_COLUMNS)
CORE_COLUMNS = ("kind", "name", "description", "status", "source", "external_id", "id")

NAME_MAX = Site._meta.get_field("name").max_length
EXTERNAL_ID_MAX = Site._meta.get_field("external_id").max_length
SOURCE_MAX = Site._meta.get_field("source").max_length
# A zip bomb must not fill the disk; real shapefiles of a province are far smaller.
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024
# Defaults of the settings IMPORT_MAX_ROWS and IMPORT_MAX_BYTES (see the module's docstring): 50 000
# sites are several times the sites of a province, and 20 MB of GeoJSON hold about 100 000 points.
DEFAULT_MAX_ROWS = 50_000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# A CSV line longer than this is refused before csv.reader sees it (its field limit is 131072).
CSV_MAX_LINE = 1024 * 1024
# A shapefile zip holds a handful of files; its central directory is read only when it is small.
MAX_ZIP_ENTRIES = 1000
MAX_ZIP_DIRECTORY_BYTES = 1024 * 1024
KEY_DECIMALS = 7
# First key of pg_advisory_xact_lock(int, int): imports of one source run one at a time.
LOCK_NAMESPACE = 0x51735


class ImportFileError(Exception):
    """The file, or an argument of the import, cannot be used at all; the message says why."""


@dataclass
class RowError:
    row: int
    field: str
    reason: str


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do). `row_numbering` says what RowError.row counts."""

    format: str
    dry_run: bool = False
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)
    row_numbering: str = "feature"  # "line" for CSV: the header is line 1

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.rejected})

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "dry_run": self.dry_run,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected_rows": self.rejected_rows,
            "row_numbering": self.row_numbering,
            "rejected": [asdict(e) for e in self.rejected],
        }


@dataclass(slots=True)
class _Row:
    """A row as read from the file: lower-case column names, blank cells as None."""

    number: int
    props: dict[str, Any]
    geom: GEOSGeometry | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Parsed:
    format: str
    numbering: str
    columns: set[str]
    rows: list[_Row]


@dataclass
class _Source:
    """A file being read: its rows come one at a time, so a row is checked before the next is read."""

    format: str
    numbering: str
    columns: set[str]
    rows: Iterator[_Row]


@dataclass(slots=True)
class _Candidate:
    number: int
    source: str = ""
    external_id: str = ""  # as given in the file; the content key is filled in for valid rows without one
    explicit_id: bool = False
    kind: str | None = None
    name: str = ""
    description: str = ""
    status: str = SiteStatus.ACTIVE
    attributes: dict = field(default_factory=dict)
    geom: GEOSGeometry | None = None  # while the row is checked; then kept as its EWKB only
    ewkb: bytes = b""
    rounded: bytes = b""
    commune_id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class _Stored:
    id: int
    kind: str
    name: str
    description: str
    status: str
    attributes: dict
    commune_id: int
    rounded: bytes


def import_sites(
    *,
    path: Path,
    filename: str,
    source: str,
    user=None,
    dry_run: bool = False,
    make_valid: bool = False,
    default_kind: str | None = None,
) -> ImportReport:
    """Validate every row of the file at `path` and store the valid ones in one transaction.

    `filename` (the name the user gave the file) chooses the format by its extension.
    `default_kind` is the kind of every row of a file without a kind column. Raises
    ImportFileError when the file cannot be read at all.
    """
    source = _clean_source(source)
    if default_kind:
        try:
            default_kind = clean_kind(default_kind)
        except SiteInvalid as exc:
            raise ImportFileError(" ".join(exc.errors["kind"])) from exc
    max_rows, max_bytes = import_limits()
    candidates: list[_Candidate] = []
    with _open(Path(path), filename, max_rows=max_rows, max_bytes=max_bytes) as parsed:
        has_kind = "kind" in parsed.columns
        for row in parsed.rows:
            if not has_kind and not default_kind:
                raise ImportFileError(_("the file has no 'kind' column: choose the kind of all its sites"))
            c = _clean_row(
                row,
                default_source=source,
                default_kind=None if has_kind else default_kind,
                make_valid=make_valid,
            )
            if c.geom is not None:
                c.ewkb, c.geom = bytes(c.geom.ewkb), None  # a few bytes a point, not a GEOS object
            candidates.append(c)
    report = ImportReport(
        format=parsed.format, dry_run=dry_run, total=len(candidates), row_numbering=parsed.numbering
    )
    _mark_duplicates(candidates)
    # Every clean geometry is placed, also in rows with other errors, so each row lists all its faults.
    placed = [c for c in candidates if c.ewkb and "geometry" not in c.errors]
    for candidate, commune_id in zip(placed, unit_ids_at(geoms=[c.ewkb for c in placed]), strict=True):
        if commune_id is None:
            candidate.errors.setdefault("geometry", []).append(_("outside the province"))
        candidate.commune_id = commune_id
    valid = [c for c in candidates if not c.errors]

    for c in candidates:
        for name, messages in c.errors.items():
            report.rejected.extend(RowError(c.number, name, message) for message in messages)
    _store(valid, report=report, user=user if getattr(user, "is_authenticated", False) else None)
    return report


# --- reading --------------------------------------------------------------------------


def import_limits() -> tuple[int, int]:
    """(most rows of a file, most bytes of a file): the settings IMPORT_MAX_ROWS and IMPORT_MAX_BYTES."""
    return (
        int(getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
        int(getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)),
    )


def too_many_rows(limit: int) -> str:
    return _("the file holds more than %(max)d rows: split it into files of at most %(max)d rows") % {
        "max": limit
    }


def too_large(limit: int) -> str:
    return _("the file is larger than %(limit)d MB: split it into smaller files") % {"limit": limit // 2**20}


def _format(path: Path, filename: str) -> str:
    suffix = Path(filename or path.name).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        if suffix in (".shp", ".dbf", ".shx", ".prj"):
            raise ImportFileError(
                _("a shapefile is imported as one .zip holding its .shp, .shx, .dbf and .prj")
            )
        raise ImportFileError(
            _("unsupported file type '%(suffix)s' (expected .geojson, .json, .gpkg, .zip, .csv)")
            % {"suffix": suffix or filename}
        )
    return fmt


@contextmanager
def _open(path: Path, filename: str, *, max_rows: int | None = None, max_bytes: int | None = None):
    """The file as a _Source whose rows are read one at a time, within the limits given (None: none)."""
    fmt = _format(path, filename)
    if max_bytes is not None and fmt != "shapefile" and path.stat().st_size > max_bytes:
        raise ImportFileError(too_large(max_bytes))
    if fmt == "shapefile":
        with _shapefile_from_zip(path, max_shp_bytes=max_bytes, max_rows=max_rows) as (shp, over):
            yield _limited(_read_gdal(shp, "shapefile", max_rows=max_rows, over=over), max_rows)
        return
    if fmt == "geojson":
        source = _read_geojson(path, max_rows=max_rows)
    elif fmt == "csv":
        source = _read_csv(path)
    else:
        source = _read_gdal(path, "gpkg", max_rows=max_rows)
    yield _limited(source, max_rows)


def _limited(source: _Source, max_rows: int | None) -> _Source:
    if max_rows is None:
        return source

    def rows():
        for count, row in enumerate(source.rows, 1):
            if count > max_rows:
                raise ImportFileError(too_many_rows(max_rows))
            yield row

    return _Source(source.format, source.numbering, source.columns, rows())


def _read(path: Path, filename: str) -> _Parsed:
    """All rows of the file at once, without the limits of a site import (planning.paths reads a network)."""
    with _open(path, filename) as source:
        return _Parsed(source.format, source.numbering, source.columns, list(source.rows))


def _not_utf8(path: Path) -> ImportFileError:
    """The error for a file that is not UTF-8, naming its first bad byte (found 1 MB at a time)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes of the file before `block`
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                position = offset - pending + exc.start
                break
            offset += len(block)
        else:
            position = offset - len(decoder.getstate()[0])
    return ImportFileError(
        _("the file is not UTF-8 text (byte %(position)d); save it as UTF-8") % {"position": position + 1}
    )


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _normalise(items: Iterable[tuple[Any, Any]], errors: dict, rename: dict[str, str] | None = None) -> dict:
    """Lower-case column names, blank strings as None; PostgreSQL text cannot hold NUL."""
    props: dict[str, Any] = {}
    for key, value in items:
        name = str(key).strip().lower()
        name = (rename or {}).get(name, name)
        if isinstance(value, str) and not value.strip():
            value = None
        if _has_nul(value):
            errors.setdefault(name, []).append(_("contains a NUL character"))
            continue
        if name in props:
            errors.setdefault(name, []).append(_("given twice (column names ignore case)"))
            continue
        props[name] = value
    return props


@lru_cache(maxsize=64)
def _known_srid(srid: int) -> bool:
    try:
        SpatialReference(srid)
    except (GDALException, SRSException):
        return False
    return True


_EPSG_RE = re.compile(r"(?:^|[:/])EPSG(?::[\d.]*:|:|/[\d.]+/)(\d+)$", re.IGNORECASE)
_CRS84_RE = re.compile(r"(?:^|[:/])CRS:?84$", re.IGNORECASE)


def _crs_srid(crs) -> int:
    """The EPSG code of a legacy GeoJSON "crs" member (GeoJSON 2008), e.g. urn:ogc:def:crs:EPSG::32648."""
    srid = None
    if isinstance(crs, dict):
        props = crs.get("properties") or {}
        if crs.get("type") == "name" and isinstance(props.get("name"), str):
            name = props["name"].strip()
            if _CRS84_RE.search(name):
                srid = 4326
            elif match := _EPSG_RE.search(name):
                srid = int(match.group(1))
        elif crs.get("type") == "EPSG" and plain_digits(str(props.get("code", ""))):
            srid = int(props["code"])
    if srid is None:
        raise ImportFileError(
            _('unsupported "crs" member %(crs)s (expected a name such as urn:ogc:def:crs:EPSG::32648)')
            % {"crs": json.dumps(crs, ensure_ascii=False)[:200]}
        )
    if not _known_srid(srid):
        raise ImportFileError(_("unknown coordinate reference system EPSG:%(srid)s") % {"srid": srid})
    return srid


class _JsonStream:
    """A JSON text read 1 MB at a time; each value is decoded by json's C decoder (raw_decode).

    The top level of a GeoJSON file is walked here, so that its features are decoded one at a
    time; a value cut by the end of what was read is decoded again once more is read (the buffer
    doubles, so a big value costs a few decodings, not one per MB). Errors read as json's own.
    """

    CHUNK = 1 << 20
    _WS = re.compile(r"[ \t\n\r]*")

    def __init__(self, path: Path):
        self.path = path
        self._file = path.open("r", encoding="utf-8-sig", newline="")
        self.buf, self.pos = "", 0
        self.eof = False
        self._chars = self._lines = self._column = 0  # chars, newlines, chars since the last one: before buf
        self._decoder = json.JSONDecoder()

    def close(self) -> None:
        self._file.close()

    def _more(self) -> bool:
        """Read as much again as is left unread in the buffer (at least CHUNK); False at the end."""
        if self.eof:
            return False
        try:
            text = self._file.read(max(self.CHUNK, len(self.buf) - self.pos))
        except UnicodeDecodeError as exc:
            raise _not_utf8(self.path) from exc
        if not text:
            self.eof = True
            return False
        done = self.buf[: self.pos]
        if newlines := done.count("\n"):
            self._lines += newlines
            self._column = len(done) - done.rfind("\n") - 1
        else:
            self._column += len(done)
        self._chars += len(done)
        self.buf, self.pos = self.buf[self.pos :] + text, 0
        return True

    def error(self, msg: str, pos: int | None = None) -> ImportFileError:
        pos = self.pos if pos is None else pos
        if newlines := self.buf.count("\n", 0, pos):
            line, column = self._lines + newlines + 1, pos - self.buf.rfind("\n", 0, pos)
        else:
            line, column = self._lines + 1, self._column + pos + 1
        error = f"{msg}: line {line} column {column} (char {self._chars + pos})"
        return ImportFileError(_("not valid JSON: %(error)s") % {"error": error})

    def peek(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            self.pos = self._WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def expect(self, char: str, msg: str) -> None:
        if self.peek() != char:
            raise self.error(msg)
        self.pos += 1

    def value(self):
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if not self._more():
                    raise self.error(exc.msg, exc.pos) from exc
                continue
            except RecursionError as exc:
                raise ImportFileError(_("not valid JSON: %(error)s") % {"error": exc}) from exc
            if end == len(self.buf) and self._more():
                continue  # a number may go on in what is not read yet
            self.pos = end
            return value

    def end(self) -> None:
        if self.peek():
            raise self.error("Extra data")


def _json_object_items(stream: _JsonStream, streamed: str) -> Iterator[tuple[str | None, Any]]:
    """(key, value) of the top-level object; the value of `streamed`, when it is an array, is
    itself an iterator of its elements that must be used up before the next item."""
    stream.expect("{", "Expecting value")
    if stream.peek() == "}":
        stream.pos += 1
        return
    while True:
        if stream.peek() != '"':
            raise stream.error("Expecting property name enclosed in double quotes")
        key = stream.value()
        stream.expect(":", "Expecting ':' delimiter")
        if key == streamed and stream.peek() == "[":
            yield key, _json_array_items(stream)
        else:
            yield key, stream.value()
        char = stream.peek()
        stream.pos += 1
        if char == "}":
            return
        if char != ",":
            raise stream.error("Expecting ',' delimiter", stream.pos - 1)


def _json_array_items(stream: _JsonStream) -> Iterator[Any]:
    stream.expect("[", "Expecting value")
    if stream.peek() == "]":
        stream.pos += 1
        return
    while True:
        yield stream.value()
        char = stream.peek()
        stream.pos += 1
        if char == "]":
            return
        if char != ",":
            raise stream.error("Expecting ',' delimiter", stream.pos - 1)


@contextmanager
def _geojson_members(path: Path) -> Iterator[Iterator[tuple[str, Any]]]:
    """The members of a GeoJSON file's top-level object, its "features" array streamed; a document
    that is not an object is one (None, value) pair."""
    stream = _JsonStream(path)
    try:

        def members():
            if stream.peek() == "{":
                yield from _json_object_items(stream, "features")
            else:
                yield None, stream.value()
            stream.end()

        yield members()
    finally:
        stream.close()


def _feature_columns(feature) -> set[str]:
    props = feature.get("properties") if isinstance(feature, dict) else None
    return {str(k).strip().lower() for k in props} if isinstance(props, dict) else set()


def _read_geojson(path: Path, *, max_rows: int | None = None) -> _Source:
    """Two passes over the file: the first counts the features (within max_rows) and finds the
    members that apply to all ("type", "crs", wherever they are); the second reads the features."""
    doc: dict[str, Any] = {}
    features = None  # the number of the "features" member (the last counts, as in json.loads), if an array
    columns: set[str] = set()
    count = 0
    with _geojson_members(path) as members:
        for number, (key, value) in enumerate(members):
            if key is None:
                doc = value
            elif key == "features" and isinstance(value, Iterator):
                features, count, columns = number, 0, set()
                for count, feature in enumerate(value, 1):  # noqa: B007 - count is used after the loop
                    if max_rows is not None and count > max_rows:
                        raise ImportFileError(too_many_rows(max_rows))
                    columns |= _feature_columns(feature)
                doc.pop("features", None)
            else:
                doc[key] = value
                if key == "features":
                    features = None
    doc_type = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
    if doc_type == "FeatureCollection":
        if features is None and not isinstance(doc.get("features"), list):
            raise ImportFileError(_('the FeatureCollection has no "features" list'))
    elif doc_type == "Feature":
        columns = _feature_columns(doc)
    else:
        raise ImportFileError(
            _("a GeoJSON file must hold a FeatureCollection or a Feature (found %(type)s)")
            % {"type": doc_type}
        )
    srid = _crs_srid(doc["crs"]) if doc.get("crs") is not None else 4326

    def rows():
        if doc_type == "Feature":
            yield _geojson_row(1, doc, srid)
            return
        with _geojson_members(path) as members:
            for number, (_key, value) in enumerate(members):
                if number == features:
                    for row_number, feature in enumerate(value, 1):
                        yield _geojson_row(row_number, feature, srid)
                elif isinstance(value, Iterator):
                    for _skipped in value:
                        pass

    return _Source("geojson", "feature", columns, rows())


def _geojson_row(number: int, feature, srid: int) -> _Row:
    row = _Row(number, {})
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        row.errors["feature"] = [_("not a GeoJSON Feature")]
        return row
    props = feature.get("properties")
    if props is not None and not isinstance(props, dict):
        row.errors["properties"] = [_('"properties" must be an object')]
        props = None
    row.props = _normalise((props or {}).items(), row.errors)
    geometry = feature.get("geometry")
    # RFC 7946 3.1: empty "coordinates" may be read as a null geometry, reported as empty.
    if geometry is None or (isinstance(geometry, dict) and geometry.get("coordinates", None) == []):
        return row
    if (positions := _position_count(geometry)) > MAX_VERTICES:
        # Refused before shapely builds it: its GeoJSON reader walks positions in Python.
        row.errors["geometry"] = [too_many_vertices(positions)]
        return row
    if _has_open_ring(geometry):
        # shapely would close the ring silently; RFC 7946 3.1.6 requires it closed (the API refuses it).
        row.errors["geometry"] = [_("a polygon ring is not closed (its last position must repeat the first)")]
        return row
    try:
        # Through shapely rather than OGR's JSON reader: a third of the time on 10^4 features.
        row.geom = GEOSGeometry(memoryview(shapely.to_wkb(shapely.geometry.shape(geometry))))
    except (
        GEOSException,
        shapely.errors.ShapelyError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
    ):
        row.geom = None
    if row.geom is None:
        row.errors["geometry"] = [_("not a valid GeoJSON geometry object")]
    else:
        row.geom.srid = srid
    return row


def _position_count(geometry) -> int:
    """Positions in a GeoJSON geometry, counted by list lengths only (malformed parts count 0)."""
    if not isinstance(geometry, dict):
        return 0
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        return sum(_position_count(g) for g in parts) if isinstance(parts, list) else 0
    depth = {
        "Point": 0,
        "MultiPoint": 1,
        "LineString": 1,
        "MultiLineString": 2,
        "Polygon": 2,
        "MultiPolygon": 3,
    }
    if kind not in depth or not isinstance(coords, list):
        return 0
    if depth[kind] == 0:
        return 1
    lists = [coords]
    for _level in range(depth[kind] - 1):
        lists = [part for item in lists for part in item if isinstance(part, list)]
    return sum(len(item) for item in lists)


def _has_open_ring(geometry) -> bool:
    """True when a Polygon's or MultiPolygon's ring does not end where it starts (malformed shapes: False,
    left to the geometry reader to refuse)."""
    if not isinstance(geometry, dict):
        return False
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "GeometryCollection":
        parts = geometry.get("geometries")
        return isinstance(parts, list) and any(_has_open_ring(g) for g in parts)
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not isinstance(polygons, list):
        return False
    for rings in polygons:
        if not isinstance(rings, list):
            continue
        for ring in rings:
            if isinstance(ring, list) and len(ring) >= 2 and ring[0] != ring[-1]:
                return True
    return False


def _csv_text(cell: str) -> str:
    """Undo the quote the export puts before =, +, - and @ so that Excel shows text, not a formula."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in "=+-@\t\r":
        return cell[1:]
    return cell


def _number(text: str) -> float:
    text = text.strip().replace(" ", "")
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # decimal comma, as Vietnamese spreadsheets write it
    return float(text)


def _epsg_code(text: str) -> int:
    match = re.fullmatch(r"(?:EPSG:)?(\d+)(?:\.0*)?", text.strip(), re.IGNORECASE)
    if not match:
        raise ValueError(text)
    return int(match.group(1))


def _csv_lines(path: Path) -> Iterator[str]:
    """The lines of a UTF-8 text file (a BOM is dropped), each with its end; none longer than CSV_MAX_LINE."""
    with path.open("r", encoding="utf-8-sig", newline="") as stream:
        for number in itertools.count(1):
            try:
                line = stream.readline(CSV_MAX_LINE)
            except UnicodeDecodeError as exc:
                raise _not_utf8(path) from exc
            if not line:
                return
            if len(line) >= CSV_MAX_LINE and not line.endswith(("\n", "\r")):
                raise ImportFileError(
                    _("unreadable CSV at line %(line)d: %(error)s")
                    % {"line": number, "error": _("longer than %(max)d characters") % {"max": CSV_MAX_LINE}}
                )
            yield line


def _read_csv(path: Path) -> _Source:
    lines = _csv_lines(path)
    first_line = next(lines, "")
    if not first_line.strip() and not any(line.strip() for line in lines):
        raise ImportFileError(_("the file is empty"))
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(itertools.chain([first_line], lines), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        raise ImportFileError(
            _("unreadable CSV at line %(line)d: %(error)s") % {"line": 1, "error": exc}
        ) from exc
    for name in header:
        if name and header.count(name) > 1:
            raise ImportFileError(_("column '%(name)s' appears more than once") % {"name": name})
    wkt_col = next((c for c in CSV_WKT_COLUMNS if c in header), None)
    xy_cols = next(((x, y) for x, y in CSV_XY_COLUMNS if x in header and y in header), None)
    if not wkt_col and not xy_cols:
        raise ImportFileError(
            _("no geometry columns: expected lon and lat (or longitude/latitude, x/y) or wkt; found %(cols)s")
            % {"cols": ", ".join(h for h in header if h) or "-"}
        )
    srid_col = next((c for c in CSV_SRID_COLUMNS if c in header), None)

    def rows():
        next_line = reader.line_num + 1
        try:
            for record in reader:
                number, next_line = next_line, reader.line_num + 1
                if not any(cell.strip() for cell in record):
                    continue
                yield _csv_row(number, record, header, wkt_col, xy_cols, srid_col)
        except csv.Error as exc:
            raise ImportFileError(
                _("unreadable CSV at line %(line)d: %(error)s") % {"line": next_line, "error": exc}
            ) from exc

    return _Source("csv", "line", {h for h in header if h}, rows())


def _csv_row(number: int, record: list[str], header: list[str], wkt_col, xy_cols, srid_col) -> _Row:
    row = _Row(number, {})
    if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
        row.errors["row"] = [
            _("%(cells)d cells but the header has %(columns)d")
            % {"cells": len(record), "columns": len(header)}
        ]
        return row
    cells = dict(zip(header, (_csv_text(c) for c in record), strict=False))
    cells.pop("", None)
    row.props = _normalise(((k, v) for k, v in cells.items() if k not in GEOMETRY_COLUMNS), row.errors)
    try:
        row.geom = _csv_geometry(cells, wkt_col, xy_cols)
    except (GDALException, GEOSException, ValueError, TypeError) as exc:
        row.errors["geometry"] = [_("unreadable geometry: %(error)s") % {"error": exc}]
        return row
    srid_text = (cells.get(srid_col) or "").strip() if srid_col else ""
    if srid_text and row.geom is not None:
        try:
            srid = _epsg_code(srid_text)
        except ValueError:
            srid = None
        if srid is None or not _known_srid(srid):
            row.errors[srid_col] = [_("not a known EPSG code: %(value)s") % {"value": srid_text}]
        else:
            row.geom.srid = srid
    return row


def _csv_geometry(cells: dict, wkt_col: str | None, xy_cols: tuple[str, str] | None) -> GEOSGeometry | None:
    if wkt_col:
        text = (cells.get(wkt_col) or "").strip()
        if not text:
            return None
        try:
            return GEOSGeometry(text)  # WKT, EWKT (SRID=…;), hex WKB or GeoJSON
        except (GEOSException, ValueError) as exc:
            # GEOS's reason ("Points of LinearRing do not form a closed linestring") goes to the log
            # only; shapely's reader of the same WKT hands it over.
            try:
                shapely.from_wkt(text)
            except (shapely.errors.ShapelyError, ValueError) as reason:
                raise ValueError(_("not valid WKT: %(reason)s") % {"reason": reason}) from exc
            raise
    x, y = ((cells.get(c) or "").strip() for c in xy_cols)
    if not x and not y:
        return None
    if not x or not y:
        raise ValueError(_("both %(x)s and %(y)s are needed") % {"x": xy_cols[0], "y": xy_cols[1]})
    try:
        return Point(_number(x), _number(y))
    except ValueError:
        raise ValueError(
            _("%(x)s/%(y)s must be numbers: %(values)s")
            % {"x": xy_cols[0], "y": xy_cols[1], "values": f"{x}, {y}"}
        ) from None


def unpacked_too_far(limit: int) -> str:
    """The message for a zip (a zipped shapefile, an XLSX workbook) that inflates past `limit` bytes."""
    return _("the zip file unpacks to more than %(limit)d MB") % {"limit": limit // 2**20}


def zip_too_many_entries(count: int) -> str:
    return _("the zip file holds %(count)d entries (at most %(max)d): zip only the files to import") % {
        "count": count,
        "max": MAX_ZIP_ENTRIES,
    }


def zip_directory(source: Path | BinaryIO) -> tuple[int, int] | None:
    """(entries, bytes) of a zip's central directory, read from its End Of Central Directory record
    (zip64 too) as zipfile finds it; None when there is none (zipfile then says the file is no zip).
    `source`: a path, or a seekable binary stream (an XLSX workbook in memory).

    zipfile.ZipFile reads the whole central directory and makes a ZipInfo of every entry, about
    500 B each, before anything can be looked at: check_zip_directory refuses a big one first.
    """
    opened = source.open("rb") if isinstance(source, Path) else nullcontext(source)
    with opened as stream:
        size = stream.seek(0, 2)
        tail_size = min(size, 22 + 0xFFFF)  # the record, then a comment of up to 65535 bytes
        stream.seek(size - tail_size)
        tail = stream.read(tail_size)
        at = len(tail) - 22 if tail[-22:-18] == b"PK\x05\x06" else tail.rfind(b"PK\x05\x06")
        if at < 0 or at + 22 > len(tail):
            return None
        _sig, _disk, _cd_disk, _disk_entries, entries, cd_size, cd_offset, _comment = struct.unpack(
            "<4s4H2LH", tail[at : at + 22]
        )
        if entries != 0xFFFF and cd_size != 0xFFFFFFFF and cd_offset != 0xFFFFFFFF:
            return entries, cd_size
        # Zip64: the locator (20 bytes) just before the record, the zip64 record (56 bytes) before it.
        record_at = size - tail_size + at
        if record_at < 20 + 56:
            raise ImportFileError(_("the zip file is damaged or incomplete (%(error)s)") % {"error": "zip64"})
        stream.seek(record_at - 20 - 56)
        zip64 = stream.read(56 + 20)
        if zip64[:4] != b"PK\x06\x06" or zip64[56:60] != b"PK\x06\x07":
            raise ImportFileError(_("the zip file is damaged or incomplete (%(error)s)") % {"error": "zip64"})
        values = struct.unpack("<4sQ2H2L4Q", zip64[:56])
        return values[7], values[8]  # entries in all, size of the directory


def check_zip_directory(source: Path | BinaryIO) -> None:
    """Refuse a zip of more than MAX_ZIP_ENTRIES entries, or a bigger central directory, unread
    (ImportFileError). Used for zipped shapefiles here and XLSX workbooks by incidents.importer."""
    directory = zip_directory(source)
    if directory is None:
        return
    entries, size = directory
    if entries > MAX_ZIP_ENTRIES:
        raise ImportFileError(zip_too_many_entries(entries))
    if size > MAX_ZIP_DIRECTORY_BYTES:  # entries that the end record does not count (zipfile reads them all)
        raise ImportFileError(
            _("the zip file's directory is larger than %(limit)d MB: zip only the files to import")
            % {"limit": MAX_ZIP_DIRECTORY_BYTES // 2**20}
        )


# Shapefile record types whose content gives a number of points (ESRI Shapefile Technical Description,
# 1998): type → offset of NumPoints in the record's content (little-endian int32).
_SHP_POINTS_AT = {
    3: 40,  # PolyLine: type, box (32), NumParts, NumPoints
    5: 40,  # Polygon
    8: 36,  # MultiPoint: type, box, NumPoints
    13: 40,  # PolyLineZ
    15: 40,  # PolygonZ
    18: 36,  # MultiPointZ
    23: 40,  # PolyLineM
    25: 40,  # PolygonM
    28: 36,  # MultiPointM
    31: 40,  # MultiPatch: type, box, NumParts, NumPoints
}


def _shapefile_points(shp: Path, shx: Path, *, max_rows: int | None) -> dict[int, int]:
    """{feature id: points} of the records with more than MAX_VERTICES points, read from the record
    headers the .shx points to (GDAL reads records through the .shx), without reading any point."""
    over: dict[int, int] = {}
    with shx.open("rb") as index, shp.open("rb") as main:
        records = max(0, (index.seek(0, 2) - 100) // 8)
        if max_rows is not None and records > max_rows:
            raise ImportFileError(too_many_rows(max_rows))
        index.seek(100)
        for fid in range(records):
            offset, _length = struct.unpack(">2i", index.read(8))
            if offset < 0:
                continue  # GDAL reports the record as unreadable
            main.seek(2 * offset + 8)  # past the record header: record number, content length
            content = main.read(44)
            if len(content) < 4:
                continue  # GDAL reports the record as unreadable
            points_at = _SHP_POINTS_AT.get(struct.unpack("<i", content[:4])[0])
            if points_at is None or len(content) < points_at + 4:
                continue
            points = struct.unpack("<i", content[points_at : points_at + 4])[0]
            if points > MAX_VERTICES:
                over[fid] = points
    return over


@contextmanager
def _shapefile_from_zip(
    path: Path, *, max_shp_bytes: int | None = None, max_rows: int | None = None
) -> Iterator[tuple[Path, dict[int, int]]]:
    """Unpack the one shapefile of a zip under fixed names, so no member path reaches the disk;
    (the .shp, {feature id: points} of its records over MAX_VERTICES)."""
    check_zip_directory(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(
            _("the zip file is damaged or incomplete (%(error)s)") % {"error": exc}
        ) from exc
    with archive, tempfile.TemporaryDirectory(prefix="childsafe-shp-") as tmp:
        members = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
        shps = [i for i in members if i.filename.lower().endswith(".shp")]
        if not shps:
            raise ImportFileError(
                _("the zip file holds no .shp file (zip a shapefile with its .shx, .dbf and .prj)")
            )
        if len(shps) > 1:
            raise ImportFileError(
                _("the zip file holds %(count)d shapefiles (%(names)s); import one per file")
                % {"count": len(shps), "names": ", ".join(i.filename for i in shps)}
            )
        stem = shps[0].filename[:-4].lower()
        parts = {i.filename[len(stem) :].lower(): i for i in members if i.filename.lower().startswith(stem)}
        parts = {ext: info for ext, info in parts.items() if ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")}
        missing = [ext for ext in (".shx", ".dbf") if ext not in parts]
        if missing:
            raise ImportFileError(
                _("the zip file lacks %(missing)s next to %(shp)s")
                % {"missing": ", ".join(missing), "shp": shps[0].filename}
            )
        shp_too_large = ImportFileError(
            _("the .shp file is larger than %(limit)d MB: split the shapefile into smaller ones")
            % {"limit": (max_shp_bytes or 0) // 2**20}
        )
        if max_shp_bytes is not None and parts[".shp"].file_size > max_shp_bytes:
            raise shp_too_large
        budget = MAX_UNZIPPED_BYTES
        try:
            for ext, info in parts.items():
                written = 0
                with archive.open(info) as src, open(Path(tmp, "layer" + ext), "wb") as dst:
                    while chunk := src.read(1 << 20):
                        budget -= len(chunk)
                        written += len(chunk)
                        if budget < 0:
                            raise ImportFileError(unpacked_too_far(MAX_UNZIPPED_BYTES))
                        if ext == ".shp" and max_shp_bytes is not None and written > max_shp_bytes:
                            raise shp_too_large  # its declared size was a lie
                        dst.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
            raise ImportFileError(
                _("the zip file is damaged or incomplete (%(error)s)") % {"error": exc}
            ) from exc
        with open(Path(tmp, "layer.dbf"), "rb") as dbf:
            ldid = dbf.read(32)[29:30]  # the DBF header's language driver (code page) byte
        if ".cpg" not in parts and ldid in (b"", b"\x00"):
            # A DBF that declares no encoding is read by GDAL as Latin-1, which garbles Vietnamese;
            # UTF-8 is what current tools write, and bytes that are not UTF-8 become row errors.
            Path(tmp, "layer.cpg").write_text("UTF-8")
        over = _shapefile_points(Path(tmp, "layer.shp"), Path(tmp, "layer.shx"), max_rows=max_rows)
        yield Path(tmp, "layer.shp"), over


def _shapefile_names(fields: list[str]) -> dict[str, str]:
    """DBF column names stop at 10 characters: map 'external_i' back to 'external_id'."""
    known = set(CORE_COLUMNS) | DERIVED_COLUMNS | {a.name for spec in KINDS.values() for a in spec.attributes}
    rename = {}
    for name in (f.strip().lower() for f in fields):
        if name not in known and len(name) == 10:
            matches = [k for k in known if k.startswith(name)]
            if len(matches) == 1:
                rename[name] = matches[0]
    return rename


def _layer_crs(srs: SpatialReference | None) -> tuple[int | None, CoordTransform | None]:
    """(EPSG code, None) when the layer's CRS has one, else (None, transform to 4326); no CRS: lon/lat."""
    if srs is None:
        return None, None
    if srs.auth_name(None) != "EPSG" or srs.srid is None:
        with suppress(GDALException, SRSException):
            srs.identify_epsg()
    if srs.auth_name(None) == "EPSG" and srs.srid and _known_srid(srs.srid):
        return srs.srid, None
    return None, CoordTransform(srs, SpatialReference(4326))


def _set_ignored_geometry(layer, ignored: bool) -> None:
    """OGR_L_SetIgnoredFields: with the geometry ignored, the shapefile driver reads no point of a record."""
    names = (ctypes.c_char_p * 2)(b"OGR_GEOMETRY" if ignored else None, None)
    _ogr_set_ignored_fields(layer.ptr, names)


_ogr_set_ignored_fields = lgdal.OGR_L_SetIgnoredFields
_ogr_set_ignored_fields.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p)]
_ogr_set_ignored_fields.restype = ctypes.c_int


def _read_gdal(
    path: Path, fmt: str, *, max_rows: int | None = None, over: dict[int, int] | None = None
) -> _Source:
    """`over`: {feature id: points} of the records refused unread (a row error each)."""
    label = {"gpkg": _("GeoPackage"), "shapefile": _("shapefile")}[fmt]
    try:
        ds = DataSource(str(path))
    except GDALException as exc:
        raise ImportFileError(_("cannot read the file as a %(format)s") % {"format": label}) from exc
    if ds.driver.name != {"gpkg": "GPKG", "shapefile": "ESRI Shapefile"}[fmt]:
        raise ImportFileError(_("cannot read the file as a %(format)s") % {"format": label})
    layers = [layer for layer in ds if layer.geom_type.num != 100]  # 100: wkbNone, a table without geometry
    if not layers:
        raise ImportFileError(_("the file holds no layer with geometries"))
    if len(layers) > 1:
        raise ImportFileError(
            _("the file holds %(count)d layers (%(names)s); import one layer per file")
            % {"count": len(layers), "names": ", ".join(layer.name for layer in layers)}
        )
    layer = layers[0]
    if max_rows is not None and layer.num_feat > max_rows:
        raise ImportFileError(too_many_rows(max_rows))
    srid, to_4326 = _layer_crs(layer.srs)
    rename = _shapefile_names(layer.fields) if fmt == "shapefile" else {}
    over = over or {}

    def rows():
        features = iter(layer)
        for number in itertools.count(1):
            skipped = over.get(number - 1)
            if skipped is not None:
                _set_ignored_geometry(layer, True)
            try:
                feature = next(features, None)
            finally:
                if skipped is not None:
                    _set_ignored_geometry(layer, False)
            if feature is None:
                return
            yield _gdal_row(number, feature, rename, srid, to_4326, skipped)  # the layer holds its ds

    columns = {rename.get(n.lower(), n.lower()) for n in layer.fields}
    return _Source(fmt, "feature", columns, rows())


def _gdal_row(number: int, feature, rename, srid, to_4326, skipped: int | None) -> _Row:
    row = _Row(number, {})
    items = []
    for fld in feature:
        try:
            items.append((fld.name, fld.value))
        except (UnicodeDecodeError, GDALException):
            row.errors.setdefault(fld.name.lower(), []).append(_("unreadable value (not UTF-8 text?)"))
    row.props = _normalise(items, row.errors, rename=rename)
    if skipped is not None:
        row.errors["geometry"] = [too_many_vertices(skipped)]
        return row
    try:
        ogr = feature.geom
    except GDALException:
        return row  # no geometry: reported as empty by clean_geometry
    try:
        if to_4326 is not None:
            ogr.transform(to_4326)
        row.geom = ogr.geos
        row.geom.srid = srid if to_4326 is None else 4326
    except (GDALException, GEOSException, SRSException) as exc:
        row.errors["geometry"] = [_("unreadable geometry: %(error)s") % {"error": exc}]
    return row


# --- validating -----------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id column that a spreadsheet turned into 1001.0
    return str(value).strip()


def _clean_source(source: str) -> str:
    source = _text(source)
    if not source:
        raise ImportFileError(_("the import needs a source name"))
    if len(source) > SOURCE_MAX:
        raise ImportFileError(_("the source name is longer than %(max)d characters") % {"max": SOURCE_MAX})
    return source


def _parse_list(value):
    """A list attribute as a GeoPackage or CSV holds it: JSON text, or GDAL's '(2:a,b)'."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return value
        return parsed if isinstance(parsed, list) else value
    if match := re.fullmatch(r"\((\d+):(.*)\)", text, re.DOTALL):
        return match.group(2).split(",") if int(match.group(1)) else []
    return value


def _clean_row(row: _Row, *, default_source: str, default_kind: str | None, make_valid: bool) -> _Candidate:
    c = _Candidate(row.number, errors=dict(row.errors))
    if "feature" in c.errors or "row" in c.errors:
        return c  # not a row at all: its fields would only repeat the fault
    props = dict(row.props)
    errors = c.errors

    def merge(exc: SiteInvalid):
        for name, messages in exc.errors.items():
            errors.setdefault(name, []).extend(messages)

    try:
        c.kind = clean_kind(props.pop("kind", None) or default_kind)
    except SiteInvalid as exc:
        merge(exc)
    c.name = _text(props.pop("name", None))
    if not c.name:
        errors.setdefault("name", []).append(_("required"))
    elif len(c.name) > NAME_MAX:
        errors.setdefault("name", []).append(_("longer than %(max)d characters") % {"max": NAME_MAX})
    description = props.pop("description", None)
    c.description = "" if description is None else str(description)
    c.status = _text(props.pop("status", None)) or SiteStatus.ACTIVE
    if c.status not in SiteStatus.values:
        errors.setdefault("status", []).append(_("unknown status '%(status)s'") % {"status": c.status})
    row_source = _text(props.pop("source", None))
    c.source = row_source or default_source
    if len(c.source) > SOURCE_MAX:
        errors.setdefault("source", []).append(_("longer than %(max)d characters") % {"max": SOURCE_MAX})
    external_id, plain_id = _text(props.pop("external_id", None)), _text(props.pop("id", None))
    c.external_id = external_id or plain_id
    c.explicit_id = bool(c.external_id)
    if len(c.external_id) > EXTERNAL_ID_MAX:
        errors.setdefault("external_id", []).append(
            _("longer than %(max)d characters") % {"max": EXTERNAL_ID_MAX}
        )
    for name in DERIVED_COLUMNS | GEOMETRY_COLUMNS:
        props.pop(name, None)
    if c.kind is None:
        return c
    if "geometry" not in errors:
        try:
            c.geom = clean_geometry(c.kind, row.geom, make_valid=make_valid)
        except SiteInvalid as exc:
            merge(exc)
        except (GEOSException, GDALException, ValueError) as exc:  # a row must never become a 500
            errors.setdefault("geometry", []).append(_("unreadable geometry: %(error)s") % {"error": exc})
    spec = KINDS[c.kind]
    attributes = {}
    for name, value in props.items():
        attr = spec.attribute(name)
        if attr is None and (value is None or value == [] or value == {}):
            continue  # an empty column, e.g. an attribute of another kind in a mixed file
        attributes[name] = _parse_list(value) if attr is not None and attr.type is list else value
    try:
        c.attributes = clean_attributes(c.kind, attributes)
    except SiteInvalid as exc:
        merge(exc)
    return c


def _rounded_wkbs(wkbs: list[bytes]) -> list[bytes]:
    """(E)WKB rounded to 7 decimals (about 1 cm), so that float noise of a reprojection is no change."""
    if not wkbs:
        return []
    shapes = shapely.transform(shapely.from_wkb(wkbs), lambda xy: np.round(xy, KEY_DECIMALS) + 0.0)
    return list(shapely.to_wkb(shapes, output_dimension=2, byte_order=1))


def _content_key(kind: str, name: str, rounded: bytes) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for part in (kind.encode(), name.encode(), rounded):
        digest.update(part + b"\x00")
    return "sha1:" + digest.hexdigest()


def _mark_duplicates(candidates: list[_Candidate]) -> None:
    """The second row with the same (source, external_id), or without one the same content, is rejected."""
    seen: dict[tuple[str, str], int] = {}
    for c in candidates:
        if c.explicit_id:
            first = seen.setdefault((c.source, c.external_id), c.number)
            if first != c.number:
                c.errors.setdefault("external_id", []).append(
                    _("duplicate external_id '%(id)s' (first in row %(row)d)")
                    % {"id": c.external_id, "row": first}
                )
    valid = [c for c in candidates if not c.errors]
    for c, rounded in zip(valid, _rounded_wkbs([c.ewkb for c in valid]), strict=True):
        c.rounded = rounded
        if c.explicit_id:
            continue
        c.external_id = _content_key(c.kind, c.name, rounded)
        first = seen.setdefault((c.source, c.external_id), c.number)
        if first != c.number:
            c.errors.setdefault("external_id", []).append(
                _("same kind, name and geometry as row %(row)d (give each row an external_id)")
                % {"row": first}
            )


# --- storing --------------------------------------------------------------------------


def _load_json(value):
    return json.loads(value) if isinstance(value, str) else (value or {})


def _stored(rows: list[tuple]) -> list[_Stored]:
    rounded = _rounded_wkbs([bytes(r[-1]) for r in rows])
    return [
        _Stored(r[0], r[1], r[2], r[3], r[4], _load_json(r[5]), r[6], wkb)
        for r, wkb in zip(rows, rounded, strict=True)
    ]


def _existing(rows: list[_Candidate]) -> dict[tuple[str, str], _Stored]:
    """Stored sites by (source, key), in two queries.

    A keyless row also matches a stored site of its source that has no external_id
    (created by hand or through the API) and the same content key, so that an export
    of such sites re-imports onto them.
    """
    table = Site._meta.db_table
    columns = "s.id, s.kind, s.name, s.description, s.status, s.attributes, s.commune_id, ST_AsBinary(s.geom)"
    found: dict[tuple[str, str], _Stored] = {}
    if not rows:
        return found
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT s.source, s.external_id, {columns} FROM {table} s"  # noqa: S608 - names, not input
            " JOIN unnest(%s::text[], %s::text[]) AS k(source, external_id)"
            " ON s.source = k.source AND s.external_id = k.external_id WHERE s.external_id <> ''",
            [[r.source for r in rows], [r.external_id for r in rows]],
        )
        fetched = cur.fetchall()
        for (src, ext, *_rest), stored in zip(fetched, _stored([f[2:] for f in fetched]), strict=True):
            found[(src, ext)] = stored
        keyless = [r for r in rows if not r.explicit_id and (r.source, r.external_id) not in found]
        if not keyless:
            return found
        cur.execute(
            f"SELECT s.source, {columns} FROM {table} s"  # noqa: S608 - names, not input
            " JOIN (SELECT DISTINCT * FROM unnest(%s::text[], %s::text[], %s::text[])) AS k(src, kind, name)"
            " ON s.source = k.src AND s.kind = k.kind AND s.name = k.name"
            " WHERE s.external_id = '' ORDER BY s.id",
            [[r.source for r in keyless], [r.kind for r in keyless], [r.name for r in keyless]],
        )
        fetched = cur.fetchall()
    for (src, *_rest), stored in zip(fetched, _stored([f[1:] for f in fetched]), strict=True):
        found.setdefault((src, _content_key(stored.kind, stored.name, stored.rounded)), stored)
    return found


def _same(row: _Candidate, stored: _Stored) -> bool:
    return (
        row.kind == stored.kind
        and row.name == stored.name
        and row.description == stored.description
        and row.status == stored.status
        and row.attributes == stored.attributes
        and row.commune_id == stored.commune_id
        and row.rounded == stored.rounded
    )


def _lock_sources(sources: set[str]) -> None:
    """Two imports of one source at a time would both create the same rows; the second waits."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(s))"
            " FROM (SELECT s FROM unnest(%s::text[]) AS s ORDER BY s) AS t",
            [LOCK_NAMESPACE, sorted(sources)],
        )


# Rows per INSERT/UPDATE statement: unnest() of arrays keeps a statement's parameters few.
WRITE_BATCH = 2000

# INSERT … SELECT FROM unnest() and UPDATE … FROM unnest(): about 3x faster than bulk_create
# and 10x faster than bulk_update (CASE WHEN per row) on 10^4 sites, measured here.
_INSERT_SQL = (
    f"INSERT INTO {Site._meta.db_table}"  # noqa: S608 - table name, not input
    " (kind, name, description, status, source, external_id, attributes, geom, commune_id,"
    " created_by_id, updated_by_id, created_at, updated_at)"
    " SELECT r.kind, r.name, r.description, r.status, r.source, r.external_id, r.attributes::jsonb,"
    " ST_GeomFromEWKB(r.geom), r.commune_id, %(user)s, %(user)s, %(now)s, %(now)s"
    " FROM unnest(%(kind)s::text[], %(name)s::text[], %(description)s::text[], %(status)s::text[],"
    " %(source)s::text[], %(external_id)s::text[], %(attributes)s::text[], %(geom)s::bytea[],"
    " %(commune_id)s::bigint[])"
    " AS r(kind, name, description, status, source, external_id, attributes, geom, commune_id)"
)
_UPDATE_SQL = (
    f"UPDATE {Site._meta.db_table} s"  # noqa: S608 - table name, not input
    " SET kind = r.kind, name = r.name, description = r.description, status = r.status,"
    " attributes = r.attributes::jsonb, geom = ST_GeomFromEWKB(r.geom), commune_id = r.commune_id,"
    " updated_by_id = %(user)s, updated_at = %(now)s"
    " FROM unnest(%(id)s::bigint[], %(kind)s::text[], %(name)s::text[], %(description)s::text[],"
    " %(status)s::text[], %(attributes)s::text[], %(geom)s::bytea[], %(commune_id)s::bigint[])"
    " AS r(id, kind, name, description, status, attributes, geom, commune_id)"
    " WHERE s.id = r.id"
)


def _columns(rows: list[_Candidate]) -> dict[str, list]:
    return {
        "kind": [r.kind for r in rows],
        "name": [r.name for r in rows],
        "description": [r.description for r in rows],
        "status": [r.status for r in rows],
        "source": [r.source for r in rows],
        "external_id": [r.external_id for r in rows],
        "attributes": [json.dumps(r.attributes, ensure_ascii=False) for r in rows],
        "geom": [r.ewkb for r in rows],
        "commune_id": [r.commune_id for r in rows],
    }


def _store(rows: list[_Candidate], *, report: ImportReport, user) -> None:
    """Create the new rows and update the changed ones, in one transaction."""
    with transaction.atomic():
        if not report.dry_run and rows:
            _lock_sources({r.source for r in rows})
        existing = _existing(rows)
        to_create, to_update, ids = [], [], []
        for r in rows:
            stored = existing.get((r.source, r.external_id))
            if stored is None:
                to_create.append(r)  # a keyless row that matched nothing is stored under its content key
            elif _same(r, stored):
                report.unchanged += 1
            else:
                to_update.append(r)
                ids.append(stored.id)
        report.created, report.updated = len(to_create), len(to_update)
        if report.dry_run:
            return
        common = {"user": user.pk if user else None, "now": timezone.now()}
        with connection.cursor() as cur:
            for i in range(0, len(to_create), WRITE_BATCH):
                cur.execute(_INSERT_SQL, {**common, **_columns(to_create[i : i + WRITE_BATCH])})
            for i in range(0, len(to_update), WRITE_BATCH):
                batch = _columns(to_update[i : i + WRITE_BATCH])
                cur.execute(_UPDATE_SQL, {**common, **batch, "id": ids[i : i + WRITE_BATCH]})


__all__ = ["ImportFileError", "ImportReport", "RowError", "import_sites"]
