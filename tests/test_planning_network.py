"""Planning along a road/path network (planning.paths, planning.network) on constructed
geography whose answers are computed by hand.

Places are given in metres east (x) and north (y) of lon 103.2411, lat 22.3606 (Xã Sìn
Hồ), where one degree of longitude is 103,000.5 m and one of latitude 110,735 m; the
distances below hold to a few metres (the UTM/spheroid scale in the province).
"""

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import load_workbook

from places.importer import ImportFileError
from places.models import AdminUnit
from places.services import site_create
from planning import network
from planning.access import commune_access, distance_method, village_access
from planning.models import PathEdge, PathSegment, PathVertex
from planning.paths import import_paths
from planning.siting import greedy_sites

LON, LAT = 103.2411, 22.3606
M_LON, M_LAT = 103_000.5, 110_735.0
TOL = 5  # metres


def at(x, y):
    return [round(LON + x / M_LON, 8), round(LAT + y / M_LAT, 8)]


def line(*xys, **props):
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "LineString", "coordinates": [at(x, y) for x, y in xys]},
    }


def write(tmp_path, features, name="paths.geojson"):
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def load(tmp_path, features, **kwargs):
    path = write(tmp_path, features)
    return import_paths(path=path, filename=path.name, source=kwargs.pop("source", "test"), **kwargs)


def village(x, y, children, name="Bản"):
    from django.contrib.gis.geos import Point

    return site_create(
        kind="village", name=name, geom=Point(*at(x, y), srid=4326), attributes={"child_count": children}
    )


def playground(x, y, name="Sân chơi"):
    from django.contrib.gis.geos import Point

    return site_create(
        kind="playground", name=name, geom=Point(*at(x, y), srid=4326), attributes={"access": "public"}
    )


@pytest.fixture
def sin_ho(lai_chau):
    return AdminUnit.objects.get(code="03478", valid_to__isnull=True)


# A river runs east–west at y = 300; its only crossing is a footbridge 2 km east.
RIVER = [
    line((0, 0), (2000, 0), kind="path", id="south"),
    line((2000, 0), (2000, 620), kind="footbridge", id="bridge"),
    line((2000, 620), (0, 620), kind="path", id="north"),
]


@pytest.fixture
def river(sin_ho):
    pg = playground(0, -10)  # 10 m south of the south path's west end
    v = village(0, 640, 25, "North")  # 20 m north of the north path's west end, 650 m from the playground
    assert {pg.commune_id, v.commune_id} == {sin_ho.id}
    return pg, v


def test_river_served_by_straight_line_unserved_by_network(tmp_path, river):
    pg, v = river
    (row,) = village_access(threshold_m=1000)
    assert (row.method, row.served) == ("straight line", True)
    assert row.distance_m == pytest.approx(650, abs=TOL)
    assert distance_method() == "straight line"

    report = load(tmp_path, RIVER)
    assert (report.created, report.rejected) == (3, [])
    assert distance_method() == "network"
    (row,) = village_access(threshold_m=1000)
    assert (row.method, row.served, row.nearest_playground_id) == ("network", False, pg.id)
    # 10 + 2,000 along the south path + 620 over the bridge + 2,000 back + 20.
    assert row.distance_m == pytest.approx(4650, abs=TOL)
    (far,) = village_access(threshold_m=5000)
    assert far.served and far.distance_m == pytest.approx(4650, abs=TOL)
    c = next(r for r in commune_access(threshold_m=1000) if r.code == "03478")
    assert (c.children, c.children_served, c.children_unserved, c.method) == (25, 0, 25, "network")
    c = next(r for r in commune_access(threshold_m=4700) if r.code == "03478")
    assert (c.children_served, c.method) == (25, "network")


def test_a_village_far_from_the_network_is_served_only_by_a_playground_near_it(tmp_path, river):
    load(tmp_path, RIVER)
    off = village(1000, -2500, 7, "Off")  # connector 2,500 m: more than the threshold
    alone = village(-1200, -1500, 3, "Alone")
    near = playground(1000, -2400)  # 100 m from "Off", closer than the two connectors together
    rows = {r.village_id: r for r in village_access(threshold_m=1000)}
    assert rows[off.id].served and rows[off.id].nearest_playground_id == near.id
    assert rows[off.id].distance_m == pytest.approx(100, abs=TOL)
    # "Alone": 1,500 m south of the nearest path; its connector alone is beyond 1,000 m.
    assert not rows[alone.id].served and rows[alone.id].distance_m > 1000


# A road 2 km east; a branch north from its middle drawn 5 m short of it; a path crossing
# it at x = 1,500 (no vertex there in the file: the crossing must be found).
BRANCHED = [
    line((0, 0), (2000, 0), kind="road", id="road"),
    line((1000, 800), (1000, 5), kind="path", id="branch"),
    line((1500, -500), (1500, 500), kind="path", id="cross"),
]


@pytest.fixture
def branched(tmp_path, sin_ho):
    p1, p2 = playground(300, 0, "P1"), playground(1000, 800, "P2")
    vs = [village(700, 50, 10, "V1"), village(1000, 300, 20, "V2"), village(1800, -40, 40, "V3")]
    vs.append(village(1500, 450, 80, "V4"))
    report = load(tmp_path, BRANCHED, snap_m=10)
    assert report.rejected == []
    return p1, p2, vs


def test_topology_nodes_crossings_and_snaps_short_ends(branched):
    # Vertices: road ends, the snapped junction at x = 1,000, the crossing at x = 1,500,
    # the branch's north end and the crossing path's two ends.
    assert PathVertex.objects.count() == 7
    # Segments: road in 3 (cut at 1,000 and 1,500), branch 1, crossing path 2.
    assert PathSegment.objects.count() == 6
    lengths = sorted(round(s.length_m) for s in PathSegment.objects.all())
    assert lengths == pytest.approx([500, 500, 500, 500, 795, 1000], abs=2)
    assert sum(e.length_m for e in PathEdge.objects.all()) == pytest.approx(2000 + 795 + 1000, abs=3)


def test_network_distances_by_hand(branched):
    p1, p2, (v1, v2, v3, v4) = branched
    rows = {r.village_id: r for r in village_access(threshold_m=1000)}
    expected = {
        v1.id: (p1.id, 50 + 400),  # same segment as P1: connector + along the road
        v2.id: (p2.id, 500),  # on the branch, 500 m south of P2
        v3.id: (p1.id, 40 + 800 + 700),  # 1,540: back along the road past the junction
        v4.id: (p1.id, 450 + 500 + 700),  # 1,650 through the crossing (P2: 450 + 500 + 500 + 795)
    }
    for vid, (pid, dist) in expected.items():
        assert (rows[vid].nearest_playground_id, rows[vid].distance_m) == (pid, pytest.approx(dist, abs=TOL))
    assert [rows[v.id].served for v in (v1, v2, v3, v4)] == [True, True, False, False]
    by_threshold = {}
    for t in (1000, 1600, 1700):
        c = next(r for r in commune_access(threshold_m=t) if r.code == "03478")
        by_threshold[t] = (c.children_served, c.children_unserved)
    assert by_threshold == {1000: (30, 120), 1600: (70, 80), 1700: (150, 0)}


def test_straight_line_differs_on_the_same_places(sin_ho):
    playground(300, 0)
    playground(1000, 800)
    v4 = village(1500, 450, 80)
    (row,) = village_access(threshold_m=1000)  # no network: 610 m to P2 in a straight line
    assert row.village_id == v4.id and row.served and row.distance_m == pytest.approx(610, abs=TOL)


def test_siting_picks_change_with_the_network(tmp_path, sin_ho):
    s1 = village(0, -10, 30, "S1")
    n1 = village(0, 640, 25, "N1")
    village(300, 640, 25, "N2")
    straight = greedy_sites(budget=2)
    # Straight line: S1 reaches all three (650 m and 716 m); the tie with N1 goes to the lower index.
    assert [(p.village_id, p.children_newly_served) for p in straight.picks] == [(s1.id, 80)]
    assert straight.method == "straight line"
    load(tmp_path, RIVER)
    net = greedy_sites(budget=2)
    assert net.method == "network"
    assert [(p.village_id, p.children_newly_served) for p in net.picks] == [(n1.id, 50), (s1.id, 30)]
    assert (net.served_before, net.served_after) == (0, 80)
    one = greedy_sites(budget=1, candidates=[tuple(at(150, 600))])  # a point by the north path
    assert [(p.candidate_index, p.children_newly_served) for p in one.picks] == [(0, 50)]
    n2_served = greedy_sites(budget=3, threshold_m=200)  # each village only serves itself
    assert sorted(p.children_newly_served for p in n2_served.picks) == [25, 25, 30]


def test_siting_counts_only_villages_unserved_along_the_network(tmp_path, river):
    pg, v = river  # the north village is unserved along the network, served in a straight line
    load(tmp_path, RIVER)
    result = greedy_sites(budget=1)
    assert [(p.village_id, p.children_newly_served) for p in result.picks] == [(v.id, 25)]
    assert (result.served_before, result.served_after) == (0, 25)


# --- import ------------------------------------------------------------------------------


def test_import_is_idempotent_and_replaces_the_source(tmp_path, sin_ho):
    first = load(tmp_path, RIVER)
    assert (first.created, first.updated, first.unchanged, first.deleted) == (3, 0, 0, 0)
    segments = PathSegment.objects.count()
    again = load(tmp_path, RIVER)
    assert (again.created, again.updated, again.unchanged, again.deleted) == (0, 0, 3, 0)
    assert PathEdge.objects.count() == 3 and PathSegment.objects.count() == segments
    moved = [RIVER[0], line((2000, 0), (2000, 700), (0, 700), kind="footbridge", id="bridge")]
    third = load(tmp_path, moved)
    assert (third.created, third.updated, third.unchanged, third.deleted) == (0, 1, 1, 1)
    assert set(PathEdge.objects.values_list("external_id", flat=True)) == {"south", "bridge"}
    other = load(tmp_path, [line((0, 0), (0, -500), kind="road")], source="other")
    assert other.created == 1 and PathEdge.objects.count() == 3
    assert PathEdge.objects.get(source="other").external_id.startswith("sha1:")


def test_import_reports_each_bad_row(tmp_path, sin_ho):
    point = {
        "type": "Feature",
        "properties": {"kind": "path"},
        "geometry": {"type": "Point", "coordinates": at(0, 0)},
    }
    utm = {
        "type": "Feature",
        "properties": {"kind": "road", "id": "utm"},
        "geometry": {"type": "LineString", "coordinates": [[527000, 2473000], [528000, 2473000]]},
    }
    hanoi = {
        "type": "Feature",
        "properties": {"kind": "road", "id": "hanoi"},
        "geometry": {"type": "LineString", "coordinates": [[105.85, 21.03], [105.86, 21.03]]},
    }
    features = [
        line((0, 0), (100, 0), kind="path", id="ok"),
        point,
        line((0, 0), (100, 0), kind="river", id="r"),
        {"type": "Feature", "properties": {"kind": "road", "id": "none"}, "geometry": None},
        utm,
        line((0, 0), (0, 100), kind="road", id="ok"),
        hanoi,
        line((0, 0), (0, 0), kind="road", id="zero"),
    ]
    with translation.override("en"):
        report = load(tmp_path, features)
    got = {(e.row, e.field): e.reason for e in report.rejected}
    assert set(got) == {
        (2, "geometry"),
        (3, "kind"),
        (4, "geometry"),
        (5, "geometry"),
        (6, "external_id"),
        (7, "geometry"),
        (8, "geometry"),
    }
    assert "Point, expected a LineString" in got[(2, "geometry")]
    assert "unknown kind 'river'" in got[(3, "kind")]
    assert got[(4, "geometry")] == "no geometry"
    assert "not longitude/latitude" in got[(5, "geometry")]
    assert "first in row 1" in got[(6, "external_id")]
    assert "from Lai Châu province" in got[(7, "geometry")]
    assert "zero length" in got[(8, "geometry")]
    assert (report.total, report.created, report.rejected_rows) == (8, 1, 7)


def test_import_without_kind_needs_the_option(tmp_path, sin_ho):
    features = [line((0, 0), (100, 0), id="a")]
    with translation.override("en"):
        report = load(tmp_path, features)
    assert [(e.row, e.field) for e in report.rejected] == [(1, "kind")]
    assert load(tmp_path, features, default_kind="road").created == 1
    assert PathEdge.objects.get().kind == "road"


def test_import_file_errors_and_missing_pgrouting(tmp_path, sin_ho, monkeypatch):
    bad = tmp_path / "paths.geojson"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ImportFileError):
        import_paths(path=bad, filename=bad.name, source="x")
    with translation.override("en"), pytest.raises(ImportFileError, match="snap tolerance"):
        load(tmp_path, RIVER, snap_m=500)
    monkeypatch.setattr("planning.paths.pgrouting_installed", lambda: False)
    with translation.override("en"), pytest.raises(ImportFileError, match="pgrouting"):
        load(tmp_path, RIVER)
    assert not network.loaded()


def test_import_command_and_multilinestring(tmp_path, sin_ho):
    multi = {
        "type": "Feature",
        "properties": {"kind": "road", "external_id": "m", "name": "QL 4D"},
        "geometry": {
            "type": "MultiLineString",
            "coordinates": [[at(0, 0), at(500, 0)], [at(500, 0), at(500, 500)]],
        },
    }
    path = write(tmp_path, [multi, {"type": "Feature", "properties": {}, "geometry": None}])
    out = io.StringIO()
    with translation.override("en"):
        call_command("import_paths", str(path), "--source", "osm", stdout=out)
    text = out.getvalue()
    assert "2 rows, 2 lines created" in text and "1 rows rejected" in text
    assert "2\tkind:" in text
    assert sorted(PathEdge.objects.values_list("part", flat=True)) == [0, 1]
    assert PathSegment.objects.count() == 2 and PathVertex.objects.count() == 3


def test_gpkg_is_read_too(tmp_path, sin_ho):
    import subprocess

    src = write(tmp_path, RIVER, "in.geojson")
    dst = tmp_path / "paths.gpkg"
    done = subprocess.run(["ogr2ogr", "-f", "GPKG", str(dst), str(src)], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr  # gdal-bin is installed by the bootstrap
    report = import_paths(path=dst, filename=dst.name, source="gpkg")
    assert (report.format, report.created, report.rejected) == ("gpkg", 3, [])
    # A zipped shapefile of the same lines, kind in a DBF column: the same network.
    import zipfile

    shp_dir = tmp_path / "shp"
    shp_dir.mkdir()
    done = subprocess.run(
        ["ogr2ogr", "-f", "ESRI Shapefile", str(shp_dir / "paths.shp"), str(src)],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    archive = tmp_path / "paths.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in shp_dir.iterdir():
            z.write(f, f.name)
    report = import_paths(path=archive, filename=archive.name, source="gpkg")
    assert (report.format, report.unchanged, report.created, report.deleted) == ("shapefile", 3, 0, 0)


# --- the method in every output ------------------------------------------------------------


def test_outputs_state_the_network_method(tmp_path, client, user, branched):
    client.force_login(user)
    body = client.get("/api/v1/planning/access/", {"threshold_m": 1000}).json()
    assert body["method"] == "network"
    assert {r["method"] for r in body["communes"]} == {"network"}
    row = next(r for r in body["communes"] if r["code"] == "03478")
    assert (row["children_served"], row["children_unserved"]) == (30, 120)
    prio = client.get("/api/v1/planning/priority/").json()
    assert prio["method"] == "network" and {r["method"] for r in prio["rows"]} == {"network"}
    siting = client.post(
        "/api/v1/planning/siting/", json.dumps({"budget": 1}), content_type="application/json"
    )
    assert siting.json()["method"] == "network"
    with translation.override("en"):
        html = client.get("/planning/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert 'data-method="network"' in html and "along the road and path network" in html
        raw = client.get("/planning/", {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="en").content.decode(
            "utf-8-sig"
        )
        params = {r[1]: r[2] for r in csv.reader(io.StringIO(raw)) if r and r[0] == "parameter"}
        assert params["Method of distance"] == "along the road and path network"
        xlsx = client.post(
            "/planning/", {"budget": 1, "candidates": "villages", "format": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en"
        )
        sheet = load_workbook(io.BytesIO(xlsx.content))["Parameters"]
        values = {r[0]: r[1] for r in sheet.iter_rows(values_only=True)}
        assert values["Method of distance"] == "along the road and path network"
    vi = client.get("/planning/").content.decode()
    assert "theo mạng lưới đường" in vi


def test_an_empty_file_removes_the_source_and_straight_line_returns(tmp_path, river):
    load(tmp_path, RIVER)
    assert village_access(threshold_m=1000)[0].method == "network"
    report = load(tmp_path, [])
    assert (report.deleted, report.segments) == (3, 0)
    assert not network.loaded()
    (row,) = village_access(threshold_m=1000)
    assert (row.method, row.served) == ("straight line", True)
    assert row.distance_m == pytest.approx(650, abs=TOL)
