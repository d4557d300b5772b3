"""Export sites as GeoJSON, GeoPackage or CSV; every export re-imports with places.importer.

The caller passes a queryset already scoped to the reader (places.selectors.site_list),
so an export shows exactly what the reader may see. Geometry leaves PostGIS at full
precision (15 decimals, the shortest text that gives back the same double), so a
re-import finds every site unchanged. The properties are the site's attributes
flattened next to kind, name, description, status, source, external_id, commune
code and name and length_m; the last three are recomputed on import.
"""

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .kinds import KINDS
from .models import AdminUnit, Site

EXPORT_FORMATS = ("geojson", "gpkg", "csv")
CONTENT_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
}
OGR2OGR_TIMEOUT = 300  # seconds; 10^5 sites convert in well under a minute
CSV_CORE_COLUMNS = [
    "kind",
    "name",
    "description",
    "status",
    "source",
    "external_id",
    "commune_code",
    "commune_name",
    "length_m",
]
# Excel runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportError(Exception):
    """The export could not be produced (GDAL's ogr2ogr missing or failing)."""


def export_sites(queryset: QuerySet[Site], fmt: str) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the sites of `queryset` in `fmt`: geojson, gpkg or csv."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(
            _("unknown export format '%(format)s' (expected one of: %(choices)s)")
            % {"format": fmt, "choices": ", ".join(EXPORT_FORMATS)}
        )
    filename = f"sites-{timezone.localdate():%Y%m%d}.{fmt}"
    if fmt == "geojson":
        content = _geojson(queryset)
    elif fmt == "gpkg":
        content = _geopackage(_geojson(queryset))
    else:
        content = _csv(queryset)
    return content, CONTENT_TYPES[fmt], filename


def _selected(queryset: QuerySet[Site]) -> tuple[str, tuple]:
    """The queryset's WHERE as a subquery of ids, so its scoping and filters apply unchanged."""
    try:
        return queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:  # .none(), or a filter Django knows matches nothing
        return "SELECT NULL::bigint WHERE false", ()


def _from_clause(queryset: QuerySet[Site], join: str = "") -> tuple[str, tuple]:
    ids_sql, params = _selected(queryset)
    sql = (
        f" FROM {Site._meta.db_table} s LEFT JOIN {AdminUnit._meta.db_table} u ON u.id = s.commune_id{join}"
        f" WHERE s.id IN ({ids_sql})"
    )
    return sql, params


def _geojson(queryset: QuerySet[Site]) -> bytes:
    """One FeatureCollection built by PostgreSQL: json_agg over json_build_object and ST_AsGeoJSON."""
    from_sql, params = _from_clause(queryset)
    # attributes || core: a core property wins over an attribute of the same name.
    sql = (
        "SELECT json_build_object('type', 'FeatureCollection', 'features', COALESCE(json_agg("
        "json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON(s.geom, 15)::json,"
        " 'properties', s.attributes || jsonb_build_object("
        "'kind', s.kind, 'name', s.name, 'description', s.description, 'status', s.status,"
        " 'source', s.source, 'external_id', s.external_id, 'commune_code', u.code, 'commune_name', u.name,"
        " 'length_m', round(s.length_m::numeric, 1)))"
        " ORDER BY s.kind, s.name, s.id), '[]'::json))::text" + from_sql
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0].encode("utf-8")


def _geopackage(geojson: bytes) -> bytes:
    """GDAL's ogr2ogr turns the GeoJSON into a GeoPackage layer 'sites'."""
    exe = shutil.which("ogr2ogr")
    if exe is None:
        raise ExportError(_("GeoPackage export needs GDAL's ogr2ogr, which is not installed on the server"))
    with tempfile.TemporaryDirectory(prefix="childsafe-export-") as tmp:
        src, dst = Path(tmp, "sites.geojson"), Path(tmp, "sites.gpkg")
        src.write_bytes(geojson)
        # ARRAY_AS_STRING: list attributes become JSON text, which the importer reads back as lists.
        command = [exe, "-f", "GPKG", "-nln", "sites", "-oo", "ARRAY_AS_STRING=YES", str(dst), str(src)]
        env = {**os.environ, "OGR_GEOJSON_MAX_OBJ_SIZE": "0"}  # no 200 MB cap on one FeatureCollection
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=OGR2OGR_TIMEOUT, env=env)
        except subprocess.TimeoutExpired as exc:
            raise ExportError(
                _("ogr2ogr did not finish within %(seconds)d seconds") % {"seconds": OGR2OGR_TIMEOUT}
            ) from exc
        if done.returncode != 0 or not dst.exists():
            raise ExportError(_("ogr2ogr failed: %(error)s") % {"error": done.stderr.strip()[-500:]})
        return dst.read_bytes()


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        # The importer removes this quote again (places.importer._csv_text).
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def _attribute_columns(keys: set[str]) -> list[str]:
    """Attributes in the order the kinds table declares them; anything else after, sorted."""
    declared = list(dict.fromkeys(a.name for spec in KINDS.values() for a in spec.attributes))
    return [k for k in declared if k in keys] + sorted(keys - set(declared))


def _csv(queryset: QuerySet[Site]) -> bytes:
    """Text with a BOM, so that Excel reads the Vietnamese as UTF-8; wkt holds the geometry."""
    from_sql, params = _from_clause(queryset, join=", LATERAL (SELECT ST_PointOnSurface(s.geom) AS pt) p")
    sql = (
        "SELECT s.kind, s.name, s.description, s.status, s.source, s.external_id, u.code, u.name,"
        " round(s.length_m::numeric, 1), s.attributes::text,"
        " round(ST_X(p.pt)::numeric, 7), round(ST_Y(p.pt)::numeric, 7), ST_AsText(s.geom, 15)"
        + from_sql
        + " ORDER BY s.kind, s.name, s.id"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    attributes = [json.loads(r[9]) for r in rows]
    attr_columns = _attribute_columns({k for a in attributes for k in a})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_CORE_COLUMNS + attr_columns + ["lon", "lat", "wkt"])
    for row, attrs in zip(rows, attributes, strict=True):
        writer.writerow(
            [_csv_cell(v) for v in row[:9]]
            + [_csv_cell(attrs.get(k)) for k in attr_columns]
            + [_csv_cell(row[10]), _csv_cell(row[11]), row[12]]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
