"""The hostile cases whose memory is measured (tests/test_hostile_memory.py, bench/hostile_memory.py).

Each case writes its request body to a directory and names the door it goes through and the answer
it must get. `size` scales the cases built from big files: the bench runs them at the real limits
(100 MB uploads, the 512 MB unzip budget), the test suite at a size that keeps it quick.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import corpus as c
from .memory import (
    Body,
    MiB,
    chunked,
    incident_import,
    json_body,
    multipart_body,
    one,
    photo_upload,
    site_import,
    site_post,
)


@dataclass(frozen=True)
class Case:
    name: str
    # (directory, full size?) → (setup, act, scale): run_forked's two steps, and for a case whose cost
    # grows with its body (rows, vertices, characters) the real limit over the size built, to which
    # the peak is extrapolated linearly; 1.0 for the others.
    build: Callable[[Path, bool], tuple]
    status: int  # the answer expected
    text: str  # a piece of the answer expected (the reason given)


def unzip_budget() -> int:
    from places import importer

    return importer.MAX_UNZIPPED_BYTES


def import_max_bytes() -> int:
    """IMPORT_MAX_BYTES: the most bytes of a GeoJSON, CSV or GeoPackage file, or of a shapefile's .shp."""
    from places import importer

    return importer.import_limits()[1]


def import_max_rows() -> int:
    """IMPORT_MAX_ROWS: the most rows (features) of an import file."""
    from places import importer

    return importer.import_limits()[0]


def _upload(tmp: Path, name: str, filename: str, chunks, **fields) -> Body:
    return multipart_body(tmp / name, field="file", filename=filename, chunks=chunks, **fields)


def _sites_warm(tmp: Path) -> Body:
    return _upload(tmp, "warm.body", "warm.geojson", one(c.polygon_geojson_file(8)), dry_run="true")


def _shapefile_warm(tmp: Path) -> Body:
    return _upload(tmp, "warm.body", "warm.zip", one(c.shapefile_polygon_zip(5)), dry_run="true")


def _incident_warm(tmp: Path, xlsx: bool) -> Body:
    if xlsx:
        return _upload(tmp, "warm.body", "warm.xlsx", one(c._xlsx([c.INCIDENT_HEADER])), dry_run="on")
    return _upload(
        tmp, "warm.body", "warm.csv", one(",".join(c.INCIDENT_HEADER).encode() + b"\n"), dry_run="on"
    )


def _photo_warm(tmp: Path) -> Body:
    return multipart_body(tmp / "warm.body", field="photo", filename="warm.png", chunks=one(c.png_of(64, 48)))


def api_polygon(vertices: int | None):
    """POST a Feature of a polygon with `vertices` vertices; None: the most that fit the JSON body limit."""

    def build(tmp: Path, full: bool):
        from django.conf import settings

        n = vertices or 300_000
        data = c.feature_json(c.polygon(c.many_vertex_polygon(n)))
        while vertices is None and len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            n -= 10_000
            data = c.feature_json(c.polygon(c.many_vertex_polygon(n)))
        body = json_body(tmp / "body", one(data))
        warm = json_body(tmp / "warm.json", one(c.feature_json(c.polygon(c.square()))))
        return (*site_post(body, warm), 1.0)

    return build


def import_file(filename: str, make, *, quick_mb: float, full_mb: float | None = None, scaled: bool = True):
    """Upload make(size) → chunks as `filename` (dry run); full_mb None: 90 % of IMPORT_MAX_BYTES (the
    sizes the generators make are approximate).
    The peak is scaled to IMPORT_MAX_BYTES (the largest file read), unless `scaled` is False."""

    def build(tmp: Path, full: bool):
        mb = (full_mb or 0.9 * import_max_bytes() / MiB) if full else quick_mb
        body = _upload(tmp, "body", filename, make(int(mb * MiB)), dry_run="true")
        scale = import_max_bytes() / body.size if scaled else 1.0
        return (*site_import(body, _sites_warm(tmp)), scale)

    return build


def import_rows(filename: str, make, *, quick_rows: int):
    """Upload make(rows=n) → chunks as `filename` (dry run), n = IMPORT_MAX_ROWS (the most rows read)
    or quick_rows; the peak is scaled to IMPORT_MAX_ROWS."""

    def build(tmp: Path, full: bool):
        rows = import_max_rows() if full else quick_rows
        body = _upload(tmp, "body", filename, make(rows=rows), dry_run="true")
        return (*site_import(body, _sites_warm(tmp)), import_max_rows() / rows)

    return build


def import_zip(make, *, quick_budget: int | None = None, scale=lambda full: 1.0):
    """A zip upload; in the suite the 512 MB unzip budget may be lowered to quick_budget (the
    members are inflated 1 MB at a time, so the budget changes the time, not the memory)."""

    def build(tmp: Path, full: bool):
        body = _upload(tmp, "body", "layer.zip", chunked(make(full)), dry_run="true")
        setup, act = site_import(body, _shapefile_warm(tmp), unzipped_budget=None if full else quick_budget)
        return setup, act, scale(full)

    return build


SHP_VERTICES = {True: 30_000_000, False: 2_000_000}  # 480 MB of .shp (under the 512 MB budget), 32 MB


def shp_vertices(full: bool) -> int:
    """A polygon whose .shp is just under IMPORT_MAX_BYTES (full), or 400 000 vertices (6.4 MB)."""
    return (import_max_bytes() - 4096) // 16 if full else 400_000


def incident_file(filename: str, make):
    def build(tmp: Path, full: bool):
        body = _upload(tmp, "body", filename, one(make()), dry_run="on")
        return (*incident_import(body, _incident_warm(tmp, xlsx=filename.endswith(".xlsx"))), 1.0)

    return build


def photo(width: int, height: int, mode: str = "1", fmt: str = "PNG"):
    def build(tmp: Path, full: bool):
        data = c.png_of(width, height, mode, fmt)
        name = "p.png" if fmt == "PNG" else "p.jpg"
        body = multipart_body(tmp / "body", field="photo", filename=name, chunks=one(data))
        return (*photo_upload(body, _photo_warm(tmp), tmp / "media"), 1.0)

    return build


def _truncated_zip(full: bool) -> bytes:
    data = c.shapefile_polygon_zip(5)
    return data[: len(data) // 2]


CASES = [
    Case("API: polygon of 10^6 vertices (40 MB JSON)", api_polygon(1_000_000), 413, "at most"),
    Case("API: polygon just under the 10 MB JSON body limit", api_polygon(None), 400, "too many vertices"),
    Case(
        "import: GeoJSON polygon past MAX_VERTICES",
        import_file(
            "huge.geojson",
            lambda size: chunked(c.polygon_geojson_file(size // 30)),  # about 30 bytes a vertex
            quick_mb=5,
        ),
        200,
        "too many vertices",
    ),
    Case(
        "import: GeoJSON of points",
        import_rows("points.geojson", c.point_features, quick_rows=5000),
        200,
        '"rejected":[]',
    ),
    Case(
        "import: GeoJSON of points past IMPORT_MAX_ROWS",
        import_file("many.geojson", lambda size: c.point_features(size), quick_mb=10, scaled=False),
        400,
        "split it into files of at most",
    ),
    Case(
        "import: CSV of points",
        import_rows("points.csv", c.csv_rows, quick_rows=5000),
        200,
        '"rejected":[]',
    ),
    Case(
        "import: CSV of points past IMPORT_MAX_ROWS",
        import_file("many.csv", lambda size: c.csv_rows(size), quick_mb=4, scaled=False),
        400,
        "split it into files of at most",
    ),
    Case(
        "import: CSV of one line with one 4-byte character",
        import_file("line.csv", c.csv_one_line, quick_mb=8),
        400,
        "longer than 1048576 characters",
    ),
    Case(
        "zip bomb: .dbf of zeros past the unzip budget",
        import_zip(
            lambda full: c.zeros_stream_zip(
                ["layer.dbf"], (600 if full else 80) * MiB, empty=("layer.shp", "layer.shx")
            ),
            quick_budget=64 * MiB,
        ),
        400,
        "unpacks to more than",
    ),
    Case(
        "zip bomb: overlapping entries",
        import_zip(
            lambda full: c.overlapping_zip(dict.fromkeys(["layer.shp", "layer.shx", "layer.dbf"], 16 * MiB)),
            quick_budget=64 * MiB,
        ),
        400,
        "zip",
    ),
    Case(
        "zip bomb: shapefile of one polygon, .shp past IMPORT_MAX_BYTES (480 MB, under the unzip budget)",
        import_zip(lambda full: c.shapefile_polygon_zip(SHP_VERTICES[full])),
        400,
        "the .shp file is larger than",
    ),
    Case(
        "zip: shapefile of one polygon past MAX_VERTICES, .shp just under IMPORT_MAX_BYTES",
        import_zip(
            lambda full: c.shapefile_polygon_zip(shp_vertices(full)),
            scale=lambda full: import_max_bytes() / (16 * shp_vertices(full)),
        ),
        200,
        "too many vertices",
    ),
    Case("zip: truncated", import_zip(_truncated_zip), 400, "damaged or incomplete"),
    Case(
        "zip: a zip inside the zip",
        import_zip(lambda full: c.zip_of({"inner.zip": c.shapefile_polygon_zip(5)})),
        400,
        "no .shp",
    ),
    Case(
        # The count is read from the end record (zip64 here) before zipfile reads the directory:
        # the cost does not grow with the number of entries.
        "zip: 10^5 empty members (central directory)",
        import_zip(lambda full: c.many_members_zip(100_000)),
        400,
        "entries (at most",
    ),
    Case(
        "XLSX: shared strings unpacking to 300 MB (over the 200 MB limit)",
        incident_file("bomb.xlsx", lambda: c.xlsx_shared_strings_bomb(300 * MiB)),
        200,
        "unpacks to more than 200 MB",
    ),
    Case(
        "XLSX: one shared string of 190 MB (over the 20 MB text limit)",
        incident_file("big.xlsx", lambda: c.xlsx_shared_strings_bomb(190 * MiB)),
        200,
        "MB of text",
    ),
    Case(
        "XLSX: one shared string of 19 MB (under the 20 MB text limit)",
        incident_file("text.xlsx", lambda: c.xlsx_shared_strings_bomb(19 * MiB)),
        200,
        "",
    ),
    Case(
        "XLSX: entity expansion (billion laughs)",
        incident_file("laughs.xlsx", c.xlsx_entity_bomb),
        200,
        "not a readable",
    ),
    Case("photo: PNG of 20000 × 20000 pixels", photo(20_000, 20_000), 400, "too many pixels"),
    Case("photo: RGB PNG of 40 megapixels (over the 20 Mpx PNG limit)", photo(8000, 5000, "RGB"), 400, "20"),
    Case("photo: RGB PNG of 20 megapixels (the largest PNG accepted)", photo(5000, 4000, "RGB"), 201, ""),
    Case(
        "photo: RGB JPEG of 40 megapixels (the largest accepted; decoded at half size)",
        photo(8000, 5000, "RGB", "JPEG"),
        201,
        "",
    ),
]


def by_name() -> dict[str, Case]:
    return {case.name: case for case in CASES}
