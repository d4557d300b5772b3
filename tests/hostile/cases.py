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


def upload_limit() -> int:
    from django.conf import settings

    return settings.MAX_UPLOAD_BYTES


def unzip_budget() -> int:
    from places import importer

    return importer.MAX_UNZIPPED_BYTES


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


def import_file(filename: str, make, *, quick_mb: float, full_mb: float):
    """Upload make(size) → chunks as `filename` (dry run); scaled to the upload limit."""

    def build(tmp: Path, full: bool):
        size = int((full_mb if full else quick_mb) * MiB)
        body = _upload(tmp, "body", filename, make(size), dry_run="true")
        return (*site_import(body, _sites_warm(tmp)), upload_limit() / body.size)

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


def incident_file(filename: str, make):
    def build(tmp: Path, full: bool):
        body = _upload(tmp, "body", filename, one(make()), dry_run="on")
        return (*incident_import(body, _incident_warm(tmp, xlsx=filename.endswith(".xlsx"))), 1.0)

    return build


def photo(width: int, height: int, mode: str = "1"):
    def build(tmp: Path, full: bool):
        data = c.png_of(width, height, mode)
        body = multipart_body(tmp / "body", field="photo", filename="p.png", chunks=one(data))
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
            quick_mb=9,
            full_mb=30,
        ),
        200,
        "too many vertices",
    ),
    Case(
        "import: GeoJSON of points",
        import_file("points.geojson", c.point_features, quick_mb=1, full_mb=24),
        200,
        '"rejected":[]',
    ),
    Case(
        "import: CSV of points",
        import_file("points.csv", c.csv_rows, quick_mb=0.5, full_mb=12),
        200,
        '"rejected":[]',
    ),
    Case(
        "import: CSV of one line with one 4-byte character",
        import_file("line.csv", c.csv_one_line, quick_mb=8, full_mb=96),
        400,
        "field larger than field limit",
    ),
    Case(
        "zip bomb: .shp of zeros past the unzip budget",
        import_zip(
            lambda full: c.zeros_stream_zip(
                ["layer.shp", "layer.shx", "layer.dbf"], (600 if full else 80) * MiB
            ),
            quick_budget=64 * MiB,
        ),
        400,
        "unpacks to more than",
    ),
    Case(
        "zip bomb: overlapping entries",
        import_zip(
            lambda full: c.overlapping_zip(
                dict.fromkeys(["layer.shp", "layer.shx", "layer.dbf"], (200 if full else 30) * MiB)
            ),
            quick_budget=64 * MiB,
        ),
        400,
        "zip",
    ),
    Case(
        "zip bomb: shapefile of one polygon, .shp just under the unzip budget",
        import_zip(
            lambda full: c.shapefile_polygon_zip(SHP_VERTICES[full]),
            scale=lambda full: unzip_budget() / (16 * SHP_VERTICES[full]),
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
        "zip: 10^5 empty members (central directory)",
        import_zip(
            lambda full: c.many_members_zip(100_000), scale=lambda full: upload_limit() / (105 * 100_000)
        ),
        400,
        "",
    ),
    Case(
        "XLSX: shared strings unpacking to 300 MB (over the 200 MB limit)",
        incident_file("bomb.xlsx", lambda: c.xlsx_shared_strings_bomb(300 * MiB)),
        200,
        "unpacks to more than 200 MB",
    ),
    Case(
        "XLSX: one shared string of 190 MB (under the 200 MB limit)",
        incident_file("big.xlsx", lambda: c.xlsx_shared_strings_bomb(190 * MiB)),
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
    Case("photo: RGB PNG of 40 megapixels (the largest accepted)", photo(8000, 5000, "RGB"), 201, ""),
]


def by_name() -> dict[str, Case]:
    return {case.name: case for case in CASES}
