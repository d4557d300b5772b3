"""Import the road and path network (manage.py import_paths) and build its routable topology.

Reading reuses places.importer's readers (GeoJSON, GeoPackage, zipped Shapefile, CSV with
a wkt column): the same file errors, CRS handling and row numbering. Each feature must be
a LineString or MultiLineString (one PathEdge per part) near the province; columns used:
kind (road, path, footbridge; --kind for a file without one), external_id (or id; else
a content key), name. Every other column is ignored. A bad row is reported with its
number, field and reason and never stops the others.

Idempotent: rows are keyed by (source, external_id, part); a re-import of a source
updates its edges, creates no duplicates and deletes the edges of that source the file
no longer holds. Then the whole topology is rebuilt (build_topology), in the same
transaction.

Topology (build_topology, in UTM 48N): ST_Node cuts the lines where they cross or touch;
each line end within `snap_m` of another line cuts that line at the nearest point; line
ends within snap_m of each other become one vertex (ST_ClusterDBSCAN). A crossing is a
junction: the data say nothing of bridges over roads, so none are assumed.
"""

# ruff: noqa: S608 - SQL assembled from constant snippets; values travel as parameters.

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.geos import GEOSException, GEOSGeometry, LineString, MultiLineString
from django.db import connection, transaction
from django.utils.translation import gettext as _

from places.importer import ImportFileError, RowError, _read
from places.models import AdminLevel, AdminUnit

from .models import UTM_SRID, PathEdge, PathKind

DEFAULT_SNAP_M = 3.0
MAX_SNAP_M = 50.0
# A line must come within this distance of the province (its neighbours' paths near the
# border can serve its villages; coordinates in the wrong CRS land far away).
NEAR_PROVINCE_M = 20_000
SOURCE_MAX = PathEdge._meta.get_field("source").max_length
EXTERNAL_ID_MAX = PathEdge._meta.get_field("external_id").max_length
NAME_MAX = PathEdge._meta.get_field("name").max_length


class PgRoutingMissing(ImportFileError):
    pass


@dataclass
class PathImportReport:
    format: str
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: list[RowError] = field(default_factory=list)
    row_numbering: str = "feature"
    vertices: int = 0
    segments: int = 0

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.rejected})


def pgrouting_installed() -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pgrouting'")
        return cur.fetchone() is not None


def require_pgrouting() -> None:
    if not pgrouting_installed():
        with connection.cursor() as cur:
            cur.execute("SELECT current_setting('server_version_num')::int / 10000")
            major = cur.fetchone()[0]
        raise PgRoutingMissing(
            _(
                "the pgRouting extension is not installed in the database, so a network cannot be used: "
                "install postgresql-%(major)s-pgrouting (Docker: an image with pgRouting), then run "
                "manage.py migrate"
            )
            % {"major": major}
        )


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _parts(geom: GEOSGeometry) -> list[LineString]:
    if isinstance(geom, LineString):
        return [geom]
    return list(geom)


@dataclass
class _Line:
    number: int
    external_id: str
    kind: str
    name: str
    parts: list[LineString]


def _clean(row, default_kind: str | None, errors: list[RowError]) -> _Line | None:
    bad = {name: list(msgs) for name, msgs in row.errors.items()}
    props = row.props
    kind = _text(props.get("kind")).lower() or (default_kind or "")
    if not kind:
        bad.setdefault("kind", []).append(
            _("missing: one of %(kinds)s (or give --kind)") % {"kinds": ", ".join(PathKind.values)}
        )
    elif kind not in PathKind.values:
        bad.setdefault("kind", []).append(
            _("unknown kind '%(kind)s' (expected %(kinds)s)")
            % {"kind": kind, "kinds": ", ".join(PathKind.values)}
        )
    external_id = _text(props.get("external_id") if props.get("external_id") is not None else props.get("id"))
    if len(external_id) > EXTERNAL_ID_MAX:
        bad.setdefault("external_id", []).append(_("longer than %(n)d characters") % {"n": EXTERNAL_ID_MAX})
    name = _text(props.get("name"))[:NAME_MAX]
    geom = row.geom
    parts: list[LineString] = []
    if geom is None and "geometry" not in bad:
        bad["geometry"] = [_("no geometry")]
    elif geom is not None:
        try:
            if not isinstance(geom, LineString | MultiLineString):
                raise ValueError(
                    _("a %(type)s, expected a LineString or MultiLineString") % {"type": geom.geom_type}
                )
            if geom.empty:
                raise ValueError(_("empty geometry"))
            if geom.srid not in (None, 4326):
                geom = geom.transform(4326, clone=True)
            geom.srid = 4326
            for part in _parts(geom):
                xs, ys = zip(*part.coords, strict=True)
                if not (all(-180 <= x <= 180 for x in xs) and all(-90 <= y <= 90 for y in ys)):
                    raise ValueError(_("coordinates are not longitude/latitude (is the CRS right?)"))
                if part.num_points < 2 or part.length == 0:
                    raise ValueError(_("a line of zero length"))
                part.srid = 4326
                parts.append(part)
        except (GEOSException, ValueError) as exc:
            bad.setdefault("geometry", []).append(str(exc))
            parts = []
    for name_, msgs in bad.items():
        errors.extend(RowError(row.number, name_, m) for m in msgs)
    if bad:
        return None
    if not external_id:
        digest = hashlib.sha1(b"".join(bytes(p.wkb) for p in parts), usedforsecurity=False).hexdigest()
        external_id = f"sha1:{digest}"
    return _Line(row.number, external_id, kind, name, parts)


def _far_from_province(lines: list[_Line]) -> set[int]:
    """Row numbers of lines no part of which comes within NEAR_PROVINCE_M of the province."""
    province = AdminUnit.objects.filter(level=AdminLevel.PROVINCE, valid_to__isnull=True).first()
    if province is None or not lines:
        return set()
    numbers = [ln.number for ln in lines for _p in ln.parts]
    wkbs = [bytes(p.ewkb) for ln in lines for p in ln.parts]
    with connection.cursor() as cur:
        cur.execute(
            "SELECT t.n FROM unnest(%s::int[], %s::bytea[]) AS t(n, g)"
            f" WHERE NOT ST_DWithin(ST_Transform(ST_GeomFromEWKB(t.g), {UTM_SRID}),"
            f" ST_Transform(ST_Envelope(%s::geometry), {UTM_SRID}), %s)",
            [numbers, wkbs, bytes(province.geom.ewkb), NEAR_PROVINCE_M],
        )
        return {r[0] for r in cur.fetchall()}


def import_paths(
    *, path: Path, filename: str, source: str, default_kind: str | None = None, snap_m: float = DEFAULT_SNAP_M
) -> PathImportReport:
    """Store the file's valid lines, delete the source's lines it no longer holds, rebuild the topology."""
    require_pgrouting()
    source = (source or "").strip()
    if not source or len(source) > SOURCE_MAX:
        raise ImportFileError(_("the source name must have 1 to %(n)d characters") % {"n": SOURCE_MAX})
    if default_kind and default_kind not in PathKind.values:
        raise ImportFileError(
            _("unknown kind '%(kind)s' (expected %(kinds)s)")
            % {"kind": default_kind, "kinds": ", ".join(PathKind.values)}
        )
    if not (0 <= snap_m <= MAX_SNAP_M):
        raise ImportFileError(_("the snap tolerance must be 0 to %(n)s m") % {"n": MAX_SNAP_M})
    parsed = _read(Path(path), filename)
    report = PathImportReport(format=parsed.format, total=len(parsed.rows), row_numbering=parsed.numbering)
    lines = [ln for row in parsed.rows if (ln := _clean(row, default_kind, report.rejected)) is not None]
    seen: dict[str, int] = {}
    unique = []
    for ln in lines:
        if ln.external_id in seen:
            report.rejected.append(
                RowError(
                    ln.number,
                    "external_id",
                    _("'%(id)s' again (first in row %(row)d)")
                    % {"id": ln.external_id, "row": seen[ln.external_id]},
                )
            )
            continue
        seen[ln.external_id] = ln.number
        unique.append(ln)
    far = _far_from_province(unique)
    for ln in unique:
        if ln.number in far:
            report.rejected.append(
                RowError(
                    ln.number,
                    "geometry",
                    _("more than %(km)d km from Lai Châu province (is the CRS right?)")
                    % {"km": NEAR_PROVINCE_M // 1000},
                )
            )
    valid = [ln for ln in unique if ln.number not in far]
    valid_rows = {ln.number for ln in valid}
    rejected_ids = {
        _text(r.props.get("external_id") if r.props.get("external_id") is not None else r.props.get("id"))
        for r in parsed.rows
        if r.number not in valid_rows
    } - {""}
    with transaction.atomic():
        existing = {
            (e.external_id, e.part): e for e in PathEdge.objects.select_for_update().filter(source=source)
        }
        keep: set[tuple[str, int]] = set()
        new: list[PathEdge] = []
        for ln in valid:
            for i, part in enumerate(ln.parts):
                key = (ln.external_id, i)
                keep.add(key)
                old = existing.get(key)
                if old is None:
                    new.append(
                        PathEdge(
                            geom=part,
                            kind=ln.kind,
                            source=source,
                            external_id=ln.external_id,
                            part=i,
                            name=ln.name,
                        )
                    )
                elif old.kind == ln.kind and old.name == ln.name and old.geom.equals_exact(part, 1e-9):
                    report.unchanged += 1
                else:
                    old.geom, old.kind, old.name = part, ln.kind, ln.name
                    old.save(update_fields=["geom", "kind", "name", "imported_at"])
                    report.updated += 1
        PathEdge.objects.bulk_create(new, batch_size=2000)
        report.created = len(new)
        # A rejected row keeps what it stored before (its id is still in the file).
        stale = [e.id for key, e in existing.items() if key not in keep and key[0] not in rejected_ids]
        report.deleted = PathEdge.objects.filter(id__in=stale).delete()[0]
        report.vertices, report.segments = build_topology(snap_m=snap_m)
    return report


def build_topology(*, snap_m: float = DEFAULT_SNAP_M) -> tuple[int, int]:
    """Rebuild PathVertex and PathSegment from every PathEdge; returns (vertices, segments)."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("LOCK TABLE planning_pathsegment, planning_pathvertex IN EXCLUSIVE MODE")
        cur.execute("DELETE FROM planning_pathsegment")
        cur.execute("DELETE FROM planning_pathvertex")
        cur.execute(
            "DROP TABLE IF EXISTS planning_topo_src, planning_topo_piece, planning_topo_cut,"
            " planning_topo_seg, planning_topo_end"
        )
        cur.execute(
            "CREATE TEMP TABLE planning_topo_src ON COMMIT DROP AS"
            f" SELECT e.id, ST_Transform(e.geom, {UTM_SRID}) AS g FROM planning_pathedge e"
        )
        # Cut where lines cross or touch (duplicates collapse to one line).
        cur.execute(
            "CREATE TEMP TABLE planning_topo_piece ON COMMIT DROP AS"
            " SELECT d.path[1] AS pid, d.geom AS g"
            " FROM ST_Dump((SELECT ST_Node(ST_Collect(g)) FROM planning_topo_src)) d"
            " WHERE GeometryType(d.geom) = 'LINESTRING'"
        )
        cur.execute("CREATE INDEX ON planning_topo_piece USING gist (g)")
        cur.execute("ANALYZE planning_topo_piece")
        # An end within snap_m of another line (a T-junction drawn short or long) cuts that line at
        # the nearest point; the end and the cut then fall in one vertex cluster below.
        cur.execute(
            "CREATE TEMP TABLE planning_topo_cut ON COMMIT DROP AS"
            " SELECT DISTINCT p.pid, ST_LineLocatePoint(p.g, e.pt) AS f FROM ("
            "   SELECT ST_StartPoint(g) AS pt FROM planning_topo_src UNION ALL"
            "   SELECT ST_EndPoint(g) FROM planning_topo_src) e"
            " JOIN planning_topo_piece p ON ST_DWithin(p.g, e.pt, %s)",
            [snap_m],
        )
        cur.execute(
            "CREATE TEMP TABLE planning_topo_seg ON COMMIT DROP AS"
            " SELECT row_number() OVER (ORDER BY pid, f0) AS sid, ST_LineSubstring(g, f0, f1) AS g FROM ("
            "  SELECT p.pid, p.g, fs.f AS f0, lead(fs.f) OVER (PARTITION BY p.pid ORDER BY fs.f) AS f1"
            "  FROM planning_topo_piece p CROSS JOIN LATERAL ("
            "    SELECT 0.0::float8 AS f UNION SELECT 1.0 UNION"
            "    SELECT c.f FROM planning_topo_cut c WHERE c.pid = p.pid"
            "      AND c.f * ST_Length(p.g) > 0.01 AND (1 - c.f) * ST_Length(p.g) > 0.01) fs"
            " ) s WHERE f1 > f0"
        )
        # Ends within snap_m of each other are one vertex (its place: the mean of the ends).
        cur.execute(
            "CREATE TEMP TABLE planning_topo_end ON COMMIT DROP AS"
            " SELECT sid, side, ST_ClusterDBSCAN(pt, eps := %s, minpoints := 1) OVER () + 1 AS vid, pt FROM ("
            "  SELECT sid, 0 AS side, ST_StartPoint(g) AS pt FROM planning_topo_seg UNION ALL"
            "  SELECT sid, 1, ST_EndPoint(g) FROM planning_topo_seg) e",
            [max(snap_m, 0.001)],
        )
        cur.execute(
            "INSERT INTO planning_pathvertex (id, geom)"
            " SELECT vid, ST_Transform(ST_Centroid(ST_Collect(pt)), 4326) FROM planning_topo_end GROUP BY vid"
        )
        vertices = cur.rowcount
        cur.execute(
            "INSERT INTO planning_pathsegment (id, source, target, length_m, geom, geom_utm)"
            " SELECT s.sid, a.vid, b.vid, ST_Length(ST_Transform(s.g, 4326)::geography),"
            " ST_Transform(s.g, 4326), s.g"
            " FROM planning_topo_seg s"
            " JOIN planning_topo_end a ON a.sid = s.sid AND a.side = 0"
            " JOIN planning_topo_end b ON b.sid = s.sid AND b.side = 1"
            " WHERE a.vid <> b.vid"
        )
        segments = cur.rowcount
        # Vertices only on dropped loops are kept: harmless, and ids stay dense.
        cur.execute("DROP TABLE planning_topo_end")
    with connection.cursor() as cur:
        cur.execute("ANALYZE planning_pathsegment")
        cur.execute("ANALYZE planning_pathvertex")
    return vertices, segments
