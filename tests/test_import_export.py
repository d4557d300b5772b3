"""Site import (GeoJSON, CSV, GeoPackage, zipped Shapefile) and export, with real files.

Every rejection reason is checked with a real file of each format where it can occur;
GeoPackages and Shapefiles are written by GDAL's ogr2ogr from GeoJSON, as users make them.
"""

import csv
import io
import json
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.contrib.gis.gdal import DataSource, OGRGeometry
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from places.exporter import export_sites
from places.importer import ImportFileError, ImportReport, import_sites
from places.models import AdminLevel, AdminUnit, CrosswalkLink, Site, UnitStatistic
from places.reference import load_lai_chau
from places.services import site_create
from tests.conftest import run_manage

# Inside Lai Châu: the provincial city (Phường Đoàn Kết) and Sìn Hồ.
CITY = (103.4571, 22.3964)
SIN_HO = (103.2411, 22.3606)
HANOI = (105.85, 21.03)
# Lai Châu city in UTM zone 48N, as a projected file without a declared CRS would hold it.
UTM_UNDECLARED = (547_300.0, 2_477_200.0)


# --- fixtures and helpers ----------------------------------------------------------------


@pytest.fixture(scope="module")
def units(django_db_setup, django_db_blocker):
    """The real units, committed once for this module; removed again if nobody had loaded them."""
    with django_db_blocker.unblock():
        loaded_here = not AdminUnit.objects.exists()
        load_lai_chau()
    yield
    if loaded_here:
        with django_db_blocker.unblock():
            Site.objects.all().delete()
            UnitStatistic.objects.all().delete()
            CrosswalkLink.objects.all().delete()
            for level in (AdminLevel.COMMUNE, AdminLevel.DISTRICT, AdminLevel.PROVINCE):
                AdminUnit.objects.filter(level=level).delete()


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English, whatever LANGUAGE_CODE and the .po say."""
    with translation.override("en"):
        yield


@pytest.fixture
def db_units(units, db):
    return AdminUnit.objects


def pt(x, y):
    return {"type": "Point", "coordinates": [x, y]}


def square(x, y, d=0.002):
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}


def bowtie(x, y, d=0.002):
    """A self-intersecting polygon: its ring crosses itself at the centre."""
    return {"type": "Polygon", "coordinates": [[[x, y], [x + d, y + d], [x + d, y], [x, y + d], [x, y]]]}


def line(*coords):
    return {"type": "LineString", "coordinates": [list(c) for c in coords]}


def feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(features, crs: int | None = None) -> str:
    doc = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{crs}"}}
    return json.dumps(doc, ensure_ascii=False)


def to_utm(lon: float, lat: float) -> tuple[float, float]:
    geom = OGRGeometry(f"POINT ({lon} {lat})", srs=4326)
    geom.transform(32648)
    return geom.x, geom.y


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def ogr2ogr(src: Path, dst: Path, driver: str, *options: str) -> Path:
    subprocess.run(
        ["ogr2ogr", "-f", driver, *options, str(dst), str(src)], check=True, capture_output=True, timeout=60
    )
    return dst


def gpkg_file(tmp_path: Path, geojson: str, name: str = "sites.gpkg") -> Path:
    src = write(tmp_path, name + ".src.geojson", geojson)
    return ogr2ogr(src, tmp_path / name, "GPKG", "-nln", "sites")


def shapefile_zip(tmp_path: Path, geojson: str, name: str = "sites", drop_prj: bool = False) -> Path:
    src = write(tmp_path, name + ".src.geojson", geojson)
    out = tmp_path / name
    out.mkdir()
    ogr2ogr(src, out / f"{name}.shp", "ESRI Shapefile", "-lco", "ENCODING=UTF-8")
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in sorted(out.iterdir()):
            if not (drop_prj and part.suffix == ".prj"):
                zf.write(part, f"data/{part.name}")
    return archive


def run(path: Path, **kwargs) -> ImportReport:
    kwargs.setdefault("source", "test")
    return import_sites(path=path, filename=kwargs.pop("filename", path.name), **kwargs)


def faults(report: ImportReport) -> dict[int, dict[str, str]]:
    """{row: {field: reason}}"""
    out: dict[int, dict[str, str]] = {}
    for e in report.rejected:
        out.setdefault(e.row, {})[e.field] = e.reason
    return out


def school(name="Trường Tiểu học Đoàn Kết", geometry=None, **props):
    return feature(geometry or pt(*CITY), kind="school", name=name, level="primary", **props)


def village(name="Bản Phiêng Lúc", geometry=None, **props):
    props.setdefault("child_count", 42)
    return feature(geometry or pt(*SIN_HO), kind="village", name=name, **props)


def route(name, *coords, **props):
    props.setdefault("school", "TH Đoàn Kết")
    return feature(line(*(coords or (CITY, (103.47, 22.41)))), kind="school_route", name=name, **props)


def hotspot(name="Ao bản Nà Khương", geometry=None, **props):
    props.setdefault("water_type", "pond")
    return feature(geometry or square(*CITY), kind="drowning_hotspot", name=name, **props)


# --- GeoJSON ---------------------------------------------------------------------------


def test_geojson_stores_valid_rows_and_lists_every_bad_one(db_units, tmp_path, user):
    text = collection(
        [
            school(external_id="sch-1"),  # 1 ok
            village(),  # 2 ok, keyless
            route("Tuyến Nà Nọi"),  # 3 ok
            hotspot(fenced="có"),  # 4 ok
            feature(pt(*CITY), kind="spaceship", name="X"),  # 5 unknown kind
            school(name="Trường hình vuông", geometry=square(*CITY)),  # 6 wrong geometry type
            hotspot(name="Ao nơ", geometry=bowtie(*CITY)),  # 7 invalid geometry
            school(name="Không hình", geometry=None) | {"geometry": None},  # 8 no geometry
            school(name="Đa giác rỗng", geometry={"type": "Polygon", "coordinates": []}),  # 9 empty
            school(name="UTM không khai báo", geometry=pt(*UTM_UNDECLARED)),  # 10 lon/lat out of range
            school(name="Trường ở Hà Nội", geometry=pt(*HANOI)),  # 11 outside the province
            village(name="Bản thiếu trẻ em", child_count=None),  # 12 missing required attribute
            school(name="  "),  # 13 missing name
            school(name="Trường trùng mã", external_id="sch-1"),  # 14 duplicate external_id
            school(name="Trường có cột lạ", colour="red"),  # 15 unknown attribute
            village(name="Bản số âm", child_count=-3),  # 16 attribute out of range
            school(name="Trường ngoài tỉnh và lạ", geometry=pt(*HANOI), colour="red"),  # 17 two faults
            feature(pt(*CITY), name="Không có loại"),  # 18 missing kind
        ]
    )
    report = run(write(tmp_path, "sites.geojson", text), user=user)
    assert report.format == "geojson" and report.total == 18
    assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
    f = faults(report)
    assert sorted(f) == list(range(5, 19))
    assert f[5]["kind"].startswith("unknown kind 'spaceship'")
    assert f[6]["geometry"] == "wrong geometry type for school: Polygon (expected Point)"
    assert f[7]["geometry"].startswith("invalid geometry: Self-intersection")
    assert f[8]["geometry"] == "empty geometry"
    assert f[9]["geometry"] == "empty geometry"
    assert "outside longitude" in f[10]["geometry"] and "projected CRS" in f[10]["geometry"]
    assert f[11]["geometry"] == "outside the province"
    assert f[12]["child_count"] == "required for village"
    assert f[13]["name"] == "required"
    assert f[14]["external_id"] == "duplicate external_id 'sch-1' (first in row 1)"
    assert f[15]["colour"].startswith("unknown attribute for school")
    assert f[16]["child_count"] == "must be at least 0"
    assert f[17] == {"colour": f[15]["colour"], "geometry": "outside the province"}  # every fault of a row
    assert f[18] == {"kind": "missing kind"}
    assert report.rejected_rows == 14

    stored = {s.name: s for s in Site.objects.filter(source="test")}
    assert set(stored) == {"Trường Tiểu học Đoàn Kết", "Bản Phiêng Lúc", "Tuyến Nà Nọi", "Ao bản Nà Khương"}
    assert stored["Trường Tiểu học Đoàn Kết"].external_id == "sch-1"
    assert stored["Trường Tiểu học Đoàn Kết"].commune.code == "03388"
    assert stored["Bản Phiêng Lúc"].commune.code == "03478"
    assert stored["Bản Phiêng Lúc"].external_id.startswith("sha1:")
    assert stored["Ao bản Nà Khương"].attributes == {"water_type": "pond", "fenced": True}
    assert all(s.created_by == user and s.updated_by == user for s in stored.values())
    assert Site.objects.get(name="Tuyến Nà Nọi").length_m > 1000


def test_geojson_bowtie_is_repaired_only_with_make_valid(db_units, tmp_path):
    path = write(tmp_path, "bowtie.geojson", collection([hotspot(name="Ao nơ", geometry=bowtie(*CITY))]))
    assert run(path).created == 0
    report = run(path, make_valid=True)
    assert (report.created, report.rejected) == (1, [])
    site = Site.objects.get(name="Ao nơ")
    assert site.geom.valid and site.geom.geom_type == "MultiPolygon" and len(site.geom) == 2


def test_geojson_declared_crs_is_reprojected(db_units, tmp_path):
    x, y = to_utm(103.46, 22.40)
    path = write(tmp_path, "utm.geojson", collection([school(geometry=pt(x, y))], crs=32648))
    report = run(path)
    assert (report.created, report.rejected) == (1, [])
    geom = Site.objects.get().geom
    assert geom.srid == 4326
    assert geom.x == pytest.approx(103.46, abs=1e-7) and geom.y == pytest.approx(22.40, abs=1e-7)
    # The same coordinates without the "crs" member are not lon/lat: refused, not misplaced.
    undeclared = run(write(tmp_path, "utm-bare.geojson", collection([school(geometry=pt(x, y))])))
    assert "outside longitude" in faults(undeclared)[1]["geometry"]


def test_geojson_feature_level_faults_do_not_stop_the_file(db_units, tmp_path):
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                "not a feature",
                {"type": "Feature", "properties": ["x"], "geometry": pt(*CITY)},
                school(geometry={"type": "Point", "coordinates": "abc"}),
                school(),
            ],
        }
    )
    report = run(write(tmp_path, "odd.geojson", text))
    f = faults(report)
    assert f[1] == {"feature": "not a GeoJSON Feature"}
    assert f[2]["properties"] == '"properties" must be an object'
    assert f[3]["geometry"] == "not a valid GeoJSON geometry object"
    assert report.created == 1


# --- CSV -------------------------------------------------------------------------------


def csv_text(header: list[str], rows: list[list], bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "") + out.getvalue()


def test_csv_lon_lat_rows_are_numbered_by_line(db_units, tmp_path):
    header = ["kind", "name", "description", "external_id", "lon", "lat", "level", "child_count", "srid"]
    ux, uy = to_utm(103.46, 22.40)
    text = csv_text(
        header,
        [
            ["school", "Trường Mầm non", "Hai dòng\nmô tả", "c-1", *CITY, "preschool", "", ""],  # lines 2-3
            ["village", "Bản Hon", "", "", *SIN_HO, "", "17", ""],  # 4 ok
            ["school", "Trường UTM", "", "c-2", ux, uy, "", "", "EPSG:32648"],  # 5 declared SRID
            ["spaceship", "X", "", "", *CITY, "", "", ""],  # 6 unknown kind
            ["school", "Trường không toạ độ", "", "", "", "", "", "", ""],  # 7 empty geometry
            ["school", "Trường UTM không khai báo", "", "", *UTM_UNDECLARED, "", "", ""],  # 8 out of range
            ["school", "Trường ở Hà Nội", "", "", *HANOI, "", "", ""],  # 9 outside the province
            ["village", "Bản thiếu trẻ em", "", "", *SIN_HO, "", "", ""],  # 10 missing required attribute
            ["school", "", "", "", *CITY, "", "", ""],  # 11 missing name
            ["school", "Trường trùng", "", "c-1", *CITY, "", "", ""],  # 12 duplicate external_id
            ["school", "Trường chữ", "", "", "abc", "22.4", "", "", ""],  # 13 unreadable lon
            ["school", "Trường có trẻ em", "", "", *CITY, "", "5", ""],  # 14 attribute of another kind
            ["school", "Trường SRID lạ", "", "", *CITY, "", "", "99999"],  # 15 unknown SRID
            ["school", "Trường thừa ô", "", "", *CITY, "", "", "", "thừa"],  # 16 more cells than columns
            ["", "Không có loại", "", "", *CITY, "", "", ""],  # 17 missing kind
        ],
    )
    report = run(write(tmp_path, "sites.csv", text))
    assert report.row_numbering == "line"
    assert report.total == 15 and report.created == 3
    f = faults(report)
    assert sorted(f) == list(range(6, 18))
    assert f[6]["kind"].startswith("unknown kind")
    assert f[7]["geometry"] == "empty geometry"
    assert "outside longitude" in f[8]["geometry"]
    assert f[9]["geometry"] == "outside the province"
    assert f[10]["child_count"] == "required for village"
    assert f[11]["name"] == "required"
    assert f[12]["external_id"] == "duplicate external_id 'c-1' (first in row 2)"
    assert "lon/lat must be numbers" in f[13]["geometry"]
    assert f[14]["child_count"].startswith("unknown attribute for school")
    assert f[15]["srid"] == "not a known EPSG code: 99999"
    assert f[16] == {"row": "10 cells but the header has 9"}
    assert f[17] == {"kind": "missing kind"}
    utm = Site.objects.get(external_id="c-2").geom
    assert utm.x == pytest.approx(103.46, abs=1e-7) and utm.y == pytest.approx(22.40, abs=1e-7)
    assert Site.objects.get(external_id="c-1").description == "Hai dòng\nmô tả"


def test_csv_wkt_geometry_faults(db_units, tmp_path):
    bow = GEOSGeometry(json.dumps(bowtie(*CITY))).wkt
    utm_ewkt = "SRID=32648;POINT({} {})".format(*to_utm(*CITY))
    text = csv_text(
        ["kind", "name", "water_type", "wkt"],
        [
            ["drowning_hotspot", "Ao nơ", "pond", bow],  # 2 invalid geometry
            ["school", "Trường vuông", "", GEOSGeometry(json.dumps(square(*CITY))).wkt],  # 3 wrong type
            ["drowning_hotspot", "Ao rỗng", "pond", "POLYGON EMPTY"],  # 4 empty geometry
            ["drowning_hotspot", "Ao hỏng", "pond", "POLYGON((1 2, 3"],  # 5 unreadable
            ["drowning_hotspot", "Ao EWKT", "pond", utm_ewkt],  # 6 declared SRID, reprojected
            ["drowning_hotspot", "Suối", "stream", f"POINT({CITY[0]} {CITY[1]})"],  # 7 ok
        ],
        bom=False,
    )
    path = write(tmp_path, "wkt.csv", text)
    f = faults(run(path))
    assert sorted(f) == [2, 3, 4, 5]
    assert f[2]["geometry"].startswith("invalid geometry: Self-intersection")
    assert f[3]["geometry"].startswith("wrong geometry type for school")
    assert f[4]["geometry"] == "empty geometry"
    assert f[5]["geometry"].startswith("unreadable geometry")
    report = run(path, make_valid=True)  # the bowtie is now repaired; the rest is unchanged
    assert (report.created, report.unchanged, sorted(faults(report))) == (1, 2, [3, 4, 5])
    assert Site.objects.get(name="Ao EWKT").geom.x == pytest.approx(CITY[0], abs=1e-7)


def test_csv_from_a_vietnamese_spreadsheet_semicolons_and_decimal_commas(db_units, tmp_path):
    text = "\ufeffKind;Name;Lon;Lat;Child_Count\r\nvillage;Bản Nà Luồng;103,2411;22,3606;30\r\n"
    report = run(write(tmp_path, "excel.csv", text))
    assert (report.created, report.rejected) == (1, [])
    site = Site.objects.get()
    assert site.name == "Bản Nà Luồng" and site.attributes == {"child_count": 30}


def test_default_kind_applies_when_the_file_has_no_kind_column(db_units, tmp_path):
    path = write(
        tmp_path, "villages.csv", csv_text(["name", "x", "y", "child_count"], [["Bản A", *SIN_HO, 5]])
    )
    with pytest.raises(ImportFileError, match="no 'kind' column"):
        run(path)
    report = run(path, default_kind="village")
    assert report.created == 1 and Site.objects.get().kind == "village"
    with pytest.raises(ImportFileError, match="unknown kind 'castle'"):
        run(path, default_kind="castle")


# --- GeoPackage ------------------------------------------------------------------------


def test_geopackage_rows_are_validated_like_geojson(db_units, tmp_path):
    text = collection(
        [
            school(external_id="g-1"),  # 1 ok
            hotspot(equipment=None),  # 2 ok (empty column of another kind)
            feature(pt(*CITY), kind="spaceship", name="X"),  # 3 unknown kind
            school(name="Trường vuông", geometry=square(*CITY)),  # 4 wrong geometry type
            hotspot(name="Ao nơ", geometry=bowtie(*CITY)),  # 5 invalid geometry
            school(name="Không hình") | {"geometry": None},  # 6 no geometry
            school(name="Trường ở Hà Nội", geometry=pt(*HANOI)),  # 7 outside the province
            village(name="Bản thiếu", child_count=None),  # 8 missing required attribute
            school(name="Trường trùng", external_id="g-1"),  # 9 duplicate external_id
            school(name="UTM không khai báo", geometry=pt(*UTM_UNDECLARED)),  # 10 out of range
            feature(
                pt(*CITY), kind="playground", name="Sân chơi", access="public", equipment=["slide", "swing"]
            ),  # 11 ok
            feature(pt(*CITY), kind=None, name="Không có loại"),  # 12 missing kind
            school(name=""),  # 13 missing name
        ]
    )
    path = gpkg_file(tmp_path, text)
    report = run(path)
    assert report.format == "gpkg" and report.total == 13 and report.created == 3
    f = faults(report)
    assert sorted(f) == [*range(3, 11), 12, 13]
    assert f[3]["kind"].startswith("unknown kind")
    assert f[4]["geometry"].startswith("wrong geometry type for school")
    assert f[5]["geometry"].startswith("invalid geometry: Self-intersection")
    assert f[6]["geometry"] == "empty geometry"
    assert f[7]["geometry"] == "outside the province"
    assert f[8]["child_count"] == "required for village"
    assert f[9]["external_id"] == "duplicate external_id 'g-1' (first in row 1)"
    assert "outside longitude" in f[10]["geometry"]
    assert f[12] == {"kind": "missing kind"}
    assert f[13] == {"name": "required"}
    playground = Site.objects.get(kind="playground")
    assert playground.attributes == {"access": "public", "equipment": ["slide", "swing"]}
    report = run(path, make_valid=True)
    assert (report.created, report.unchanged, 5 in faults(report)) == (1, 3, False)
    assert Site.objects.get(name="Ao nơ").geom.geom_type == "MultiPolygon"


def test_geopackage_layer_crs_is_reprojected(db_units, tmp_path):
    x, y = to_utm(103.46, 22.40)
    path = gpkg_file(tmp_path, collection([school(geometry=pt(x, y))], crs=32648))
    assert DataSource(str(path))[0].srs.srid == 32648
    report = run(path)
    assert (report.created, report.rejected) == (1, [])
    assert Site.objects.get().geom.x == pytest.approx(103.46, abs=1e-7)


# --- Shapefile -------------------------------------------------------------------------


def test_zipped_shapefile_points(db_units, tmp_path):
    text = collection(
        [
            school(external_id="p-1"),  # 1 ok
            village(external_id="p-2", child_count=12),  # 2 ok: 'child_coun' and 'external_i' in the DBF
            feature(pt(*CITY), kind="spaceship", name="X", external_id="p-3"),  # 3 unknown kind
            school(name="Trường ở Hà Nội", geometry=pt(*HANOI), external_id="p-4"),  # 4 outside the province
            village(name="Bản thiếu", child_count=None, external_id="p-5"),  # 5 missing required attribute
            school(name="Trường trùng", external_id="p-1"),  # 6 duplicate external_id
            school(name="Không hình", external_id="p-7") | {"geometry": None},  # 7 no geometry
            school(name="Toạ độ lạ", geometry=pt(200.0, 22.4), external_id="p-8"),  # 8 lon out of range
            feature(pt(*CITY), kind=None, name="Không có loại", external_id="p-9"),  # 9 missing kind
            school(name="", external_id="p-10"),  # 10 missing name
        ]
    )
    report = run(shapefile_zip(tmp_path, text))
    assert report.format == "shapefile" and report.total == 10 and report.created == 2
    f = faults(report)
    assert sorted(f) == list(range(3, 11))
    assert f[3]["kind"].startswith("unknown kind")
    assert f[4]["geometry"] == "outside the province"
    assert f[5]["child_count"] == "required for village"
    assert f[6]["external_id"] == "duplicate external_id 'p-1' (first in row 1)"
    assert f[7]["geometry"] == "empty geometry"
    assert "outside longitude" in f[8]["geometry"]
    assert f[9] == {"kind": "missing kind"}
    assert f[10] == {"name": "required"}
    assert Site.objects.get(external_id="p-2").attributes == {"child_count": 12}
    assert Site.objects.get(external_id="p-1").name == "Trường Tiểu học Đoàn Kết"  # UTF-8 via the .cpg


def test_zipped_shapefile_polygons(db_units, tmp_path):
    text = collection(
        [
            hotspot(external_id="a-1"),  # 1 ok
            hotspot(name="Ao nơ", geometry=bowtie(*SIN_HO), external_id="a-2"),  # 2 invalid geometry
            school(name="Trường vuông", geometry=square(*CITY), external_id="a-3"),  # 3 wrong geometry type
        ]
    )
    path = shapefile_zip(tmp_path, text)
    f = faults(run(path))
    assert sorted(f) == [2, 3]
    assert f[2]["geometry"].startswith("invalid geometry")
    assert f[3]["geometry"].startswith("wrong geometry type for school")
    report = run(path, make_valid=True)
    assert (report.created, report.unchanged, sorted(faults(report))) == (1, 1, [3])


def test_zipped_shapefile_prj_is_honoured_and_its_absence_is_caught(db_units, tmp_path):
    x, y = to_utm(103.46, 22.40)
    text = collection([school(geometry=pt(x, y), external_id="u-1")], crs=32648)
    report = run(shapefile_zip(tmp_path, text, name="with_prj"))
    assert (report.created, report.rejected) == (1, [])
    assert Site.objects.get().geom.y == pytest.approx(22.40, abs=1e-7)
    bare = run(shapefile_zip(tmp_path, text, name="no_prj", drop_prj=True), source="other")
    assert "outside longitude" in faults(bare)[1]["geometry"]


# --- dry run, idempotency, batching ------------------------------------------------------


def test_dry_run_validates_and_counts_but_stores_nothing(db_units, tmp_path):
    path = write(tmp_path, "s.geojson", collection([school(external_id="d-1"), village(), school(name="")]))
    report = run(path, dry_run=True)
    assert report.dry_run and (report.created, report.rejected_rows) == (2, 1)
    assert not Site.objects.exists()
    run(path)
    changed = write(
        tmp_path,
        "s2.geojson",
        collection([school(name="Tên mới", external_id="d-1"), village(), school(name="")]),
    )
    report = run(changed, dry_run=True)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert Site.objects.get(external_id="d-1").name == "Trường Tiểu học Đoàn Kết"


def test_reimport_is_idempotent_and_updates_by_external_id(db_units, tmp_path, user):
    x, y = to_utm(103.45, 22.39)
    features = [
        school(external_id="i-1"),
        village(),  # keyless: content key
        hotspot(name="Ao có mã", external_id="i-3"),
        route("Tuyến A"),
    ]
    path = write(tmp_path, "a.geojson", collection(features))
    first = run(path)
    assert (first.created, first.updated, first.unchanged) == (4, 0, 0)
    again = run(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert Site.objects.count() == 4

    features[0] = school(name="Trường đổi tên", external_id="i-1")
    features[2] = hotspot(name="Ao có mã", external_id="i-3", warning_sign=True)
    report = run(write(tmp_path, "b.geojson", collection(features)), user=user)
    assert (report.created, report.updated, report.unchanged) == (0, 2, 2)
    renamed = Site.objects.get(external_id="i-1")
    assert renamed.name == "Trường đổi tên" and renamed.updated_by == user
    assert Site.objects.get(external_id="i-3").attributes["warning_sign"] is True
    assert Site.objects.count() == 4

    # Reprojected input carries float noise; rounding to 7 decimals keeps it unchanged.
    utm = write(tmp_path, "u.geojson", collection([school(name="UTM", geometry=pt(x, y))], crs=32648))
    assert run(utm, source="utm").created == 1
    assert (run(utm, source="utm").unchanged, Site.objects.count()) == (1, 5)


def test_reimport_of_csv_without_ids_is_idempotent(db_units, tmp_path):
    text = csv_text(
        ["kind", "name", "lon", "lat", "child_count"], [["village", f"Bản {i}", *SIN_HO, i] for i in range(5)]
    )
    path = write(tmp_path, "v.csv", text)
    assert run(path).created == 5
    report = run(path)
    assert (report.created, report.unchanged) == (0, 5)
    assert Site.objects.count() == 5


def test_identical_keyless_rows_are_duplicates(db_units, tmp_path):
    path = write(tmp_path, "twins.geojson", collection([village(), hotspot(), village()]))
    report = run(path)
    assert report.created == 2
    assert faults(report)[3]["external_id"].startswith("same kind, name and geometry as row 1")


def test_communes_are_resolved_in_one_batch(db_units, tmp_path):
    def queries(n: int) -> int:
        rows = [village(name=f"Bản {n}-{i}", geometry=pt(SIN_HO[0] + i * 1e-4, SIN_HO[1])) for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            assert run(write(tmp_path, f"{n}.geojson", collection(rows)), source=f"n{n}").created == n
        return len(ctx.captured_queries)

    assert queries(3) == queries(60)


def test_report_to_dict(db_units, tmp_path):
    report = run(write(tmp_path, "r.geojson", collection([school(), school(name="")])), dry_run=True)
    assert report.to_dict() == {
        "format": "geojson",
        "dry_run": True,
        "total": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected_rows": 1,
        "row_numbering": "feature",
        "rejected": [{"row": 2, "field": "name", "reason": "required"}],
    }


# --- files that cannot be read --------------------------------------------------------


def test_unreadable_files_raise_import_file_error(db_units, tmp_path):
    good_zip = shapefile_zip(tmp_path, collection([school()]))
    truncated = write(tmp_path, "truncated.zip", good_zip.read_bytes()[: good_zip.stat().st_size // 2])
    no_shp = tmp_path / "no_shp.zip"
    with zipfile.ZipFile(no_shp, "w") as zf:
        zf.writestr("readme.txt", "nothing here")
    no_dbf = tmp_path / "no_dbf.zip"
    with zipfile.ZipFile(good_zip) as src, zipfile.ZipFile(no_dbf, "w") as zf:
        for name in src.namelist():
            if not name.endswith(".dbf"):
                zf.writestr(name, src.read(name))
    cases = {
        truncated: "zip file is damaged or incomplete",
        no_shp: "holds no .shp file",
        no_dbf: "lacks .dbf next to data/sites.shp",
        write(tmp_path, "sites.kml", "<kml/>"): "unsupported file type '.kml'",
        write(tmp_path, "sites.shp", b"\0" * 100): "a shapefile is imported as one .zip",
        write(tmp_path, "plain.csv", "kind,name,address\nschool,A,somewhere\n"): "no geometry columns",
        write(tmp_path, "empty.csv", ""): "the file is empty",
        write(
            tmp_path, "latin1.csv", "kind,name,lon,lat\nschool,Tr\xfd,1,2\n".encode("latin-1")
        ): "not UTF-8",
        write(tmp_path, "dup.csv", "name,Name,lon,lat\n"): "column 'name' appears more than once",
        write(tmp_path, "bad.geojson", '{"type": "FeatureCollection", "features": [}'): "not valid JSON",
        write(tmp_path, "list.json", "[1, 2]"): "must hold a FeatureCollection or a Feature",
        write(tmp_path, "crs.geojson", collection([], crs=99999)): "unknown coordinate reference system",
        write(tmp_path, "fake.gpkg", b"not a database" * 10): "cannot read the file as a GeoPackage",
    }
    for path, message in cases.items():
        with pytest.raises(ImportFileError) as exc:
            run(path)
        assert message in str(exc.value), (path.name, str(exc.value))
    assert not Site.objects.exists()


def test_two_layers_in_a_geopackage_are_refused(db_units, tmp_path):
    path = gpkg_file(tmp_path, collection([school()]))
    extra = write(tmp_path, "more.geojson", collection([village()]))
    ogr2ogr(extra, path, "GPKG", "-update", "-nln", "villages")
    with pytest.raises(ImportFileError, match=r"2 layers \(sites, villages\)"):
        run(path)


# --- management commands --------------------------------------------------------------


def test_import_command_prints_counts_and_rejected_rows(db_units, tmp_path):
    path = write(
        tmp_path, "cmd.geojson", collection([school(), feature(pt(*HANOI), kind="school", name="HN")])
    )
    out = io.StringIO()
    call_command("import_sites", str(path), "--dry-run", stdout=out)
    text = out.getvalue()
    assert "cmd.geojson (geojson): 2 rows, 1 created, 0 updated, 0 unchanged, 1 rejected" in text
    assert "dry run: nothing was stored" in text
    assert "  2\tgeometry: outside the province" in text
    assert not Site.objects.exists()
    call_command("import_sites", str(path), "--source", "cli", stdout=io.StringIO())
    assert Site.objects.get().source == "cli"
    with pytest.raises(CommandError, match="holds no .shp"):
        bad = tmp_path / "bad.zip"
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr("a.txt", "x")
        call_command("import_sites", str(bad))


def test_import_command_exits_1_on_an_unreadable_file(tmp_path):
    path = write(tmp_path, "broken.geojson", "{ not json")
    done = run_manage("import_sites", str(path), "--skip-checks", env={"DJANGO_DEBUG": "1"})
    assert done.returncode == 1
    assert "broken.geojson: " in done.stderr  # the reason itself may be in Vietnamese here


def test_export_command_filters_by_kind_and_commune(db_units, tmp_path):
    run(write(tmp_path, "in.geojson", collection([school(), village(), hotspot()])))
    out = tmp_path / "schools.csv"
    call_command("export_sites", str(out), "--kind", "school", stdout=io.StringIO())
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Trường Tiểu học Đoàn Kết"]
    out = tmp_path / "sin_ho.geojson"
    call_command("export_sites", str(out), "--commune", "03478", stdout=io.StringIO())
    names = [f["properties"]["name"] for f in json.loads(out.read_text())["features"]]
    assert names == ["Bản Phiêng Lúc"]
    with pytest.raises(CommandError, match="no commune with code '99999'"):
        call_command("export_sites", str(out), "--commune", "99999")


# --- export and round trip ---------------------------------------------------------------


@pytest.fixture
def mixed_sites(db_units, tmp_path):
    """Every kind, lists, dates, booleans, a formula-like name, and a site made by hand without an id."""
    features = [
        school(external_id="r-1", pupils=320, boarding=True),
        village(households=40),
        hotspot(geometry=bowtie(*SIN_HO)),
        route("Tuyến Nà Nọi – TH Đoàn Kết", CITY, (103.47, 22.41), (103.48, 22.415), vehicle_type="boat"),
        feature(
            pt(*CITY), kind="playground", name="Sân chơi", access="public", equipment=["cầu trượt", "xích đu"]
        ),
        feature(square(*SIN_HO), kind="playground", name="Sân trống", access="school", equipment=[]),
        feature(
            square(103.45, 22.39, 0.001),
            kind="construction_site",
            name="=Công trình Nhà văn hoá",
            description='-chưa rào chắn, "gấp"',
            permit_number="12/GPXD",
            contractor="Công ty Xây dựng Lai Châu",
            start_date="2026-03-01",
            end_date="2026-12-31",
            fenced=False,
            status="closed",
        ),
    ]
    report = run(write(tmp_path, "seed.geojson", collection(features)), source="seed", make_valid=True)
    assert (report.created, report.rejected) == (7, [])
    site_create(kind="school", name="Trường nhập tay", geom=Point(103.452, 22.392, srid=4326))
    return Site.objects.all()


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_export_round_trip(mixed_sites, tmp_path, fmt):
    content, content_type, filename = export_sites(mixed_sites, fmt)
    assert filename.endswith(f".{fmt}")
    path = write(tmp_path, filename, content)
    report = run(path, source="roundtrip")
    assert report.rejected == [], report.rejected
    assert (report.created, report.updated, report.unchanged) == (0, 0, 8)
    assert Site.objects.count() == 8


def test_geojson_export_is_flat_and_complete(mixed_sites):
    content, content_type, _ = export_sites(mixed_sites, "geojson")
    assert content_type == "application/geo+json"
    doc = json.loads(content)
    props = {f["properties"]["name"]: f["properties"] for f in doc["features"]}
    assert len(props) == 8
    school = props["Trường Tiểu học Đoàn Kết"]
    assert school | {"length_m": None} == {
        "kind": "school",
        "name": "Trường Tiểu học Đoàn Kết",
        "description": "",
        "status": "active",
        "source": "seed",
        "external_id": "r-1",
        "commune_code": "03388",
        "commune_name": "Phường Đoàn Kết",
        "length_m": None,
        "level": "primary",
        "pupils": 320,
        "boarding": True,
    }
    assert props["Tuyến Nà Nọi – TH Đoàn Kết"]["length_m"] > 2000
    assert props["Sân chơi"]["equipment"] == ["cầu trượt", "xích đu"]


def test_csv_export_opens_in_excel(mixed_sites):
    content, content_type, _ = export_sites(mixed_sites, "csv")
    assert content_type == "text/csv; charset=utf-8"
    assert content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    by_name = {r["name"]: r for r in rows}
    assert "'=Công trình Nhà văn hoá" in by_name  # quoted so that Excel does not run it
    route = by_name["Tuyến Nà Nọi – TH Đoàn Kết"]
    assert route["wkt"].startswith("LINESTRING") and float(route["lon"]) == pytest.approx(103.47, abs=0.02)
    assert by_name["Sân chơi"]["equipment"] == '["cầu trượt", "xích đu"]'
    assert by_name["Trường Tiểu học Đoàn Kết"]["boarding"] == "true"


def test_geopackage_export_is_one_layer_in_wgs84(mixed_sites, tmp_path):
    content, content_type, _ = export_sites(mixed_sites, "gpkg")
    assert content_type == "application/geopackage+sqlite3"
    layer = DataSource(str(write(tmp_path, "x.gpkg", content)))[0]
    assert (layer.name, len(layer), layer.srs.srid) == ("sites", 8, 4326)


def test_export_of_nothing_is_an_empty_file_that_imports(db_units, tmp_path):
    for fmt in ("geojson", "gpkg", "csv"):
        content, _, filename = export_sites(Site.objects.none(), fmt)
        report = run(write(tmp_path, filename, content))
        assert (report.total, report.rejected) == (0, [])


def test_unknown_export_format_is_refused(db_units):
    with pytest.raises(ValueError, match="unknown export format 'shp'"):
        export_sites(Site.objects.all(), "shp")


@pytest.mark.parametrize(
    "crs",
    [
        {"type": "EPSG", "properties": {"code": "¹"}},
        {"type": "EPSG", "properties": {"code": "99999999999999999999"}},
        {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::99999999999999999999"}},
        {"type": "name", "properties": {"name": "EPSG:0"}},
    ],
)
def test_odd_crs_codes_are_a_clear_file_error(db_units, tmp_path, crs):
    """Codes that str.isdigit() accepts but int() does not, or that overflow GDAL's int: refused
    with the crs named, never a 500."""
    doc = json.loads(collection([school(geometry=pt(103.46, 22.40))]))
    doc["crs"] = crs
    path = write(tmp_path, "odd-crs.geojson", json.dumps(doc, ensure_ascii=False))
    with pytest.raises(ImportFileError, match="crs|coordinate reference system"):
        run(path)
    assert Site.objects.count() == 0
