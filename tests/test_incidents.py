"""incidents: privacy by role, retries, resolution of communes and linked sites, and
public aggregates whose hidden counts cannot be worked back out."""

import json
from datetime import date, timedelta

import pytest
from django.contrib.gis.geos import Point

from incidents.models import Incident
from incidents.services import IncidentInvalid, incident_record
from inspections.models import Agency, Profile, Role
from places.models import AdminUnit, CrosswalkLink
from places.selectors import unit_at
from places.services import site_create

CITY = (103.4571, 22.3964)
SIN_HO = (103.2411, 22.3606)


def record(**kw):
    base = {
        "kind": "drowning",
        "day": date(2024, 6, 10),
        "age_band": "10-14",
        "sex": "male",
        "outcome": "fatal",
        "source": "Phòng LĐ-TB&XH huyện Sìn Hồ",
    }
    return incident_record(**{**base, **kw}).incident


@pytest.fixture
def people(lai_chau, django_user_model):
    def person(name, role, agency=None, area=None):
        user = django_user_model.objects.create_user(name, password="pw-" + name)
        Profile.objects.create(user=user, role=role, agency=agency, area=area)
        return user

    city = unit_at(geom=Point(*CITY, srid=4326))
    sin_ho = unit_at(geom=Point(*SIN_HO, srid=4326))
    return {
        "coordinator": person("coord", Role.COORDINATOR, Agency.objects.get(code="so-lao-dong-tbxh")),
        "city_leader": person("cityl", Role.AREA_LEADER, area=city),
        "sinho_leader": person("sinhol", Role.AREA_LEADER, area=sin_ho),
        "sinho_district_leader": person(
            "sinhod",
            Role.AREA_LEADER,
            area=unit_at(geom=Point(*SIN_HO, srid=4326), on=date(2025, 6, 30), level="district"),
        ),
        "inspector": person("insp", Role.INSPECTOR, Agency.objects.get(code="so-xay-dung")),
        "planner": person("plan", Role.PLANNER),
    }


def test_communes_resolved_from_the_point_or_restated_from_the_code(lai_chau):
    at_point = record(location=Point(*SIN_HO, srid=4326))
    assert at_point.commune.valid_to == date(2025, 6, 30)  # in force on the incident's date
    assert at_point.current_commune == unit_at(geom=Point(*SIN_HO, srid=4326))
    assert CrosswalkLink.objects.get(old_unit=at_point.commune).new_unit == at_point.current_commune
    old_code = CrosswalkLink.objects.filter(new_unit=at_point.current_commune).first().old_unit.code
    by_code = record(commune_code=old_code, reference="BC-2")
    assert by_code.location is None and by_code.commune.code == old_code
    assert by_code.current_commune == at_point.current_commune
    after = record(commune_code=at_point.current_commune.code, day=date(2025, 8, 1), reference="BC-3")
    assert after.commune == after.current_commune == at_point.current_commune


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "sea"}, "kind"),
        ({"age_band": "18-25"}, "age_band"),
        ({"day": date.today() + timedelta(days=3)}, "date"),
        ({"circumstances": "Cháu tên là Lò Văn A bị ngã"}, "circumstances"),
        ({"circumstances": "Gọi bố cháu số 0912345678"}, "circumstances"),
        ({"circumstances": "Cháu sinh năm 2015, đuối nước"}, "circumstances"),
        ({"location": Point(105.85, 21.03, srid=4326)}, "location"),
        ({"commune_code": "99999"}, "commune"),
        ({}, "commune"),
        ({"source": " "}, "source"),
    ],
)
def test_refused_records_name_the_field(lai_chau, changes, field):
    with pytest.raises(IncidentInvalid) as exc:
        record(**changes)
    assert field in exc.value.errors
    assert not Incident.objects.exists()


def test_linked_site_is_the_nearest_matching_site_within_300_m(lai_chau, user):
    pond = site_create(
        kind="drowning_hotspot",
        name="Ao",
        geom=Point(103.4600, 22.4000, srid=4326),
        attributes={"water_type": "pond"},
    )
    site_create(
        kind="construction_site",
        name="CT",
        geom=Point(103.4601, 22.4000, srid=4326),
        attributes={"permit_number": "1", "contractor": "A"},
    )
    near = record(location=Point(103.4620, 22.4000, srid=4326), reference="1")  # ~206 m east
    assert near.linked_site == pond and not near.linked_site_manual
    far = record(location=Point(103.4640, 22.4000, srid=4326), reference="2")  # ~412 m
    assert far.linked_site is None
    fall = record(kind="fall", location=Point(103.4610, 22.4000, srid=4326), reference="3")
    assert fall.linked_site.kind == "construction_site"  # a fall links to a construction site, not a pond


def test_retries_never_duplicate(lai_chau, client, people):
    client.force_login(people["coordinator"])
    body = {
        "kind": "traffic",
        "date": "2024-09-05",
        "location": {"lon": CITY[0], "lat": CITY[1]},
        "age_band": "5-9",
        "sex": "female",
        "outcome": "hospitalised",
        "source": "Công an tỉnh",
        "reference": "CA-2024-117",
    }
    first = client.post("/api/v1/incidents/", json.dumps(body), content_type="application/json")
    assert first.status_code == 201, first.content
    again = client.post("/api/v1/incidents/", json.dumps(body), content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Incident.objects.count() == 1


def test_each_role_sees_what_it_may(lai_chau, client, people):
    city = record(location=Point(*CITY, srid=4326), reference="c1")
    sinho = record(location=Point(*SIN_HO, srid=4326), reference="s1")
    expectations = {
        "coordinator": {city.pk, sinho.pk},
        "city_leader": {city.pk},
        "sinho_leader": {sinho.pk},
        "sinho_district_leader": {sinho.pk},
    }
    for name, visible in expectations.items():
        client.force_login(people[name])
        listed = {i["id"] for i in client.get("/api/v1/incidents/").json()["results"]}
        assert listed == visible, name
        for incident in (city, sinho):
            status = client.get(f"/api/v1/incidents/{incident.pk}/").status_code
            assert status == (200 if incident.pk in visible else 404), (name, incident)
    for name in ("inspector", "planner"):
        client.force_login(people[name])
        assert client.get("/api/v1/incidents/").status_code == 403
        assert client.get(f"/api/v1/incidents/{city.pk}/").status_code == 403
        assert client.get("/api/v1/incidents/aggregates/").status_code == 200
    client.logout()
    assert client.get("/api/v1/incidents/").status_code in (401, 403)
    body = client.get("/api/v1/incidents/aggregates/").json()
    assert "location" not in json.dumps(body)


def _published_lines_with_one_hidden(body) -> list[str]:
    """A line (row or column) with a published total and exactly one hidden cell leaks that cell."""
    leaks = []
    columns = [c["value"] for c in body["columns"]]
    for row in body["rows"]:
        hidden = [v for v in columns if row["cells"][v] is None]
        if row["total"] is not None and len(hidden) == 1:
            leaks.append(row["code"])
    for v in columns:
        hidden = [r["code"] for r in body["rows"] if r["cells"][v] is None]
        if body["column_totals"][v] is not None and len(hidden) == 1:
            leaks.append(v)
    return leaks


def test_public_aggregates_hide_small_counts_and_cannot_be_worked_back(lai_chau, client, people):
    # Sìn Hồ: 7 drownings and 1 traffic incident; the city: 6 drownings and 2 falls.
    n = 0
    for point, kind, count in (
        (SIN_HO, "drowning", 7),
        (SIN_HO, "traffic", 1),
        (CITY, "drowning", 6),
        (CITY, "fall", 2),
    ):
        for _ in range(count):
            n += 1
            record(kind=kind, location=Point(*point, srid=4326), reference=f"r{n}")
    public = client.get("/api/v1/incidents/aggregates/", {"level": "commune", "by": "kind"}).json()
    assert public["suppressed"] is True
    rows = {r["code"]: r for r in public["rows"]}
    sinho_code = unit_at(geom=Point(*SIN_HO, srid=4326)).code
    city_code = unit_at(geom=Point(*CITY, srid=4326)).code
    assert rows[sinho_code]["cells"]["traffic"] is None and rows[city_code]["cells"]["fall"] is None
    assert not _published_lines_with_one_hidden(public)
    # Every published number is true.
    client.force_login(people["coordinator"])
    raw = client.get("/api/v1/incidents/aggregates/", {"level": "commune", "by": "kind"}).json()
    assert raw["suppressed"] is False and raw["total"] == 16
    raw_rows = {r["code"]: r for r in raw["rows"]}
    assert raw_rows[sinho_code]["cells"] == {**raw_rows[sinho_code]["cells"], "drowning": 7, "traffic": 1}
    for code, row in rows.items():
        for value, shown in row["cells"].items():
            assert shown is None or shown == raw_rows[code]["cells"][value]
        assert row["total"] is None or row["total"] == raw_rows[code]["total"]
    assert public["total"] in (None, 16)


def test_district_level_and_bad_parameters(lai_chau, client):
    record(location=Point(*SIN_HO, srid=4326), reference="a")
    record(location=Point(*SIN_HO, srid=4326), day=date(2025, 9, 1), reference="b")
    body = client.get("/api/v1/incidents/aggregates/", {"level": "district", "by": "outcome"}).json()
    assert any(r["code"] == "_none" for r in body["rows"])  # the 2025-09 incident has no district
    assert len([r for r in body["rows"] if r["code"] != "_none"]) == 8
    for params, name in (
        ({"level": "village"}, "level"),
        ({"by": "name"}, "by"),
        ({"from": "2024-13-01"}, "from"),
        ({"kind": "sea"}, "kind"),
        ({"colour": "x"}, "colour"),
    ):
        response = client.get("/api/v1/incidents/aggregates/", params)
        assert response.status_code == 400 and name in response.json()


def test_no_field_can_hold_a_childs_identity():
    names = {f.name for f in Incident._meta.get_fields()}
    for forbidden in (
        "name",
        "full_name",
        "birth_date",
        "date_of_birth",
        "address",
        "phone",
        "id_number",
        "age",
    ):
        assert forbidden not in names
    assert AdminUnit  # the units are the only places an incident points to


def test_hotspot_api_suggests_and_confirms_in_one_click(lai_chau, client, people):
    for n, dx in enumerate((0.0, 0.001, 0.002)):  # ~100 m apart, no registered hotspot nearby
        record(
            location=Point(SIN_HO[0] + dx, SIN_HO[1], srid=4326),
            day=date(2025, 6, 1) + timedelta(days=40 * n),
            reference=f"h{n}",
        )
    client.force_login(people["planner"])
    assert client.get("/api/v1/incidents/hotspots/").status_code == 403
    client.force_login(people["sinho_leader"])
    suggested = client.get("/api/v1/incidents/hotspots/", {"suggested": "true"}).json()
    assert len(suggested) == 1 and suggested[0]["count"] == 3
    assert client.get("/api/v1/incidents/hotspots/", {"eps_m": "abc"}).status_code == 400
    cluster = suggested[0]["id"]
    response = client.post(
        f"/api/v1/incidents/hotspots/{cluster}/confirm/",
        json.dumps({"name": "Suối Nậm Ma", "water_type": "stream"}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "drowning_hotspot" and response.json()["agency"].startswith("ubnd-xa-")
    assert Incident.objects.filter(linked_site_id=response.json()["site"]).count() == 3
    assert client.get("/api/v1/incidents/hotspots/", {"suggested": "true"}).json() == []


def test_routes_near_water_flag(lai_chau, client, people, user):
    from django.contrib.gis.geos import LineString

    site_create(
        kind="drowning_hotspot",
        name="Ao",
        geom=Point(103.4600, 22.4000, srid=4326),
        attributes={"water_type": "pond"},
    )
    near = site_create(
        kind="school_route",
        name="Tuyến gần ao",
        attributes={"school": "TH A"},
        geom=LineString((103.4500, 22.4005), (103.4700, 22.4005), srid=4326),
    )  # ~55 m north
    site_create(
        kind="school_route",
        name="Tuyến xa",
        attributes={"school": "TH B"},
        geom=LineString((103.4500, 22.4030), (103.4700, 22.4030), srid=4326),
    )  # ~330 m
    client.force_login(user)
    flagged = client.get("/api/v1/incidents/routes-near-water/").json()
    assert [r["route_id"] for r in flagged] == [near.pk]
    assert 50 < flagged[0]["min_distance_m"] < 60
    assert client.get("/api/v1/incidents/routes-near-water/", {"distance_m": "0"}).status_code == 400
