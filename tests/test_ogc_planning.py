"""The planning collection of the OGC API (`planning-priority`): the same ranking as
/api/v1/planning/priority/ for the same reader, only for readers who may plan, scoped like the
planning page; and every link /collections advertises resolves."""

import pytest
from django.contrib.gis.geos import Point

from inspections.models import Agency, Profile, Role
from places.models import AdminUnit
from places.services import site_create
from planning.priority import DEFAULT_WEIGHTS

URL = "/ogcapi/collections/planning-priority"
GEOJSON = "application/geo+json"


@pytest.fixture
def villages(lai_chau):
    """A playground and three villages in Sìn Hồ; villages in two other communes."""
    lon, lat = 103.2411, 22.3606
    site_create(
        kind="playground", name="Sân chơi", geom=Point(lon, lat, srid=4326), attributes={"access": "public"}
    )
    for i, (dx, dy, children) in enumerate([(0.005, 0, 10), (0.012, 0, 20), (0, 0.003, 40)]):
        site_create(
            kind="village",
            name=f"Bản {i}",
            geom=Point(lon + dx, lat + dy, srid=4326),
            attributes={"child_count": children},
        )
    others = AdminUnit.objects.filter(level="commune", valid_to__isnull=True).exclude(code="03478")[:2]
    for unit in others:
        point = unit.geom.point_on_surface
        site_create(kind="village", name=f"Bản {unit.code}", geom=point, attributes={"child_count": 55})


def person(django_user_model, name, **profile):
    account = django_user_model.objects.create_user(name, password="x")
    if profile:
        Profile.objects.create(user=account, **profile)
    return account


def get(client, url, status=200):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == status, (url, response.content[:300])
    return response.json()


def test_hidden_from_readers_who_do_not_plan(villages, client, django_user_model):
    inspector = person(django_user_model, "insp", role=Role.INSPECTOR, agency=Agency.objects.first())
    for who in (None, inspector):
        if who:
            client.force_login(who)
        listed = [c["id"] for c in get(client, "/ogcapi/collections")["collections"]]
        assert "planning-priority" not in listed and "sites" in listed
        for url in (URL, f"{URL}/items", f"{URL}/items?limit=1", f"{URL}/items/1"):
            body = get(client, url, 404)
            assert "planning-priority" in str(body)
        assert client.get("/tiles/planning-priority/8/201/111.pbf").status_code == 404


def test_same_ranking_as_the_planning_api(villages, client, django_user_model):
    planner = person(django_user_model, "planner", role=Role.PLANNER)
    client.force_login(planner)
    listed = {c["id"]: c for c in get(client, "/ogcapi/collections")["collections"]}
    meta = listed["planning-priority"]
    assert not any(link["rel"] == "describedby" for link in meta["links"])  # not a tile layer
    assert meta["extent"]["spatial"]["bbox"][0][0] == pytest.approx(102.2, abs=0.3)

    api = get(client, "/api/v1/planning/priority/")
    page = get(client, f"{URL}/items?limit=1000")
    assert page["numberMatched"] == page["numberReturned"] == len(api["rows"]) == 38
    assert [f["id"] for f in page["features"]] == [r["commune_id"] for r in api["rows"]]
    for feature, row in zip(page["features"], api["rows"], strict=True):
        props = feature["properties"]
        assert feature["geometry"]["type"] == "MultiPolygon"
        assert props["code"] == row["code"] and props["rank"] == row["rank"]
        assert props["score"] == pytest.approx(row["score"], abs=1e-4)
        assert props["method"] == api["method"] == "straight line"
        assert props["incidents"] == row["incidents"]
        assert props["incidents_hidden"] == (row["incidents"] is None)
        assert props["children_unserved"] == row["access"]["children_unserved"]
        for name in DEFAULT_WEIGHTS:
            part = row["components"][name]
            assert props[f"{name}_value"] == part["raw"]
            assert props[f"{name}_weight"] == pytest.approx(part["weight"], abs=1e-4)
            assert props[f"{name}_contribution"] == pytest.approx(part["contribution"], abs=1e-4)
    # Sìn Hồ: 70 children in villages, 20 beyond 1,000 m of the playground.
    sin_ho = next(f for f in page["features"] if f["properties"]["code"] == "03478")
    assert sin_ho["properties"]["children_in_villages"] == 70
    assert sin_ho["properties"]["children_unserved"] == 20
    # Paging, a box, a single feature, and the bad parameters.
    second = get(client, f"{URL}/items?limit=5&offset=5")
    assert [f["id"] for f in second["features"]] == [r["commune_id"] for r in api["rows"][5:10]]
    assert any(link["rel"] == "next" for link in second["links"])
    boxed = get(client, f"{URL}/items?bbox=103.23,22.35,103.25,22.37")
    assert "03478" in [f["properties"]["code"] for f in boxed["features"]]
    assert boxed["numberMatched"] < 38
    one = get(client, f"{URL}/items/{sin_ho['id']}")
    assert one["properties"] == sin_ho["properties"]
    bad = get(client, f"{URL}/items?datetime=2025-01-01", 400)
    assert "datetime" in str(bad)


def test_area_leader_sees_only_his_communes(villages, client, django_user_model):
    commune = AdminUnit.objects.get(code="03478", valid_to__isnull=True)
    leader = person(django_user_model, "lead", role=Role.AREA_LEADER, area=commune)
    client.force_login(leader)
    page = get(client, f"{URL}/items")
    assert [f["properties"]["code"] for f in page["features"]] == ["03478"]
    other = AdminUnit.objects.filter(level="commune", valid_to__isnull=True).exclude(pk=commune.pk).first()
    get(client, f"{URL}/items/{other.pk}", 404)
    get(client, f"{URL}/items/{commune.pk}")


def test_every_advertised_link_resolves(villages, client, user):
    """Each link of /collections (self, items, TileJSON where a layer is tiled) answers 200."""
    client.force_login(user)  # the coordinator sees every collection
    listed = get(client, "/ogcapi/collections")["collections"]
    assert "planning-priority" in [c["id"] for c in listed]
    for meta in listed:
        for link in meta["links"]:
            path = link["href"].split("://", 1)[1].split("/", 1)[1]
            response = client.get("/" + path)
            assert response.status_code == 200, (meta["id"], link)
