"""Hostile and malformed input: bad geometry and bad files, through every door.

Every case must get a 4xx naming what is wrong, or a per-row error in the import report;
never a 500, never a row silently dropped, and within a generous time bound (a guard against
hangs, not a benchmark). The corpus is generated in tests/hostile/corpus.py.
"""

import io
import json
import struct
import subprocess
import threading
import time
import unicodedata
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from places.models import Site

from .hostile import corpus
from .hostile.corpus import (
    ACCEPTED_GEOMETRIES,
    BAD_GEOMETRIES,
    X0,
    Y0,
    D,
    deep_json,
    geojson_file,
    many_vertex_polygon,
    overlapping_zip,
    polygon,
    square,
    zeros_stream_zip,
    zip_of,
)

pytestmark = pytest.mark.django_db

SECONDS = 60  # far above any honest answer here; only a hang gets near it


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@contextmanager
def within(seconds: float = SECONDS):
    start = time.monotonic()
    yield
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"took {elapsed:.1f} s (bound {seconds} s): a hang?"


def feature(geometry, **props) -> dict:
    return {
        "type": "Feature",
        "properties": {"kind": "playground", "name": "Sân chơi", "attributes": {"access": "public"}, **props},
        "geometry": geometry,
    }


def post_site(client, body: str | dict):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/api/v1/sites/", data, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")


def upload(client, content: bytes, name: str, **form):
    return client.post(
        "/api/v1/sites/import/",
        {"file": SimpleUploadedFile(name, content), **form},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def geometry_error(response) -> str:
    body = response.json()
    return " ".join(body.get("geometry") or body.get("non_field_errors") or [json.dumps(body)])


# --- the site API ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(BAD_GEOMETRIES))
def test_bad_geometry_posted_to_the_api_is_a_400_naming_the_geometry(client, user, case):
    client.force_login(user)
    with within():
        response = post_site(client, feature(BAD_GEOMETRIES[case]))
    assert response.status_code == 400, (case, response.status_code, response.content[:300])
    body = response.json()
    assert "geometry" in body or "JSON parse error" in body.get("detail", ""), body
    assert not Site.objects.exists()


@pytest.mark.parametrize("case", sorted(BAD_GEOMETRIES))
def test_bad_geometry_patched_onto_a_site_is_a_400_and_changes_nothing(client, user, lai_chau, case):
    client.force_login(user)
    created = post_site(client, feature(polygon(square())))
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    before = Site.objects.values_list("geom", "commune_id").get(pk=pk)
    with within():
        response = client.patch(
            f"/api/v1/sites/{pk}/",
            json.dumps({"type": "Feature", "geometry": BAD_GEOMETRIES[case]}),
            content_type="application/json",
        )
    assert response.status_code == 400, (case, response.content[:300])
    body = response.json()
    assert "geometry" in body or "JSON parse error" in body.get("detail", ""), body
    assert Site.objects.values_list("geom", "commune_id").get(pk=pk) == before


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_in_json_are_a_400(client, user, literal):
    client.force_login(user)
    body = json.dumps(feature({"type": "Point", "coordinates": [0, 0]})).replace(
        "[0, 0]", f"[{literal}, 22.4]"
    )
    response = post_site(client, body)
    assert response.status_code == 400
    assert not Site.objects.exists()


def test_deeply_nested_json_is_a_400_not_a_500(client, user):
    client.force_login(user)
    with within():
        response = post_site(client, deep_json(100_000))
    assert response.status_code == 400, response.content[:300]


def test_a_huge_polygon_body_is_413(client, user):
    """10^6 vertices are about 40 MB of JSON: over the 10 MB body limit, refused before parsing."""
    client.force_login(user)
    body = json.dumps(feature(polygon(many_vertex_polygon(1_000_000))))
    with within():
        response = post_site(client, body)
    assert response.status_code == 413


@pytest.mark.parametrize("case", sorted(ACCEPTED_GEOMETRIES))
def test_heights_are_dropped_and_clockwise_rings_are_accepted(client, user, lai_chau, case):
    client.force_login(user)
    response = post_site(client, feature(ACCEPTED_GEOMETRIES[case]))
    assert response.status_code == 201, response.content
    site = Site.objects.get(pk=response.json()["id"])
    assert not site.geom.hasz
    if site.geom.geom_type == "Polygon":
        # Stored (and so exported) the RFC 7946 way: outer ring counter-clockwise, whatever was sent.
        import shapely

        ring = shapely.from_wkb(bytes(site.geom.wkb)).exterior
        assert ring.is_ccw
        assert response.json()["geometry"]["coordinates"][0] == [list(p) for p in ring.coords]


# --- the site import, every format ------------------------------------------------------------------------


def _report_covers_every_row(report: dict, rows: int, *, stored: int = 0) -> None:
    """Every row is either stored or listed with a geometry error: nothing vanishes."""
    assert report["total"] == rows, report
    rejected_rows = {e["row"] for e in report["rejected"]}
    assert len(rejected_rows) == rows - stored, report
    assert report["created"] + report.get("updated", 0) + report.get("unchanged", 0) == stored, report


def test_the_geometry_corpus_as_a_geojson_file_gets_one_error_per_row(client, user):
    client.force_login(user)
    geometries = [g for g in BAD_GEOMETRIES.values() if isinstance(g, dict)]
    with within():
        response = upload(client, geojson_file(geometries), "bad.geojson")
    assert response.status_code == 200, response.content[:500]
    report = response.json()
    _report_covers_every_row(report, len(geometries))
    assert {e["field"] for e in report["rejected"]} == {"geometry"}, report["rejected"]
    assert not Site.objects.exists()


def test_nan_literals_in_a_geojson_file_are_row_errors(client, user):
    client.force_login(user)
    content = geojson_file([{"type": "Point", "coordinates": [0, 0]}]).replace(b"[0, 0]", b"[NaN, 22.4]")
    response = upload(client, content, "nan.geojson")
    assert response.status_code == 200, response.content
    _report_covers_every_row(response.json(), 1)


def test_a_deeply_nested_geojson_file_is_a_400(client, user):
    client.force_login(user)
    with within():
        response = upload(client, deep_json(200_000).encode(), "deep.geojson")
    assert response.status_code == 400, response.content[:300]


def test_the_accepted_geometries_import_from_geojson(client, user, lai_chau):
    client.force_login(user)
    geometries = list(ACCEPTED_GEOMETRIES.values())
    response = upload(client, geojson_file(geometries), "ok.geojson")
    assert response.status_code == 200
    _report_covers_every_row(response.json(), len(geometries), stored=len(geometries))
    assert all(not s.geom.hasz for s in Site.objects.all())


BAD_WKT = {
    "bow tie": f"POLYGON(({X0} {Y0},{X0 + D} {Y0 + D},{X0 + D} {Y0},{X0} {Y0 + D},{X0} {Y0}))",
    "unclosed ring": f"POLYGON(({X0} {Y0},{X0 + 0.001} {Y0},{X0 + 0.001} {Y0 + 0.001}))",
    "NaN": "POINT(nan nan)",
    "infinity": f"POINT(inf {Y0})",
    "out of range": "POINT(203.4 22.4)",
    "empty collection": "GEOMETRYCOLLECTION EMPTY",
    "empty polygon": "POLYGON EMPTY",
    "collection": f"GEOMETRYCOLLECTION(POINT({X0} {Y0}))",
    "garbage": "POINT(103.4",
    "not WKT": "hello",
}


def _csv(header: str, lines: list[str]) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


def test_bad_wkt_in_a_csv_gives_one_error_per_row(client, user):
    client.force_login(user)
    lines = [f'playground,Sân {n},public,"{wkt}"' for n, wkt in enumerate(BAD_WKT.values())]
    with within():
        response = upload(client, _csv("kind,name,access,wkt", lines), "bad.csv")
    assert response.status_code == 200, response.content[:500]
    report = response.json()
    _report_covers_every_row(report, len(lines))
    assert {e["field"] for e in report["rejected"]} == {"geometry"}, report["rejected"]
    reasons = {e["row"]: e["reason"] for e in report["rejected"]}
    assert "closed" in reasons[3], reasons  # GEOS's own reason, not "error in a C function"


def test_bad_lon_lat_in_a_csv_gives_one_error_per_row(client, user):
    client.force_login(user)
    pairs = [
        "nan,nan",
        "inf,22.4",
        "1e999,22.4",
        "203.4,22.4",
        "103.4,122.4",
        "abc,22.4",
        ",22.4",
        "-inf,-inf",
    ]
    lines = [f"playground,Sân {n},public,{p}" for n, p in enumerate(pairs)]
    response = upload(client, _csv("kind,name,access,lon,lat", lines), "bad.csv")
    assert response.status_code == 200, response.content[:500]
    _report_covers_every_row(response.json(), len(lines))


def test_heights_and_measures_in_wkt_import_in_2d(client, user, lai_chau):
    """Z and M carry nothing a site needs: dropped, as the API drops heights."""
    client.force_login(user)
    wkts = [f"POINT Z ({X0} {Y0} 900)", f"POINT M ({X0 + 0.01} {Y0} 5)", f"POINT ZM ({X0 + 0.02} {Y0} 900 5)"]
    lines = [f'playground,Sân {n},public,"{w}"' for n, w in enumerate(wkts)]
    response = upload(client, _csv("kind,name,access,wkt", lines), "z.csv")
    assert response.status_code == 200
    _report_covers_every_row(response.json(), 3, stored=3)
    assert all(not s.geom.hasz and len(s.geom.coords) == 2 for s in Site.objects.all())


def test_wkt_text_as_the_api_geometry_is_read(client, user, lai_chau):
    """drf-gis reads a WKT string in "geometry": a documented convenience, validated like GeoJSON."""
    client.force_login(user)
    assert post_site(client, feature(f"POINT({X0} {Y0})")).status_code == 201
    bad = post_site(client, feature(f"POLYGON(({X0} {Y0},{X0 + 0.001} {Y0}))"))
    assert bad.status_code == 400 and "geometry" in bad.json()


def test_an_unclosed_ring_in_a_geojson_file_is_refused_not_closed_silently(client, user, lai_chau):
    client.force_login(user)
    geometries = [BAD_GEOMETRIES["unclosed ring"], {"type": "MultiPolygon", "coordinates": [[square()[:-1]]]}]
    response = upload(client, geojson_file(geometries), "open.geojson")
    report = response.json()
    _report_covers_every_row(report, 2)
    assert all("not closed" in e["reason"] for e in report["rejected"]), report


def test_a_misspelt_or_misplaced_member_is_a_400_not_ignored(client, user, lai_chau):
    """A PATCH whose names the API does not know used to answer 200 and change nothing."""
    client.force_login(user)
    pk = post_site(client, feature(polygon(square()))).json()["id"]
    before = Site.objects.values_list("name", "geom").get(pk=pk)
    for body in (
        {"type": "Feature", "geometry": BAD_GEOMETRIES["self-intersection (bow tie)"]},
        {"type": "Feature", "properties": {"nmae": "Sân mới"}},
        {"type": "Feature", "properties": {"name": "Sân mới"}, "geometrie": polygon(square())},
        {"nmae": "Sân mới"},
    ):
        response = client.patch(f"/api/v1/sites/{pk}/", json.dumps(body), content_type="application/json")
        assert response.status_code == 400, (body, response.content)
    assert Site.objects.values_list("name", "geom").get(pk=pk) == before
    # What a GET returns can be sent back: read-only properties are accepted and ignored.
    got = client.get(f"/api/v1/sites/{pk}/").json()
    got["properties"]["name"] = "Sân mới"
    response = client.put(f"/api/v1/sites/{pk}/", json.dumps(got), content_type="application/json")
    assert response.status_code == 200, response.content
    assert Site.objects.get(pk=pk).name == "Sân mới"
    # A geometry without properties is read (it used to be dropped).
    moved = polygon([[x + 0.0005, y] for x, y in square()])
    response = client.patch(
        f"/api/v1/sites/{pk}/",
        json.dumps({"type": "Feature", "geometry": moved}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert Site.objects.get(pk=pk).geom.extent[0] == pytest.approx(X0 + 0.0005)


@pytest.mark.parametrize("encoding", ["cp1258", "latin-1", "utf-16"])
def test_a_csv_not_in_utf8_is_a_400_saying_so(client, user, encoding):
    client.force_login(user)
    text = f"kind,name,access,lon,lat\nplayground,Sân chơi bản Nà Khum,public,{X0},{Y0}\n"
    # Windows writes Vietnamese in cp1258 decomposed (letter + tone mark); latin-1 holds â and à only.
    form = "NFD" if encoding == "cp1258" else "NFC"
    data = unicodedata.normalize(form, text).encode(encoding, errors="replace")
    assert not data.isascii()
    response = upload(client, data, "sites.csv")
    assert response.status_code == 400, response.content
    assert "UTF-8" in response.json()["file"][0]


def test_a_csv_with_an_unknown_delimiter_is_a_400_naming_the_columns_found(client, user):
    client.force_login(user)
    response = upload(client, _csv("kind|name|access|lon|lat", [f"playground|Sân|public|{X0}|{Y0}"]), "s.csv")
    assert response.status_code == 400
    assert "no geometry columns" in response.json()["file"][0]


def test_semicolons_and_decimal_commas_are_understood(client, user, lai_chau):
    client.force_login(user)
    x, y = str(X0).replace(".", ","), str(Y0).replace(".", ",")
    response = upload(client, _csv("kind;name;access;lon;lat", [f"playground;Sân;public;{x};{y}"]), "s.csv")
    assert response.status_code == 200
    _report_covers_every_row(response.json(), 1, stored=1)


def _ogr(tmp_path: Path, geojson: bytes, driver: str, name: str, *extra: str) -> Path:
    src = tmp_path / "src.geojson"
    src.write_bytes(geojson)
    out = tmp_path / name
    done = subprocess.run(
        ["ogr2ogr", "-f", driver, str(out), str(src), *extra], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return out


OGR_GEOMETRIES = [
    BAD_GEOMETRIES["self-intersection (bow tie)"],
    BAD_GEOMETRIES["longitude out of range"],
    BAD_GEOMETRIES["hole outside the shell"],
    ACCEPTED_GEOMETRIES["clockwise outer ring"],
    ACCEPTED_GEOMETRIES["3-D polygon"],
]


def test_bad_geometry_in_a_geopackage(client, user, lai_chau, tmp_path):
    client.force_login(user)
    gpkg = _ogr(tmp_path, geojson_file(OGR_GEOMETRIES), "GPKG", "s.gpkg")
    response = upload(client, gpkg.read_bytes(), "s.gpkg")
    assert response.status_code == 200, response.content[:500]
    report = response.json()
    _report_covers_every_row(report, len(OGR_GEOMETRIES), stored=2)
    assert {e["row"] for e in report["rejected"]} == {1, 2, 3}


def _shapefile_zip(tmp_path: Path, geojson: bytes, *, prj: bool = True, srs: str | None = None) -> bytes:
    extra = ["-t_srs", srs] if srs else []
    shp = _ogr(tmp_path, geojson, "ESRI Shapefile", "layer.shp", "-lco", "ENCODING=UTF-8", *extra)
    members = {
        f"layer{ext}": shp.with_suffix(ext).read_bytes()
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg")
        if shp.with_suffix(ext).exists() and (prj or ext != ".prj")
    }
    return zip_of(members)


def test_bad_geometry_in_a_zipped_shapefile(client, user, lai_chau, tmp_path):
    client.force_login(user)
    geometries = [g for g in OGR_GEOMETRIES if g["type"] == "Polygon"]
    content = _shapefile_zip(tmp_path, geojson_file(geometries))
    response = upload(client, content, "s.zip")
    assert response.status_code == 200, response.content[:500]
    report = response.json()
    # A shapefile ties holes to shells by orientation only: the "hole outside the shell" is
    # written as a second outer ring, a valid MultiPolygon. The bow tie stays invalid.
    _report_covers_every_row(report, len(geometries), stored=3)
    assert {e["row"] for e in report["rejected"]} == {1}


def test_a_shapefile_without_prj_in_metres_gets_row_errors_naming_the_crs(client, user, tmp_path):
    client.force_login(user)
    content = _shapefile_zip(tmp_path, geojson_file([polygon(square())]), prj=False, srs="EPSG:32648")
    response = upload(client, content, "utm.zip")
    assert response.status_code == 200, response.content[:500]
    report = response.json()
    _report_covers_every_row(report, 1)
    assert "CRS" in report["rejected"][0]["reason"]


def test_a_shapefile_without_prj_in_degrees_is_read_as_lon_lat(client, user, lai_chau, tmp_path):
    client.force_login(user)
    content = _shapefile_zip(tmp_path, geojson_file([polygon(square())]), prj=False)
    response = upload(client, content, "deg.zip")
    assert response.status_code == 200
    _report_covers_every_row(response.json(), 1, stored=1)


# --- bad files ---------------------------------------------------------------------------------------------


def test_a_truncated_zip_is_a_400(client, user, tmp_path):
    client.force_login(user)
    content = _shapefile_zip(tmp_path, geojson_file([polygon(square())]))
    for cut in (len(content) // 2, len(content) - 30, 10):
        response = upload(client, content[:cut], "cut.zip")
        assert response.status_code == 400, (cut, response.content)
        assert "zip" in response.json()["file"][0]


@pytest.fixture
def small_budget(monkeypatch):
    from places import importer

    monkeypatch.setattr(importer, "MAX_UNZIPPED_BYTES", 4 << 20)
    return 4 << 20


def test_a_zip_bomb_stops_at_the_budget(client, user, small_budget):
    """One highly compressed member (64 MB of zeros in 64 kB) against a 4 MB budget: the .dbf, whose
    size has no limit of its own (the .shp's has, IMPORT_MAX_BYTES)."""
    client.force_login(user)
    content = zeros_stream_zip(["layer.dbf"], 64 << 20, empty=("layer.shp", "layer.shx"))
    assert len(content) < 300_000
    with within(20):
        response = upload(client, content, "bomb.zip")
    assert response.status_code == 400
    assert "unpacks to more than 4 MB" in response.json()["file"][0]


def test_the_budget_counts_all_members_together(client, user, small_budget):
    """Three members of 2 MB each: each under the budget, together over it."""
    client.force_login(user)
    content = zeros_stream_zip(["layer.shp", "layer.shx", "layer.dbf"], 2 << 20)
    response = upload(client, content, "three.zip")
    assert response.status_code == 400
    assert "unpacks to more than" in response.json()["file"][0]


def test_overlapping_entries_are_refused(client, user, small_budget):
    """Central-directory entries that share one compressed stream (a 'flat' zip bomb)."""
    client.force_login(user)
    content = overlapping_zip({"layer.shp": 3 << 20, "layer.shx": 3 << 20, "layer.dbf": 3 << 20})
    response = upload(client, content, "flat.zip")
    assert response.status_code == 400
    assert "zip" in response.json()["file"][0]


def test_a_zip_inside_a_zip_is_not_unpacked(client, user, tmp_path):
    client.force_login(user)
    inner = _shapefile_zip(tmp_path, geojson_file([polygon(square())]))
    response = upload(client, zip_of({"inner.zip": inner}), "nested.zip")
    assert response.status_code == 400
    assert "no .shp" in response.json()["file"][0]


@pytest.mark.parametrize(
    "content,name",
    [
        (b"", "empty.geojson"),
        (b"\x00" * 100, "nul.geojson"),
        (b"PK\x03\x04" + b"\x00" * 50, "x.zip"),
        (b"SQLite format 3\x00" + b"\x00" * 200, "x.gpkg"),
        (b"not a geopackage", "x.gpkg"),
        (b"{}", "x.shp"),
        (b"[1, 2]", "x.geojson"),
        (b'{"type": "FeatureCollection", "features": 5}', "x.geojson"),
        (b"\xef\xbb\xbf", "bom.csv"),
        (b"kind,name\n", "nogeom.csv"),
        (b'kind,name,wkt\n"unterminated', "quote.csv"),
        (b"<html></html>", "x.exe"),
    ],
)
def test_unreadable_files_are_a_400_naming_the_file(client, user, content, name):
    client.force_login(user)
    response = upload(client, content, name)
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 200:  # read, but every row is accounted for
        report = response.json()
        assert report["created"] == 0 and len({e["row"] for e in report["rejected"]}) == report["total"]
    else:
        assert response.json()["file"]


def test_the_import_command_reports_bad_files_without_a_traceback(manage, tmp_path, lai_chau):
    bomb = tmp_path / "cut.zip"
    bomb.write_bytes(zip_of({"layer.shp": b"x" * 1000, "layer.shx": b"", "layer.dbf": b""})[:200])
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_bytes("kind,name,access,lon,lat\nplayground,Sân,public,nan,nan\n".encode("cp1258"))
    rows = tmp_path / "rows.geojson"
    rows.write_bytes(geojson_file([BAD_GEOMETRIES["self-intersection (bow tie)"]]))
    env = {"DJANGO_DEBUG": "1", "LANGUAGE_CODE": "en"}
    for path in (bomb, bad_csv):
        out = manage("import_sites", str(path), "--source", "hostile", env=env)
        assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
        assert path.name in out.stderr
    out = manage("import_sites", str(rows), "--source", "hostile", "--dry-run", env=env)
    assert "Traceback" not in out.stderr, out.stderr
    assert "geometry" in (out.stdout + out.stderr)


# --- the 10^6-vertex polygon through the import ------------------------------------------------------------


def test_a_million_vertex_polygon_in_an_import_is_refused_with_a_reason(client, user, lai_chau, settings):
    """A site is a school yard or a pond, not a coastline: past MAX_VERTICES the row is refused
    (it would make every map, tile and export of the area slow), quickly and without a 500. The
    file (33 MB) is over the default IMPORT_MAX_BYTES, raised here to show the row's own refusal."""
    from places.validation import MAX_VERTICES

    settings.IMPORT_MAX_BYTES = 64 << 20
    client.force_login(user)
    content = geojson_file([polygon(many_vertex_polygon(1_000_000)), polygon(many_vertex_polygon(1000))])
    with within():
        response = upload(client, content, "huge.geojson")
    assert response.status_code == 200, response.content[:300]
    report = response.json()
    _report_covers_every_row(report, 2, stored=1)
    message = report["rejected"][0]["reason"]
    assert report["rejected"][0]["row"] == 1 and f"at most {MAX_VERTICES}" in message, message


def test_a_shapefile_record_past_max_vertices_is_a_row_error_read_from_its_header(
    client, user, lai_chau, tmp_path
):
    """The record's point count is read from its header (the .shx points to it): GDAL never reads its
    points, yet its attributes are read, and the next record is read whole and stored."""
    from places.validation import MAX_VERTICES

    client.force_login(user)
    content = _shapefile_zip(
        tmp_path, geojson_file([polygon(many_vertex_polygon(MAX_VERTICES + 1)), polygon(square())])
    )
    with within():
        response = upload(client, content, "big.zip")
    assert response.status_code == 200, response.content[:300]
    report = response.json()
    _report_covers_every_row(report, 2, stored=1)
    assert report["rejected"] == [
        {
            "row": 1,
            "field": "geometry",
            "reason": f"too many vertices: {MAX_VERTICES + 2} (at most {MAX_VERTICES})"
            "; simplify the geometry",
        }
    ], report


# --- limits of an import file (IMPORT_MAX_ROWS, IMPORT_MAX_BYTES, CSV_MAX_LINE, MAX_ZIP_ENTRIES) ------------


def _points(n: int) -> list[dict]:
    return [{"type": "Point", "coordinates": [X0 + i * 1e-5, Y0]} for i in range(n)]


def _points_csv(n: int) -> bytes:
    lines = ["kind,name,access,lon,lat"] + [
        f"playground,Sân {i},public,{X0 + i * 1e-5:.7f},{Y0}" for i in range(n)
    ]
    return "\n".join(lines).encode()


def _refused(client, content: bytes, name: str, text: str) -> None:
    before = Site.objects.count()
    with within():
        response = upload(client, content, name)
    assert response.status_code == 400, response.content[:300]
    assert text in response.json()["file"][0], response.json()
    assert Site.objects.count() == before


def test_a_file_of_more_rows_than_the_limit_is_refused_whole(client, user, lai_chau, tmp_path, settings):
    """Each format counts its rows while reading; at IMPORT_MAX_ROWS + 1 the file is refused, naming the
    limit, and nothing is stored; at the limit it is imported."""
    settings.IMPORT_MAX_ROWS = 5
    client.force_login(user)
    message = "more than 5 rows: split it into files of at most 5 rows"
    geojson = geojson_file(_points(6))
    _refused(client, geojson, "six.geojson", message)
    _refused(client, _points_csv(6), "six.csv", message)
    _refused(client, _ogr(tmp_path, geojson, "GPKG", "six.gpkg").read_bytes(), "six.gpkg", message)
    (tmp_path / "shp").mkdir()
    _refused(client, _shapefile_zip(tmp_path / "shp", geojson), "six.zip", message)
    response = upload(client, _points_csv(5), "five.csv", dry_run="true")
    assert response.status_code == 200 and response.json()["created"] == 5, response.content[:300]


def test_a_file_larger_than_the_limit_is_refused_unread(client, user, lai_chau, tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 1 << 20
    client.force_login(user)
    big = geojson_file(_points(10_000))
    assert len(big) > 1 << 20
    _refused(client, big, "big.geojson", "the file is larger than 1 MB: split it into smaller files")
    _refused(client, _points_csv(30_000), "big.csv", "the file is larger than 1 MB")
    # The .shp of a shapefile: its declared size, then what it really unpacks to.
    shp = zeros_stream_zip(["layer.shp"], 2 << 20, empty=("layer.shx", "layer.dbf"))
    _refused(client, shp, "big.zip", "the .shp file is larger than 1 MB: split the shapefile")


def test_a_csv_line_longer_than_the_limit_is_refused_without_reading_it_whole(client, user, lai_chau):
    from places.importer import CSV_MAX_LINE

    client.force_login(user)
    content = _points_csv(2) + b"\nplayground,Long," + b"a" * CSV_MAX_LINE + b",103.45,22.39\n"
    _refused(client, content, "long.csv", f"unreadable CSV at line 4: longer than {CSV_MAX_LINE} characters")
    # A blank first line and nothing else is an empty file; a header after a blank line is not read.
    _refused(client, b"\n\r\n  \n", "blank.csv", "the file is empty")


def test_a_zip_of_more_entries_than_the_limit_is_refused_before_its_directory_is_read(client, user):
    from places.importer import MAX_ZIP_ENTRIES

    client.force_login(user)
    many = corpus.many_members_zip(MAX_ZIP_ENTRIES)  # 3 shapefile members besides: over the limit
    _refused(client, many, "many.zip", f"entries (at most {MAX_ZIP_ENTRIES})")
    zip64 = corpus.many_members_zip(70_000)  # more than 65535 entries: a zip64 end record
    _refused(client, zip64, "zip64.zip", f"holds 70003 entries (at most {MAX_ZIP_ENTRIES})")
    # An end record that counts 5 entries of a directory of 20 003 (zipfile would read them all).
    lying = bytearray(corpus.many_members_zip(20_000))
    end = lying.rindex(b"PK\x05\x06")
    lying[end + 8 : end + 12] = struct.pack("<2H", 5, 5)
    _refused(client, bytes(lying), "lying.zip", "the zip file's directory is larger than 1 MB")


def test_geojson_members_in_any_order_and_json_errors_with_their_position(client, user, lai_chau, tmp_path):
    """The file is read as a stream, yet "crs" after "features" still applies, and a JSON error names
    the line and column of the whole file, as json.loads does."""
    from places.importer import ImportFileError, _read

    client.force_login(user)
    features = json.loads(geojson_file(_points(2)))["features"]
    doc = {
        "features": features,
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
    }
    path = tmp_path / "late.geojson"
    path.write_text(json.dumps(doc, indent=1))
    parsed = _read(path, "late.geojson")
    assert [r.number for r in parsed.rows] == [1, 2] and all(r.geom.srid == 4326 for r in parsed.rows)
    bad = '{"type": "FeatureCollection",\n "features": [\n' + json.dumps(features[0]) + ",\n  x]}"
    (tmp_path / "bad.geojson").write_text(bad)
    with pytest.raises(ImportFileError) as exc:
        _read(tmp_path / "bad.geojson", "bad.geojson")
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(bad)
    assert str(exc.value) == f"not valid JSON: {expected.value}"


# --- the incident import -----------------------------------------------------------------------------------


_xlsx = corpus._xlsx
INCIDENT_HEADER = corpus.INCIDENT_HEADER


def test_incident_xlsx_formulas_are_row_errors_and_a_formula_header_is_refused(lai_chau, user):
    from incidents.importer import IncidentFileError, import_incidents

    data = _xlsx(
        [
            INCIDENT_HEADER,
            ["drowning", "2026-05-01", "5-9", "male", "minor", '=HYPERLINK("http://x","TYT")', "12409"],
            ["drowning", "=TODAY()", "5-9", "male", "minor", "TYT", "12409"],
            ["=1+1", "2026-05-01", "5-9", "male", "minor", "TYT", "12409"],
        ]
    )
    report = import_incidents(data=data, filename="x.xlsx", user=user, dry_run=True)
    assert report.total == 3
    assert {e.row for e in report.rejected if "formula" in e.reason} == {2, 3, 4}
    with pytest.raises(IncidentFileError, match="formulas"):
        import_incidents(data=_xlsx([["=A2", *INCIDENT_HEADER[1:]]]), filename="x.xlsx", user=user)


def test_incident_xlsx_that_unpacks_too_far_is_refused_before_reading(lai_chau, user, monkeypatch):
    from incidents import importer

    monkeypatch.setattr(importer, "MAX_XLSX_UNPACKED_BYTES", 8 << 20)
    data = corpus.xlsx_shared_strings_bomb(32 << 20)
    assert len(data) < 200_000
    with within(20), pytest.raises(importer.IncidentFileError, match="unpacks to more than 8 MB"):
        importer.import_incidents(data=data, filename="bomb.xlsx", user=user)


def test_incident_xlsx_entity_expansion_is_refused(lai_chau, user):
    """A 'billion laughs' shared-strings part: no expansion, no hang."""
    from incidents.importer import IncidentFileError, import_incidents

    data = corpus.xlsx_entity_bomb()  # declared in [Content_Types].xml, so openpyxl parses it
    result: dict = {}

    def run():
        try:
            result["report"] = import_incidents(data=data, filename="l.xlsx", user=user, dry_run=True)
        except IncidentFileError as exc:
            result["error"] = exc
        except Exception as exc:  # noqa: BLE001 - recorded to fail the test below with its type
            result["crash"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(SECONDS)
    assert not worker.is_alive(), "entity expansion hangs the import"
    assert "crash" not in result, repr(result.get("crash"))
    if "report" in result:  # read without expanding: the text is not 10^9 characters
        assert all(len(str(e.reason)) < 10_000 for e in result["report"].rejected)


@pytest.mark.parametrize("encoding", ["cp1258", "latin-1"])
def test_incident_csv_in_another_encoding_is_refused_naming_the_line(lai_chau, user, encoding):
    from incidents.importer import IncidentFileError, import_incidents

    text = ",".join(INCIDENT_HEADER) + "\ndrowning,2026-05-01,5-9,male,minor,Trạm Y tế Sìn Hồ,12409\n"
    # Vietnamese in cp1258 is written decomposed (base letter + tone mark), as Windows does.
    text = text.replace("Trạm Y tế Sìn Hồ", "Trạm Y tế Sìn Hồ (bản Nà Khum)")
    form = "NFD" if encoding == "cp1258" else "NFC"
    data = unicodedata.normalize(form, text).encode(encoding, errors="replace")
    assert not data.isascii()
    with pytest.raises(IncidentFileError, match="UTF-8"):
        import_incidents(data=data, filename="a.csv", user=user)


# --- photos (inspections/photos.py) ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data,name",
    [
        (b"GIF89a not really", "a.jpg"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "cut.jpg"),
        (b"%PDF-1.4", "a.png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "a.svg"),
    ],
)
def test_a_photo_that_is_not_an_image_is_rejected(data, name):
    from inspections.photos import PhotoRejected, photo_clean

    with pytest.raises(PhotoRejected):
        photo_clean(data=data, filename=name)


def test_a_decompression_bomb_photo_is_rejected_quickly():
    """A PNG declaring 30000×30000 pixels in a few kB."""
    from PIL import Image

    from inspections.photos import PhotoRejected, photo_clean

    buf = io.BytesIO()
    Image.new("1", (30_000, 30_000)).save(buf, "PNG")
    assert len(buf.getvalue()) < 200_000
    with within(20), pytest.raises(PhotoRejected):
        photo_clean(data=buf.getvalue(), filename="bomb.png")


# DRF's JSON parser let Python's RecursionError through (a 500); core.parsers.NestingSafeJSONParser
# is the default parser of every endpoint.
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/sites/",
        "/api/v1/inspections/",
        "/api/v1/assignments/",
        "/api/v1/incidents/",
        "/api/v1/reports/",
        "/api/v1/planning/siting/",
    ],
)
def test_deeply_nested_json_is_a_400_on_every_json_endpoint(user, url):
    from django.test import Client

    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.post(url, deep_json(100_000), content_type="application/json")
    assert response.status_code == 400, (url, response.status_code)


def test_positions_are_counted_before_any_geometry_is_built():
    """The import refuses a huge GeoJSON geometry from list lengths alone (shapely's reader walks
    every position in Python: 10 s for 10^6 of them), and counts every part of every type."""
    from places.importer import _position_count

    ring = many_vertex_polygon(1000)
    assert _position_count(polygon(ring)) == 1001
    assert _position_count({"type": "MultiPolygon", "coordinates": [[ring], [ring, ring]]}) == 3003
    assert _position_count({"type": "MultiLineString", "coordinates": [ring, ring[:10]]}) == 1011
    assert _position_count({"type": "LineString", "coordinates": ring}) == 1001
    collection = {
        "type": "GeometryCollection",
        "geometries": [polygon(ring), {"type": "Point", "coordinates": [1, 2]}],
    }
    assert _position_count(collection) == 1002
    for malformed in ({"type": "Polygon", "coordinates": 5}, {"type": "Polygon"}, "x", {"type": "Circle"}):
        assert _position_count(malformed) == 0


def test_incident_csv_with_an_unknown_delimiter_is_refused_not_read_as_one_column(lai_chau, user):
    from incidents.importer import IncidentFileError, import_incidents

    text = "|".join(INCIDENT_HEADER) + "\ndrowning|2026-05-01|5-9|male|minor|TYT|12409\n"
    with pytest.raises(IncidentFileError):
        import_incidents(data=text.encode(), filename="a.csv", user=user)
