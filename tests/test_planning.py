"""Planning: play-area access, investment priority and greedy siting on constructed
geography whose answers are known.

Around lon 103.2411, lat 22.3606 (Xã Sìn Hồ) one degree of longitude is 103,000 m on
the WGS 84 spheroid and one degree of latitude 110,735 m.
"""

import json
from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.utils import translation

from incidents.services import incident_record
from places.models import AdminUnit, Site, UnitStatistic
from places.selectors import today
from places.services import site_create
from planning.access import METHOD, commune_access, village_access
from planning.exceptions import PlanningInvalid
from planning.priority import DEFAULT_WEIGHTS, clean_weights, commune_priority
from planning.siting import greedy_sites

LON, LAT = 103.2411, 22.3606
M_PER_DEG_LON = 103_000.5
M_PER_DEG_LAT = 110_735.0
YEAR = 2099


def village(lon, lat, children, name="Bản"):
    return site_create(
        kind="village", name=name, geom=Point(lon, lat, srid=4326), attributes={"child_count": children}
    )


def playground(geom, name="Sân chơi", status="active"):
    if isinstance(geom, tuple):
        geom = Point(*geom, srid=4326)
    return site_create(
        kind="playground", name=name, geom=geom, status=status, attributes={"access": "public"}
    )


def stats(unit, **values):
    for indicator, value in values.items():
        UnitStatistic.objects.create(unit=unit, year=YEAR, indicator=indicator, value=value, source="test")


@pytest.fixture
def sin_ho(lai_chau):
    return AdminUnit.objects.get(code="03478", valid_to__isnull=True)


@pytest.fixture
def access_map(sin_ho):
    """One playground, three villages: 515 m east, 1,236 m east, 332 m north."""
    pg = playground((LON, LAT))
    v1 = village(LON + 0.005, LAT, 10, "V1")
    v2 = village(LON + 0.012, LAT, 20, "V2")
    v3 = village(LON, LAT + 0.003, 40, "V3")
    for site in (pg, v1, v2, v3):
        assert site.commune_id == sin_ho.id
    return pg, v1, v2, v3


# --- access ---------------------------------------------------------------------------


def test_village_distances_in_metres(access_map):
    pg, v1, v2, v3 = access_map
    rows = {r.village_id: r for r in village_access(threshold_m=1000)}
    assert rows[v1.id].distance_m == pytest.approx(0.005 * M_PER_DEG_LON, abs=3)
    assert rows[v2.id].distance_m == pytest.approx(0.012 * M_PER_DEG_LON, abs=3)
    assert rows[v3.id].distance_m == pytest.approx(0.003 * M_PER_DEG_LAT, abs=3)
    assert {r.nearest_playground_id for r in rows.values()} == {pg.id}
    assert [rows[v.id].served for v in (v1, v2, v3)] == [True, False, True]
    assert all(r.method == METHOD == "straight line" for r in rows.values())


def test_nearest_of_several_and_closed_or_polygon_playgrounds(access_map):
    pg, v1, v2, v3 = access_map
    # A closed playground right at V2 does not count; an active polygon 1 lon-step away does.
    playground((LON + 0.012, LAT), status="closed")
    d = 0.0005
    square = Polygon.from_bbox((LON + 0.013 - d, LAT - d, LON + 0.013 + d, LAT + d))
    square.srid = 4326
    near = playground(square)
    rows = {r.village_id: r for r in village_access()}
    assert rows[v2.id].nearest_playground_id == near.id
    # To the polygon's western edge: 0.0005° of longitude.
    assert rows[v2.id].distance_m == pytest.approx(0.0005 * M_PER_DEG_LON, abs=3)
    assert rows[v1.id].nearest_playground_id == pg.id


def test_no_playground_means_unserved_with_no_distance(sin_ho):
    v = village(LON, LAT, 5)
    (row,) = village_access()
    assert (row.village_id, row.distance_m, row.nearest_playground_id, row.served) == (
        v.id,
        None,
        None,
        False,
    )
    by_code = {c.code: c for c in commune_access()}
    assert by_code["03478"].children_unserved == 5
    assert by_code["03478"].playgrounds_per_1000_children == 0


def test_village_access_scoped_to_given_querysets(access_map):
    pg, v1, v2, v3 = access_map
    rows = village_access(villages=Site.objects.filter(pk=v1.pk), playgrounds=Site.objects.none())
    assert [(r.village_id, r.served) for r in rows] == [(v1.id, False)]


@pytest.mark.parametrize(
    ("threshold", "served", "unserved"),
    [(500, 40, 30), (1000, 50, 20), (2000, 70, 0)],
)
def test_commune_counts_at_thresholds(access_map, threshold, served, unserved):
    rows = commune_access(threshold_m=threshold)
    assert len(rows) == 38  # every commune in force today, zeros included
    by_code = {r.code: r for r in rows}
    c = by_code["03478"]
    assert (c.villages, c.children, c.children_served, c.children_unserved) == (3, 70, served, unserved)
    assert c.share_served == pytest.approx(served / 70)
    assert c.playgrounds == 1
    assert c.playgrounds_per_1000_children == pytest.approx(1000 / 70)
    assert c.method == "straight line" and c.threshold_m == threshold
    other = next(r for r in rows if r.code != "03478")
    assert (other.children, other.share_served, other.playgrounds_per_1000_children) == (0, None, None)


@pytest.mark.parametrize("bad", [-1, "far", float("nan"), float("inf")])
def test_invalid_threshold_names_the_parameter(lai_chau, bad):
    with pytest.raises(PlanningInvalid) as exc:
        commune_access(threshold_m=bad)
    assert list(exc.value.errors) == ["threshold_m"]
    assert exc.value.status == 400


# --- priority -------------------------------------------------------------------------


def _inside(unit, lon, lat):
    site_point = Point(lon, lat, srid=4326)
    assert unit.geom.contains(site_point), unit
    return lon, lat


@pytest.fixture
def three_communes(lai_chau):
    """A: 30 children unserved, no playground, extremely difficult, poverty 50 %, no incidents.
    B: 100 children served by 1 playground, poverty 10 %, 3 incidents per 1,000 children.
    C: 15 children 1.5 km from its 1 playground, poverty 90 %, 1 incident per 500 children."""
    units = list(AdminUnit.objects.filter(level="commune", valid_to__isnull=True).order_by("code")[:3])
    a, b, c = units
    pa, pb, pc = (u.geom.point_on_surface for u in units)
    village(*_inside(a, pa.x, pa.y), 30, "A1")
    village(*_inside(b, pb.x, pb.y), 100, "B1")
    playground(_inside(b, pb.x + 0.001, pb.y))
    village(*_inside(c, pc.x, pc.y), 15, "C1")
    playground(_inside(c, pc.x + 0.015, pc.y))
    stats(a, extremely_difficult=1, poverty_rate=50, children_0_15=2000)
    stats(b, extremely_difficult=0, poverty_rate=10, children_0_15=1000)
    stats(c, extremely_difficult=0, poverty_rate=90, children_0_15=500)
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
    # An incident older than 5 years does not count.
    incident_record(
        kind="drowning",
        day=today() - timedelta(days=6 * 366),
        age_band="5-9",
        sex="male",
        outcome="minor",
        source="test",
        reference="old",
        location=Point(pa.x, pa.y, srid=4326),
    )
    return a, b, c


def test_priority_components_and_contributions(three_communes):
    a, b, c = three_communes
    rows = {r.code: r for r in commune_priority(year=YEAR)}
    ra, rb, rc = rows[a.code], rows[b.code], rows[c.code]
    expected_raw = {
        a.code: {"unserved": 30, "extremely_difficult": 1, "poverty": 50, "incidents": 0, "playgrounds": 0},
        b.code: {"unserved": 0, "extremely_difficult": 0, "poverty": 10, "incidents": 30, "playgrounds": 10},
        c.code: {
            "unserved": 15,
            "extremely_difficult": 0,
            "poverty": 90,
            "incidents": 20,
            "playgrounds": 1000 / 15,
        },
    }
    expected_norm = {
        a.code: {"unserved": 1, "extremely_difficult": 1, "poverty": 0.5, "incidents": 0, "playgrounds": 1},
        b.code: {"unserved": 0, "extremely_difficult": 0, "poverty": 0, "incidents": 1, "playgrounds": 0.85},
        c.code: {
            "unserved": 0.5,
            "extremely_difficult": 0,
            "poverty": 1,
            "incidents": 2 / 3,
            "playgrounds": 0,
        },
    }
    for row in (ra, rb, rc):
        assert row.missing == []
        for name, comp in row.components.items():
            assert comp.raw == pytest.approx(expected_raw[row.code][name]), (row.code, name)
            assert comp.normalised == pytest.approx(expected_norm[row.code][name]), (row.code, name)
            assert comp.weight == pytest.approx(DEFAULT_WEIGHTS[name])
            assert comp.contribution == pytest.approx(DEFAULT_WEIGHTS[name] * comp.normalised)
        assert row.score == pytest.approx(sum(c.contribution for c in row.components.values()))
    assert ra.score == pytest.approx(0.775)
    assert rc.score == pytest.approx(0.425)
    assert rb.score == pytest.approx(0.235)
    assert [ra.rank, rc.rank, rb.rank] == [1, 2, 3]
    assert ra.years == {"extremely_difficult": YEAR, "poverty_rate": YEAR, "children_0_15": YEAR}


def test_missing_statistics_are_flagged_and_contribute_nothing(three_communes):
    rows = commune_priority(year=YEAR)
    others = rows[3:]
    assert len(others) == 35
    for row in others:
        assert row.score == 0
        assert row.missing == ["extremely_difficult", "poverty", "incidents", "playgrounds"]
        assert row.components["poverty"].raw is None and row.components["poverty"].contribution == 0
    # All tied at 0: ordered by commune code.
    assert [r.code for r in others] == sorted(r.code for r in others)
    assert [r.rank for r in others] == list(range(4, 39))


def test_changing_weights_reorders_predictably(three_communes):
    a, b, c = three_communes
    top3 = [r.code for r in commune_priority(year=YEAR)[:3]]
    assert top3 == [a.code, c.code, b.code]
    zero = dict.fromkeys(DEFAULT_WEIGHTS, 0)
    by_poverty = [r.code for r in commune_priority(year=YEAR, weights={**zero, "poverty": 3})[:3]]
    assert by_poverty == [c.code, a.code, b.code]
    by_incidents = commune_priority(year=YEAR, weights={**zero, "incidents": 1})
    assert [r.code for r in by_incidents[:3]] == [b.code, c.code, a.code]
    assert by_incidents[0].components["incidents"].weight == 1
    # Overrides are by name; the rest keep their defaults and all are rescaled to sum 1.
    assert clean_weights({"poverty": 0.4}) == pytest.approx(
        {k: v / 1.25 for k, v in {**DEFAULT_WEIGHTS, "poverty": 0.4}.items()}
    )


@pytest.mark.parametrize(
    ("weights", "key"),
    [
        ({"poverty": -0.1}, "weights.poverty"),
        ({"incidents": float("nan")}, "weights.incidents"),
        ({"unserved": float("inf")}, "weights.unserved"),
        ({"playgrounds": "lots"}, "weights.playgrounds"),
        ({"beauty": 1}, "weights.beauty"),
        (dict.fromkeys(DEFAULT_WEIGHTS, 0), "weights"),
    ],
)
def test_invalid_weights_name_the_weight(lai_chau, weights, key):
    with pytest.raises(PlanningInvalid) as exc:
        commune_priority(weights=weights, year=YEAR)
    assert list(exc.value.errors) == [key]
    assert exc.value.status == 400


# --- siting ---------------------------------------------------------------------------


@pytest.fixture
def line_of_villages(sin_ho):
    """V0, V1, V2 at 0, 824, 1,648 m east (10 children each), V3 4.1 km east (25). No playground."""
    vs = [
        village(LON + dx * 0.001, LAT, n, f"V{i}")
        for i, (dx, n) in enumerate([(0, 10), (8, 10), (16, 10), (40, 25)])
    ]
    assert {v.commune_id for v in vs} == {sin_ho.id}
    return vs


def test_greedy_picks_the_middle_village_then_the_far_one(line_of_villages):
    v0, v1, v2, v3 = line_of_villages
    result = greedy_sites(budget=2)
    assert [(p.village_id, p.children_newly_served) for p in result.picks] == [(v1.id, 30), (v3.id, 25)]
    assert [p.cumulative_children_newly_served for p in result.picks] == [30, 55]
    assert [p.villages_newly_served for p in result.picks] == [3, 1]
    assert {p.commune_code for p in result.picks} == {"03478"}
    assert (result.children, result.served_before, result.served_after) == (55, 0, 55)
    assert result.method == "straight line"
    commune = next(c for c in result.communes if c.code == "03478")
    assert (commune.children, commune.served_before, commune.served_after) == (55, 0, 55)


@translation.override("en")
def test_greedy_budget_larger_than_what_can_be_served(line_of_villages):
    result = greedy_sites(budget=10)
    assert len(result.picks) == 2
    assert "only 2 of 10" in result.stop_reason
    one = greedy_sites(budget=1)
    assert len(one.picks) == 1 and "budget used" in one.stop_reason


def test_greedy_counts_only_villages_not_yet_served(line_of_villages):
    v0, v1, v2, v3 = line_of_villages
    playground((LON + 0.040, LAT))  # serves V3 already
    result = greedy_sites(budget=5)
    assert [p.village_id for p in result.picks] == [v1.id]
    assert (result.served_before, result.served_after) == (25, 55)


def test_greedy_tie_goes_to_the_lowest_candidate_index(line_of_villages):
    far_a = Point(LON + 0.040, LAT, srid=4326)
    far_b = Point(LON + 0.041, LAT, srid=4326)
    for candidates in ([far_a, far_b], [far_b, far_a]):
        result = greedy_sites(budget=1, candidates=candidates)
        assert [(p.candidate_index, p.children_newly_served) for p in result.picks] == [(0, 25)]
        assert result.picks[0].lon == pytest.approx(candidates[0].x)


def test_greedy_with_planner_points_and_a_short_threshold(line_of_villages):
    between = Point(LON + 0.004, LAT, srid=4326)  # 412 m from V0 and from V1
    result = greedy_sites(budget=3, candidates=[between], threshold_m=500)
    assert [(p.candidate_index, p.children_newly_served) for p in result.picks] == [(0, 20)]
    assert result.picks[0].village_id is None and result.candidates == 1


def test_greedy_only_in_extremely_difficult_communes(three_communes):
    a, b, c = three_communes  # only A is flagged extremely difficult in YEAR
    pa, pc = a.geom.point_on_surface, c.geom.point_on_surface
    cands = [Point(pc.x, pc.y, srid=4326), Point(pa.x, pa.y, srid=4326)]
    anywhere = greedy_sites(budget=1, candidates=cands, year=YEAR)
    assert [(p.candidate_index, p.commune_code) for p in anywhere.picks] == [(1, a.code)]  # 30 > 15
    cands.reverse()
    only_ed = greedy_sites(budget=2, candidates=cands, only_extremely_difficult=True, year=YEAR)
    assert [(p.candidate_index, p.commune_code, p.children_newly_served) for p in only_ed.picks] == [
        (0, a.code, 30)
    ]
    assert only_ed.candidates == 1
    by_code = {r.code: r for r in only_ed.communes}
    assert (by_code[a.code].served_before, by_code[a.code].served_after) == (0, 30)
    assert (by_code[c.code].served_before, by_code[c.code].served_after) == (0, 0)
    none_ed = greedy_sites(budget=2, candidates=[cands[1]], only_extremely_difficult=True, year=YEAR)
    assert none_ed.picks == [] and none_ed.candidates == 0


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"budget": -1}, "budget"),
        ({"budget": 1.5}, "budget"),
        ({"budget": 1, "candidates": [Point(0, 0, srid=4326)]}, "candidates[0]"),
        ({"budget": 1, "candidates": ["here"]}, "candidates[0]"),
        ({"budget": 1, "threshold_m": -5}, "threshold_m"),
    ],
)
def test_greedy_invalid_input_names_the_field(lai_chau, kwargs, key):
    with pytest.raises(PlanningInvalid) as exc:
        greedy_sites(**kwargs)
    assert list(exc.value.errors) == [key]


# --- the API -----------------------------------------------------------------------------------


def test_planning_api(client, user, access_map, line_of_villages):
    assert client.get("/api/v1/planning/access/").status_code in (401, 403)
    client.force_login(user)
    body = client.get("/api/v1/planning/access/", {"threshold_m": 1000}).json()
    assert body["method"] == "straight line"
    row = next(r for r in body["communes"] if r["code"] == "03478")
    assert row["villages"] >= 3 and row["children"] >= 70
    ranked = client.get("/api/v1/planning/priority/", {"w_poverty": "2"}).json()["rows"]
    assert ranked[0]["rank"] == 1 and "components" in ranked[0]
    picks = client.post(
        "/api/v1/planning/siting/", json.dumps({"budget": 1}), content_type="application/json"
    )
    assert picks.status_code == 200 and len(picks.json()["picks"]) == 1
    for params, name in (({"threshold_m": "far"}, "threshold_m"), ({"w_beauty": "1"}, "w_beauty")):
        response = client.get("/api/v1/planning/priority/", params)
        assert response.status_code == 400 and name in response.json()
    response = client.get("/api/v1/planning/priority/", {"w_poverty": "-1"})
    assert response.status_code == 400 and "weights.poverty" in response.json()
    bad = client.post("/api/v1/planning/siting/", json.dumps({"budget": 0}), content_type="application/json")
    assert bad.status_code == 400 and "budget" in bad.json()
    outside = client.post(
        "/api/v1/planning/siting/",
        json.dumps({"budget": 1, "candidates": [{"lon": 105.85, "lat": 21.03}]}),
        content_type="application/json",
    )
    assert outside.status_code == 400
