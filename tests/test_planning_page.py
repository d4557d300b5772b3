"""Planning page, exports and scoping on constructed geography with known answers.

Three communes (the first three of today by code), statistics of the current year:
A: 30 children, no playground, extremely difficult, poverty 50 %, no incident;
B: 100 children served, poverty 10 %, 3 incidents, 1,000 children 0–15;
C: 15 children 1.5 km from its playground, poverty 90 %, 1 incident, 500 children 0–15.
Default weights: A 0.775, C 0.425, B 0.235 with exact incident counts (see test_planning).
"""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import load_workbook

from incidents.services import incident_record
from inspections.models import Agency, Profile, Role
from places.models import AdminUnit, UnitStatistic
from places.selectors import today
from planning.priority import DEFAULT_WEIGHTS, HIDDEN_INCIDENTS
from tests.test_planning import LAT, LON, _inside, playground, village

PAGE = "/planning/"


def make_user(django_user_model, name, role, **profile):
    u = django_user_model.objects.create_user(name, password=f"pw-{name}-1")
    if role is not None:
        Profile.objects.create(user=u, role=role, **profile)
    return u


@pytest.fixture
def planner(db, django_user_model):
    return make_user(django_user_model, "planner1", Role.PLANNER)


@pytest.fixture
def ranked(lai_chau):
    units = list(AdminUnit.objects.filter(level="commune", valid_to__isnull=True).order_by("code")[:3])
    a, b, c = units
    pa, pb, pc = (u.geom.point_on_surface for u in units)
    village(*_inside(a, pa.x, pa.y), 30, "A1")
    village(*_inside(b, pb.x, pb.y), 100, "B1")
    playground(_inside(b, pb.x + 0.001, pb.y))
    village(*_inside(c, pc.x, pc.y), 15, "C1")
    playground(_inside(c, pc.x + 0.015, pc.y))
    year = today().year
    # The reference data flag extremely difficult communes for 2026–2030: replaced (in this
    # test's transaction) by the constructed statistics, so the answers are known.
    UnitStatistic.objects.all().delete()
    for unit, values in (
        (a, {"extremely_difficult": 1, "poverty_rate": 50, "children_0_15": 2000}),
        (b, {"extremely_difficult": 0, "poverty_rate": 10, "children_0_15": 1000}),
        (c, {"extremely_difficult": 0, "poverty_rate": 90, "children_0_15": 500}),
    ):
        for indicator, value in values.items():
            UnitStatistic.objects.create(
                unit=unit, year=year, indicator=indicator, value=value, source="test"
            )
    day = today() - timedelta(days=30)
    for unit, n in ((b, 3), (c, 1)):
        for i in range(n):
            incident_record(
                kind="drowning",
                day=day,
                age_band="5-9",
                sex="male",
                outcome="minor",
                source="test",
                reference=f"{unit.code}-{i}",
                commune_code=unit.code,
            )
    return a, b, c


def table_codes(html: str) -> list[str]:
    return re.findall(r'<tr id="commune-(\d+)"', html)


def map_data(html: str) -> dict:
    m = re.search(r'<script id="planning-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


# --- the page ------------------------------------------------------------------------------


def test_page_shows_map_data_ranking_and_method(client, user, ranked):
    a, b, c = ranked
    client.force_login(user)
    with translation.override("en"):
        response = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert table_codes(html)[:3] == [a.code, c.code, b.code]
    assert len(table_codes(html)) == 38
    data = map_data(html)
    assert len(data["communes"]["features"]) == 38
    assert data["communes"]["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert data["values"][str(a.id)] == {"rank": 1, "score": 0.775, "unserved": 30, "children": 30}
    assert data["values"][str(c.id)]["unserved"] == 15
    assert data["layer"] == "unserved" and data["siting"] is None
    assert "vendor/leaflet/leaflet.js" in html and "planning/planning.js" in html
    assert "straight line" in html


def test_page_is_vietnamese_first(client, user, ranked):
    client.force_login(user)
    html = client.get(PAGE).content.decode()
    assert '<html lang="vi">' in html
    assert "đường thẳng" in html  # the method, in Vietnamese


def test_weights_from_the_page_reorder_the_ranking(client, user, ranked):
    a, b, c = ranked
    client.force_login(user)
    zero = {f"w_{n}": "0" for n in DEFAULT_WEIGHTS}
    by_poverty = client.get(PAGE, {**zero, "w_poverty": "3"})
    assert table_codes(by_poverty.content.decode())[:3] == [c.code, a.code, b.code]
    by_incidents = client.get(PAGE, {**zero, "w_incidents": "1", "layer": "score"})
    html = by_incidents.content.decode()
    assert table_codes(html)[:3] == [b.code, c.code, a.code]
    assert map_data(html)["layer"] == "score"
    # Only one weight given: the others keep their defaults (A still first).
    assert table_codes(client.get(PAGE, {"w_poverty": "0.2"}).content.decode())[0] == a.code


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"w_poverty": "-1"}, "greater than or equal to 0"),
        ({"w_incidents": "lots"}, "Enter a number"),
        ({"w_unserved": "nan"}, "Enter a number"),
        ({"threshold_m": "0"}, "greater than or equal to 1"),
        ({f"w_{n}": "0" for n in DEFAULT_WEIGHTS}, "At least one weight must be greater than 0"),
        ({"layer": "roads"}, "Select a valid choice"),
    ],
)
def test_bad_parameters_show_a_message_never_a_500(client, user, ranked, params, message):
    client.force_login(user)
    with translation.override("en"):
        response = client.get(PAGE, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'id="ranking-table"' not in response.content.decode()


def test_threshold_on_the_page_changes_the_unserved_counts(client, user, ranked):
    a, b, c = ranked
    client.force_login(user)
    data = map_data(client.get(PAGE, {"threshold_m": "2000"}).content.decode())
    assert data["values"][str(c.id)]["unserved"] == 0  # C1 is 1.5 km from its playground
    assert data["values"][str(a.id)]["unserved"] == 30


# --- where to build on the page ------------------------------------------------------------


@pytest.fixture
def line(lai_chau):
    """V0, V1, V2 at 0, 824, 1,648 m east (10 children each), V3 4.1 km east (25), no playground."""
    return [
        village(LON + dx * 0.001, LAT, n, f"V{i}")
        for i, (dx, n) in enumerate([(0, 10), (8, 10), (16, 10), (40, 25)])
    ]


def test_where_to_build_on_the_page_villages_as_candidates(client, user, line):
    v0, v1, v2, v3 = line
    client.force_login(user)
    response = client.post(PAGE, {"budget": "2", "candidates": "villages", "format": "html"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="picks-table"' in html
    siting = map_data(html)["siting"]
    assert [(p["order"], p["children"]) for p in siting["picks"]] == [(1, 30), (2, 25)]
    assert siting["picks"][0]["lon"] == pytest.approx(v1.geom.x)
    # Villages: [lon, lat, children, served before, served after]; none served before, all after.
    assert sorted(v[2] for v in siting["villages"]) == [10, 10, 10, 25]
    assert all(v[3] == 0 and v[4] == 1 for v in siting["villages"])
    assert "0 → 55" in html  # Xã Sìn Hồ before → after


def test_where_to_build_with_typed_and_uploaded_points(client, user, line):
    client.force_login(user)
    typed = f"lon,lat\n{LON + 0.040}, {LAT}\n"
    upload = SimpleUploadedFile("points.csv", f"{LON + 0.004};{LAT}\n".encode(), content_type="text/csv")
    response = client.post(
        PAGE,
        {
            "budget": "5",
            "candidates": "points",
            "points": typed,
            "points_file": upload,
            "threshold_m": "1000",
        },
    )
    assert response.status_code == 200
    siting = map_data(response.content.decode())["siting"]
    # Typed point (index 0) near V3 serves 25; uploaded point (index 1) serves V0 and V1 (20).
    assert [(round(p["lon"], 3), p["children"]) for p in siting["picks"]] == [
        (round(LON + 0.040, 3), 25),
        (round(LON + 0.004, 3), 20),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"budget": "0", "candidates": "villages"}, "greater than or equal to 1"),
        ({"budget": "x", "candidates": "villages"}, "Enter a whole number"),
        ({"budget": "1", "candidates": "points", "points": ""}, "Give at least one point"),
        ({"budget": "1", "candidates": "points", "points": "103.2\nfar away"}, "line 2"),
        ({"budget": "1", "candidates": "points", "points": "105.85, 21.03"}, "point 1: outside the province"),
        ({"budget": "1", "candidates": "points", "points": "200, 21"}, "not a longitude and latitude"),
    ],
)
def test_where_to_build_bad_input_names_what_is_wrong(client, user, line, data, message):
    client.force_login(user)
    with translation.override("en"):
        response = client.post(PAGE, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert message in response.content.decode()


# --- exports -------------------------------------------------------------------------------


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def params_of(rows) -> dict:
    return {r[1]: r[2] for r in rows if r and r[0] == "parameter"}


@translation.override("en")
def test_ranking_csv_holds_parameters_and_numbers(client, user, ranked):
    a, b, c = ranked
    client.force_login(user)
    response = client.get(
        PAGE, {"w_poverty": "0.4", "threshold_m": "1200", "format": "csv"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "play-area-priority.csv" in response["Content-Disposition"]
    rows = read_csv(response.content)
    p = params_of(rows)
    assert p["Method of distance"] == "straight line"
    assert float(p["Walking distance threshold (m)"]) == 1200
    assert float(p["Weight: Poverty rate (%)"]) == pytest.approx(0.4 / 1.25)
    assert float(p["Weight: Children without access"]) == pytest.approx(0.35 / 1.25)
    assert p["Incident numbers"] == "exact"
    assert p["Area"] == "Lai Châu province"
    assert p["Date of this file"].startswith(today().isoformat())
    assert p["Data as of (last change to villages and playgrounds)"].startswith(today().isoformat())
    header_at = next(i for i, r in enumerate(rows) if r and r[0] == "Rank")
    header = rows[header_at]
    body = rows[header_at + 1 :]
    assert len(body) == 38
    first = dict(zip(header, body[0], strict=True))
    assert first["Commune code"] == a.code and first["Rank"] == "1"
    w = {n: v / 1.25 for n, v in {**DEFAULT_WEIGHTS, "poverty": 0.4}.items()}
    # A: unserved 1, extremely difficult 1, poverty 0.5, incidents 0, playgrounds 1.
    expected = w["unserved"] + w["extremely_difficult"] + 0.5 * w["poverty"] + w["playgrounds"]
    assert float(first["Score"]) == pytest.approx(expected, abs=1e-6)
    assert float(first["Poverty rate (%): value"]) == 50
    assert float(first["Poverty rate (%): contribution"]) == pytest.approx(0.5 * w["poverty"], abs=1e-6)
    assert first["Child incidents (5 years)"] == "0"
    by_code = {r[1]: dict(zip(header, r, strict=True)) for r in body}
    assert by_code[b.code]["Child incidents (5 years)"] == "3"


@translation.override("en")
def test_ranking_xlsx_has_numeric_cells_and_parameters(client, user, ranked):
    a, b, c = ranked
    client.force_login(user)
    response = client.get("/api/v1/planning/priority/", {"format": "xlsx"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(response.content))
    params = {r[0]: r[1] for r in wb["Parameters"].iter_rows(min_row=2, values_only=True)}
    assert params["Method of distance"] == "straight line"
    assert params["Walking distance threshold (m)"] == 1000
    assert params["Weight: Children without access"] == pytest.approx(0.35)
    sheet = wb.worksheets[1]
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == 38
    col = {h: i for i, h in enumerate(header)}
    top3 = [(r[col["Commune code"]], r[col["Rank"]], r[col["Score"]]) for r in body[:3]]
    assert [t[0] for t in top3] == [a.code, c.code, b.code]
    assert [t[1] for t in top3] == [1, 2, 3]
    assert top3[0][2] == pytest.approx(0.775) and top3[1][2] == pytest.approx(0.425)
    assert all(isinstance(t[2], float) for t in top3)
    assert isinstance(body[0][col["Children (villages)"]], int)


@translation.override("en")
def test_picks_csv_and_xlsx_from_page_and_api(client, user, line):
    v0, v1, v2, v3 = line
    client.force_login(user)
    page_csv = client.post(
        PAGE + "?threshold_m=1000",
        {"budget": "3", "candidates": "villages", "format": "csv"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert page_csv.status_code == 200 and "play-area-picks.csv" in page_csv["Content-Disposition"]
    rows = read_csv(page_csv.content)
    p = params_of(rows)
    assert p["Budget (new play areas)"] == "3"
    assert p["Candidates"] == "the villages"
    assert p["Only extremely difficult communes"] == "no"
    assert p["Method of distance"] == "straight line"
    assert (p["Children served before"], p["Children served after"]) == ("0", "55")
    assert "only 2 of 3" in p["Result"]
    at = next(i for i, r in enumerate(rows) if r and r[0] == "Order")
    picks = [dict(zip(rows[at], r, strict=True)) for r in rows[at + 1 : at + 3]]
    assert [(q["Village id"], q["Children newly served"]) for q in picks] == [
        (str(v1.id), "30"),
        (str(v3.id), "25"),
    ]
    assert rows[at + 3] == []  # then the communes table

    api = client.post(
        "/api/v1/planning/siting/?format=xlsx",
        json.dumps({"budget": 1, "candidates": [{"lon": LON + 0.040, "lat": LAT}]}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert api.status_code == 200
    wb = load_workbook(io.BytesIO(api.content))
    params = {r[0]: r[1] for r in wb["Parameters"].iter_rows(min_row=2, values_only=True)}
    assert params["Budget (new play areas)"] == 1
    assert params["Candidates"] == "1 point(s) given by the planner"
    pick_rows = list(wb.worksheets[1].iter_rows(values_only=True))
    col = {h: i for i, h in enumerate(pick_rows[0])}
    (only,) = pick_rows[1:]
    assert only[col["Children newly served"]] == 25 and only[col["Village id"]] is None
    assert only[col["Longitude"]] == pytest.approx(LON + 0.040)
    communes = {r[0]: r for r in wb.worksheets[2].iter_rows(min_row=2, values_only=True)}
    assert communes["03478"][2:] == (55, 0, 25)


def test_unknown_export_format_is_refused(client, user, ranked):
    client.force_login(user)
    assert client.get(PAGE, {"format": "pdf"}).status_code == 400
    assert client.get("/api/v1/planning/priority/", {"format": "pdf"}).status_code == 400


# --- scoping and privacy -------------------------------------------------------------------


def test_who_may_plan(client, django_user_model, ranked):
    agency = Agency.objects.first()
    inspector = make_user(django_user_model, "insp1", Role.INSPECTOR, agency=agency)
    nobody = make_user(django_user_model, "noprofile1", None)
    assert client.get(PAGE).status_code == 302  # to the login page
    assert client.get("/api/v1/planning/priority/").status_code in (401, 403)
    for u in (inspector, nobody):
        client.force_login(u)
        assert client.get(PAGE).status_code == 403
        assert client.get("/api/v1/planning/priority/").status_code == 403
        assert client.get("/api/v1/planning/access/").status_code == 403
        post = client.post(
            "/api/v1/planning/siting/", json.dumps({"budget": 1}), content_type="application/json"
        )
        assert post.status_code == 403


def test_area_leader_plans_his_commune_only(client, django_user_model, ranked, line):
    a, b, c = ranked
    sin_ho = AdminUnit.objects.get(code="03478", valid_to__isnull=True)
    leader = make_user(django_user_model, "leader1", Role.AREA_LEADER, area=sin_ho)
    client.force_login(leader)
    html = client.get(PAGE).content.decode()
    assert table_codes(html) == ["03478"]
    assert [f["properties"]["code"] for f in map_data(html)["communes"]["features"]] == ["03478"]
    rows = client.get("/api/v1/planning/priority/").json()["rows"]
    assert [(r["code"], r["access"]["children"]) for r in rows] == [("03478", 55)]
    access = client.get("/api/v1/planning/access/").json()["communes"]
    assert [r["code"] for r in access] == ["03478"]
    picks = client.post(
        "/api/v1/planning/siting/", json.dumps({"budget": 5}), content_type="application/json"
    )
    body = picks.json()
    assert [p["children_newly_served"] for p in body["picks"]] == [30, 25]
    assert [c["code"] for c in body["communes"]] == ["03478"]
    pa = a.geom.point_on_surface
    outside = client.post(
        "/api/v1/planning/siting/",
        json.dumps({"budget": 1, "candidates": [{"lon": pa.x, "lat": pa.y}]}),
        content_type="application/json",
    )
    assert outside.status_code == 400 and outside.json() == {"candidates[0]": ["nằm ngoài địa bàn của bạn"]}


def test_planner_gets_suppressed_incident_counts(client, user, planner, ranked):
    a, b, c = ranked
    client.force_login(planner)
    rows = {r["code"]: r for r in client.get("/api/v1/planning/priority/").json()["rows"]}
    # B (3) and C (1) are small counts: hidden, counted as 2.5 → rates 25 and 50 per 10,000.
    for code in (b.code, c.code):
        assert rows[code]["incidents"] is None
        inc = rows[code]["components"]["incidents"]
        assert inc["raw"] is None and inc["hidden"] is True
    assert HIDDEN_INCIDENTS == 2.5
    assert rows[b.code]["components"]["incidents"]["normalised"] == pytest.approx(0.5)
    assert rows[c.code]["components"]["incidents"]["normalised"] == pytest.approx(1.0)
    assert rows[a.code]["incidents"] == 0 and rows[a.code]["components"]["incidents"]["raw"] == 0
    assert rows[b.code]["score"] == pytest.approx(0.15 * 0.5 + 0.10 * 0.85)
    assert rows[c.code]["score"] == pytest.approx(0.35 * 0.5 + 0.15 + 0.15)
    with translation.override("en"):
        page = client.get(PAGE, {"format": "csv"}, HTTP_ACCEPT_LANGUAGE="en")
        p = params_of(read_csv(page.content))
    assert p["Incident numbers"].startswith("published table")
    html = client.get(PAGE).content.decode()
    assert "<abbr" in html  # the hidden symbol in the table
    # The coordinator sees the exact counts.
    client.force_login(user)
    exact = {r["code"]: r for r in client.get("/api/v1/planning/priority/").json()["rows"]}
    assert exact[b.code]["incidents"] == 3 and exact[c.code]["incidents"] == 1
    assert exact[b.code]["components"]["incidents"]["raw"] == pytest.approx(30)


# --- served or not: the cell grid, the band around the threshold, polygons -----------------


def test_served_at_the_threshold_is_decided_on_the_spheroid(lai_chau):
    from planning.access import commune_access, village_access

    playground((LON, LAT))
    inside = village(LON + 0.00969, LAT, 7, "998 m")  # 0.00969° × 103,000.5 m = 998.1 m
    outside = village(LON + 0.00973, LAT, 11, "1,002 m")  # 1,002.2 m
    far_north = village(LON, LAT + 0.0091, 13, "1,008 m")  # 0.0091° × 110,735 m = 1,007.7 m
    rows = {r.village_id: r for r in village_access(threshold_m=1000)}
    assert rows[inside.id].distance_m == pytest.approx(998.1, abs=1)
    assert rows[outside.id].distance_m == pytest.approx(1002.2, abs=1)
    assert [rows[v.id].served for v in (inside, outside, far_north)] == [True, False, False]
    sin_ho = next(r for r in commune_access(threshold_m=1000) if r.code == "03478")
    assert (sin_ho.children, sin_ho.children_served) == (31, 7)
    # 1,010 m: all three; 0 m and 1 m (the cell grid has a floor): none.
    assert next(r for r in commune_access(threshold_m=1010) if r.code == "03478").children_served == 31
    for t in (0, 1):
        assert next(r for r in commune_access(threshold_m=t) if r.code == "03478").children_served == 0


def test_a_large_polygon_playground_serves_from_its_edge(lai_chau):
    from django.contrib.gis.geos import Polygon

    from planning.access import commune_access
    from planning.siting import greedy_sites

    # A 2 km × 2 km park west of LON (it spans several cells of the grid); its east edge at LON.
    park = Polygon.from_bbox((LON - 0.0194, LAT - 0.009, LON, LAT + 0.009))
    park.srid = 4326
    playground(park)
    near_edge = village(LON + 0.0087, LAT, 5, "896 m east of the edge")  # 896 m; 1.9 km from the centre
    village(LON - 0.01, LAT, 3, "in the park")
    beyond = village(LON + 0.0117, LAT, 9, "1,205 m east")
    sin_ho = next(r for r in commune_access(threshold_m=1000) if r.code == "03478")
    assert (sin_ho.children, sin_ho.children_served) == (17, 8)
    assert next(r for r in commune_access(threshold_m=800) if r.code == "03478").children_served == 3
    result = greedy_sites(budget=1, threshold_m=1000, with_villages=True)
    status = {vid: (before, after) for vid, _x, _y, _c, before, after in result.villages}
    assert status[beyond.id] == (False, True) and status[near_edge.id] == (True, True)
    assert (result.served_before, result.served_after) == (8, 17)
    # Near the edge (309 m from "beyond") and "beyond" itself both newly serve the 9: a tie,
    # won by the lower candidate index (the village created first).
    assert [(p.village_id, p.children_newly_served) for p in result.picks] == [(near_edge.id, 9)]


def test_communes_of_points_agree_with_places_unit_at(lai_chau):
    """The set-based commune lookup of planner's points gives places_unit_at's answers,
    including points on a shared boundary, outside the province and in another province."""
    from places.selectors import unit_ids_at
    from planning.siting import _communes_of

    units = list(AdminUnit.objects.filter(level="commune", valid_to__isnull=True).order_by("code")[:6])
    points = [u.geom.point_on_surface for u in units]
    # Vertices of commune boundaries: on the edge of (usually) two communes.
    for u in units[:4]:
        ring = u.geom[0][0]
        points += [Point(*ring[k], srid=4326) for k in (0, len(ring) // 3, len(ring) // 2)]
    points += [Point(105.85, 21.03, srid=4326), Point(LON, LAT, srid=4326), Point(0, 0, srid=4326)]
    for p in points:
        p.srid = 4326
    ours = _communes_of([p.x for p in points], [p.y for p in points])
    assert ours == unit_ids_at(geoms=points)
    assert ours[-3] is None and ours[-2] == AdminUnit.objects.get(code="03478", valid_to=None).id
    assert _communes_of([], []) == []


def test_candidates_as_pairs_or_points_in_any_srid(line):
    from planning.exceptions import PlanningInvalid
    from planning.siting import greedy_sites

    near_v3 = Point(LON + 0.040, LAT, srid=4326)
    near_v3.transform(32648)  # the same place in UTM 48N
    result = greedy_sites(budget=2, candidates=[(LON + 0.004, LAT), near_v3])
    assert [(p.candidate_index, p.children_newly_served) for p in result.picks] == [(1, 25), (0, 20)]
    assert result.picks[0].lon == pytest.approx(LON + 0.040)
    for bad in [(float("nan"), LAT), (LON,), ("east", LAT), (LON, 95)]:
        with pytest.raises(PlanningInvalid) as exc:
            greedy_sites(budget=1, candidates=[(LON, LAT), bad])
        assert list(exc.value.errors) == ["candidates[1]"]


def test_no_candidate_points_places_nothing(line):
    from planning.siting import greedy_sites

    with translation.override("en"):
        result = greedy_sites(budget=3, candidates=[])
    assert result.picks == [] and result.candidates == 0
    assert result.stop_reason == "no candidate to choose from"
    assert (result.served_before, result.served_after) == (0, 0)


def test_page_with_no_villages_or_playgrounds(client, user, lai_chau):
    client.force_login(user)
    response = client.get(PAGE, {"layer": "score"})
    assert response.status_code == 200
    data = map_data(response.content.decode())
    assert len(data["values"]) == 38 and all(v["unserved"] == 0 for v in data["values"].values())
    # Only the reference flag of extremely difficult communes (weight 0.25) is left to score.
    assert {v["score"] for v in data["values"].values()} <= {0, 0.25}
    run = client.post(PAGE, {"budget": "3", "candidates": "villages"})
    assert run.status_code == 200
    assert map_data(run.content.decode())["siting"] == {"picks": [], "villages": []}
