"""incidents.hotspots: space-time clusters of incidents (DBSCAN in metres), suggested hotspots,
one-click confirmation as a site, and school routes near water, on constructed examples
whose answers are known."""

import ast
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.geos import GEOSGeometry, LineString, Point, Polygon
from django.db import connection

from incidents.hotspots import (
    SUGGESTED_SOURCE,
    HotspotConflict,
    HotspotForbidden,
    HotspotInvalid,
    HotspotNotFound,
    cluster_id_for,
    hotspot_confirm,
    incident_clusters,
    routes_near_water,
    routes_near_water_for,
    suggested_hotspots,
    window_start,
)
from incidents.models import Incident
from incidents.services import incident_record
from inspections.models import AgencyKind, Profile, Role
from places.models import AdminUnit, Site
from places.selectors import today, unit_at
from places.services import site_create

ROOT = Path(__file__).resolve().parent.parent
CITY = (103.4571, 22.3964)  # Phường Đoàn Kết, 520 m inside its boundary
SIN_HO = (103.24, 22.36)  # Xã Sìn Hồ (Huyện Sìn Hồ until 2025), 630 m inside
BORDER = (103.46, 22.40)  # Phường Đoàn Kết, 61 m from Phường Tân Phong, 360 m from c1
T = today()


def at(base, dx=0.0, dy=0.0) -> Point:
    """`base` (lon, lat) moved dx metres east and dy metres north (in UTM 48N), as lon/lat."""
    p = Point(*base, srid=4326).transform(32648, clone=True)
    moved = Point(p.x + dx, p.y + dy, srid=32648).transform(4326, clone=True)
    return Point(round(moved.x, 9), round(moved.y, 9), srid=4326)


def metres(a: Point, b: Point) -> float:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_Distance(ST_GeomFromEWKB(%s)::geography, ST_GeomFromEWKB(%s)::geography)",
            [bytes(a.ewkb), bytes(b.ewkb)],
        )
        return cur.fetchone()[0]


_refs = iter(range(1, 10_000))


def incident(kind, point, days_ago, **extra) -> Incident:
    return incident_record(
        kind=kind,
        day=T - timedelta(days=days_ago),
        age_band="5-9",
        sex="male",
        outcome="fatal",
        source="test hotspots",
        reference=f"HS-{next(_refs)}",
        location=point,
        **extra,
    ).incident


def hotspot(name, geom, status="active"):
    return site_create(
        kind="drowning_hotspot", name=name, geom=geom, attributes={"water_type": "pond"}, status=status
    )


@pytest.fixture
def world(lai_chau, django_user_model):
    def person(name, role, agency=None, area=None):
        user = django_user_model.objects.create_user(name, password="pw-" + name)
        Profile.objects.create(user=user, role=role, agency=agency, area=area)
        return user

    city = unit_at(geom=Point(*CITY, srid=4326))
    sin_ho = unit_at(geom=Point(*SIN_HO, srid=4326))
    registered = hotspot("Suối Nậm Ma", Point(*SIN_HO, srid=4326))
    school = site_create(kind="school", name="Trường Tiểu học Đoàn Kết", geom=at(CITY, 50, 50))
    w = {"city": city, "sin_ho": sin_ho, "registered": registered, "school": school}
    # One cluster: three drownings within 200 m over two years; no hotspot near (a school is).
    w["c1"] = [
        incident("drowning", at(CITY, 0, 0), 700),
        incident("drowning", at(CITY, 150, 0), 300),
        incident("drowning", at(CITY, 75, 120), 30, linked_site_id=school.id),  # linked by hand
    ]
    # Two traffic accidents at the same place: their own cluster (kinds apart by default).
    w["traffic"] = [incident("traffic", at(CITY, 10, 10), 60), incident("traffic", at(CITY, 20, -10), 90)]
    # Noise: two drownings 2 km apart.
    w["noise"] = [
        incident("drowning", at(CITY, 3000, 0), 100),
        incident("drowning", at(CITY, 3000, 2000), 100),
    ]
    # 250 m apart but five years apart: not a cluster within three years.
    w["old_pair"] = [
        incident("drowning", at(CITY, 0, -3000), 100),
        incident("drowning", at(CITY, 250, -3000), 1830),
    ]
    # A cluster next to a registered hotspot (100 m and 112 m from it): not suggested.
    w["c2"] = [incident("drowning", at(SIN_HO, 100, 0), 200), incident("drowning", at(SIN_HO, -100, 50), 400)]
    w["coordinator"] = person("hs_coordinator", Role.COORDINATOR)
    w["city_leader"] = person("hs_city_leader", Role.AREA_LEADER, area=city)
    w["sin_ho_leader"] = person("hs_sin_ho_leader", Role.AREA_LEADER, area=sin_ho)
    w["inspector"] = person("hs_inspector", Role.INSPECTOR, agency=registered.agency)
    w["planner"] = person("hs_planner", Role.PLANNER)
    return w


def ids(incidents) -> list[int]:
    return sorted(i.id for i in incidents)


def by_members(clusters) -> dict[tuple[int, ...], object]:
    return {tuple(c.incident_ids): c for c in clusters}


# --- clusters ----------------------------------------------------------------------------------------------


def test_clusters_have_exactly_the_expected_members(world):
    clusters = incident_clusters(on=T)
    found = by_members(clusters)
    c1, c2, traffic = ids(world["c1"]), ids(world["c2"]), ids(world["traffic"])
    assert set(found) == {tuple(c1), tuple(c2), tuple(traffic)}
    clustered = {i for c in clusters for i in c.incident_ids}
    assert not clustered & set(ids(world["noise"]) + ids(world["old_pair"]))

    one = found[tuple(c1)]
    assert one.id == cluster_id_for(c1) and one.kind == "drowning" and one.count == 3
    assert one.kinds == {"drowning": 3}
    assert one.first_date == T - timedelta(days=700) and one.last_date == T - timedelta(days=30)
    assert one.commune_ids == [world["city"].id]
    # Centroid of (0,0), (150,0), (75,120) m is (75,40) m; the farthest member is 85 m from it.
    assert metres(Point(*one.centroid, srid=4326), at(CITY, 75, 40)) < 1
    assert one.radius_m == pytest.approx(85.0, abs=1)
    assert one.nearest_site is None and one.suggested  # the school is not a water body
    assert one.site_kinds == ["drowning_hotspot"] and one.confirm_kinds == ["drowning_hotspot"]

    two = found[tuple(c2)]
    assert two.nearest_site.id == world["registered"].id and two.nearest_site.kind == "drowning_hotspot"
    # The hotspot is 100 and 112 m from the members and 25 m from the centroid (0, 25).
    assert two.nearest_site.distance_m == pytest.approx(25, abs=2)
    assert not two.suggested

    road = found[tuple(traffic)]
    assert road.kind == "traffic" and road.site_kinds == ["school_route"]
    assert road.confirm_kinds == [] and not road.suggested  # a route is not confirmed from a cluster


def test_time_window_and_parameters(world):
    old_pair = tuple(ids(world["old_pair"]))
    assert old_pair not in by_members(incident_clusters(on=T, years=3))
    assert old_pair in by_members(incident_clusters(on=T, years=6))
    assert window_start(on=T, years=3) == T - timedelta(days=1096)
    # 100 days ago the last of the first three had not happened: a smaller cluster, another id.
    earlier = by_members(incident_clusters(on=T - timedelta(days=100), kinds=["drowning"]))
    c1 = ids(world["c1"])
    assert tuple(c1[:2]) in earlier and cluster_id_for(c1[:2]) != cluster_id_for(c1)
    # Three incidents at least: only the first cluster is left; 100 m: the 150 m pair splits.
    assert list(by_members(incident_clusters(on=T, min_incidents=3))) == [tuple(c1)]
    tight = by_members(incident_clusters(on=T, eps_m=100, kinds=["drowning"]))
    assert tuple(c1) not in tight
    # The noise pair joins at 2.5 km.
    assert tuple(ids(world["noise"])) in by_members(incident_clusters(on=T, eps_m=2500, kinds=["drowning"]))
    with pytest.raises(HotspotInvalid) as err:
        incident_clusters(eps_m=0, min_incidents=1, years=-1, kinds=["drowning", "bogus"])
    assert set(err.value.errors) == {"eps_m", "min_incidents", "years", "kinds"} and err.value.status == 400


def test_all_kinds_together_and_kind_filter(world):
    mixed = by_members(incident_clusters(on=T, by_kind=False))
    together = tuple(sorted(ids(world["c1"]) + ids(world["traffic"])))
    assert together in mixed
    cluster = mixed[together]
    assert cluster.kinds == {"drowning": 3, "traffic": 2} and cluster.kind == "drowning"
    assert cluster.site_kinds == ["drowning_hotspot", "school_route"]
    only_traffic = incident_clusters(on=T, kinds=["traffic"])
    assert [c.incident_ids for c in only_traffic] == [ids(world["traffic"])]


def test_area_filter_keeps_clusters_touching_the_area(world):
    in_city = by_members(incident_clusters(on=T, area=world["city"]))
    assert set(in_city) == {tuple(ids(world["c1"])), tuple(ids(world["traffic"]))}
    assert list(by_members(incident_clusters(on=T, area=world["sin_ho"]))) == [tuple(ids(world["c2"]))]
    # A unit of before 2025 is matched on its boundary.
    old_district = AdminUnit.objects.get(level="district", geom__covers=Point(*SIN_HO, srid=4326))
    assert list(by_members(incident_clusters(on=T, area=old_district))) == [tuple(ids(world["c2"]))]
    province = AdminUnit.objects.get(level="province")
    assert len(incident_clusters(on=T, area=province)) == 3


def test_a_cluster_across_a_commune_border_is_the_same_for_both_communes(world):
    here = Point(*BORDER, srid=4326)
    with connection.cursor() as cur:  # the mirror image of `here` across the nearest boundary
        cur.execute(
            "SELECT ST_AsEWKB(ST_Affine(ST_ClosestPoint(ST_Boundary(geom), %s),"
            " 2, 0, 0, 2, -ST_X(%s), -ST_Y(%s))) FROM places_adminunit WHERE id = %s",
            [bytes(here.ewkb), bytes(here.ewkb), bytes(here.ewkb), world["city"].id],
        )
        there = GEOSGeometry(memoryview(bytes(cur.fetchone()[0])))
    assert 110 < metres(here, there) < 135
    pair = [incident("drowning", here, 10), incident("drowning", there, 20)]
    neighbour = unit_at(geom=there)
    assert neighbour != world["city"] and {i.current_commune_id for i in pair} == {
        world["city"].id,
        neighbour.id,
    }
    key = tuple(ids(pair))
    for area in (world["city"], neighbour):
        cluster = by_members(incident_clusters(on=T, area=area, eps_m=200))[key]  # c1 is 360 m away
        assert cluster.id == cluster_id_for(key) and cluster.commune_ids == sorted(
            [world["city"].id, neighbour.id]
        )


def test_suggested_hotspots_are_clusters_without_a_matching_site(world):
    assert [c.id for c in suggested_hotspots(on=T)] == [cluster_id_for(ids(world["c1"]))]
    assert suggested_hotspots(on=T, area=world["sin_ho"]) == []
    # A closed hotspot does not count: closing the registered one makes the second cluster a suggestion.
    Site.objects.filter(pk=world["registered"].pk).update(status="closed")
    assert {c.id for c in suggested_hotspots(on=T)} == {
        cluster_id_for(ids(world["c1"])),
        cluster_id_for(ids(world["c2"])),
    }


# --- confirmation ------------------------------------------------------------------------------------------


def test_confirm_creates_one_routed_site_and_links_the_incidents(world):
    c1 = ids(world["c1"])
    cluster_id = cluster_id_for(c1)
    before = Site.objects.count()
    site = hotspot_confirm(
        user=world["city_leader"], cluster_id=cluster_id, name="Ao tổ dân phố 5", water_type="pond"
    )
    assert Site.objects.count() == before + 1
    assert site.kind == "drowning_hotspot" and site.status == "active"
    assert site.source == SUGGESTED_SOURCE and site.external_id == cluster_id
    assert site.attributes == {"water_type": "pond"} and site.created_by == world["city_leader"]
    assert site.geom.geom_type == "Point" and metres(site.geom, at(CITY, 75, 40)) < 1
    # Validated and routed by the database: the commune committee since 01/07/2025.
    assert site.commune == world["city"]
    assert site.agency.kind == AgencyKind.COMMUNE_COMMITTEE and site.agency.area == world["city"]
    linked = dict(Incident.objects.filter(id__in=c1).values_list("id", "linked_site_id"))
    manual = world["c1"][2].id
    assert all(linked[i] == site.id for i in c1 if i != manual)
    assert linked[manual] == world["school"].id  # a link made by hand is kept
    assert not Incident.objects.filter(linked_site=site, linked_site_manual=True).exists()
    assert Incident.history.filter(linked_site_id=site.id).count() == 2

    # Confirming again (a retry, another leader's click) returns the same site.
    again = hotspot_confirm(user=world["coordinator"], cluster_id=cluster_id, name="Ao", water_type="lake")
    assert again.pk == site.pk and Site.objects.count() == before + 1
    # The cluster now has its hotspot: no longer suggested.
    cluster = by_members(incident_clusters(on=T))[tuple(c1)]
    assert cluster.nearest_site.id == site.id and cluster.nearest_site.distance_m == pytest.approx(0, abs=1)
    assert suggested_hotspots(on=T) == []


def test_only_the_coordinator_and_the_clusters_leaders_may_confirm(world):
    cluster_id = cluster_id_for(ids(world["c1"]))
    for who in ("inspector", "planner", "sin_ho_leader"):
        with pytest.raises(HotspotForbidden) as err:
            hotspot_confirm(user=world[who], cluster_id=cluster_id, name="Ao", water_type="pond")
        assert err.value.status == 403
    with pytest.raises(HotspotNotFound) as err:
        hotspot_confirm(user=world["coordinator"], cluster_id="c0000", name="Ao", water_type="pond")
    assert err.value.status == 404
    assert not Site.objects.filter(source=SUGGESTED_SOURCE).exists()
    # The coordinator may confirm anywhere.
    site = hotspot_confirm(user=world["coordinator"], cluster_id=cluster_id, name="Ao", water_type="pond")
    assert site.external_id == cluster_id
    # Once it exists, the other commune's leader still may not touch it.
    with pytest.raises(HotspotForbidden):
        hotspot_confirm(user=world["sin_ho_leader"], cluster_id=cluster_id, name="Ao", water_type="pond")


def test_confirm_refuses_bad_input_and_clusters_that_have_a_site(world):
    c1 = cluster_id_for(ids(world["c1"]))
    with pytest.raises(HotspotInvalid) as err:
        hotspot_confirm(user=world["coordinator"], cluster_id=c1, name="Ao", water_type="sea")
    assert "water_type" in err.value.errors
    with pytest.raises(HotspotInvalid) as err:
        hotspot_confirm(user=world["coordinator"], cluster_id=c1, name=" ", water_type="pond")
    assert "name" in err.value.errors
    with pytest.raises(HotspotInvalid) as err:
        hotspot_confirm(user=world["coordinator"], cluster_id=c1, name="Ao", site_kind="school")
    assert "site_kind" in err.value.errors
    with pytest.raises(HotspotInvalid):
        hotspot_confirm(
            user=world["coordinator"], cluster_id=cluster_id_for(ids(world["traffic"])), name="Đường"
        )
    c2 = cluster_id_for(ids(world["c2"]))
    with pytest.raises(HotspotConflict) as err:
        hotspot_confirm(user=world["sin_ho_leader"], cluster_id=c2, name="Suối", water_type="stream")
    assert err.value.status == 409
    assert not Site.objects.filter(source=SUGGESTED_SOURCE).exists()


def test_confirm_as_an_area_with_the_parameters_of_the_view(world):
    pair = ids(world["old_pair"])
    cluster_id = cluster_id_for(pair)
    with pytest.raises(HotspotNotFound):  # not a cluster within three years
        hotspot_confirm(user=world["coordinator"], cluster_id=cluster_id, name="Hồ", water_type="lake")
    site = hotspot_confirm(
        user=world["coordinator"], cluster_id=cluster_id, name="Hồ", water_type="lake", shape="area", years=6
    )
    assert site.geom.geom_type == "Polygon"
    members = [i.location for i in Incident.objects.filter(id__in=pair)]
    assert all(site.geom.contains(p) for p in members)
    with connection.cursor() as cur:
        cur.execute("SELECT ST_Area(geom::geography) FROM places_site WHERE id = %s", [site.id])
        area = cur.fetchone()[0]
    # A 250 m segment buffered by 30 m: 250 × 60 m plus a circle of 30 m (a 16-gon).
    assert area == pytest.approx(250 * 60 + 8 * 30**2 * 0.38268, rel=0.02)
    assert set(Incident.objects.filter(id__in=pair).values_list("linked_site_id", flat=True)) == {site.id}


# --- school routes near water ------------------------------------------------------------------------------


@pytest.fixture
def routes(lai_chau):
    def route(name, a, b):
        return site_create(kind="school_route", name=name, geom=LineString(a, b), attributes={"school": "TH"})

    h = hotspot("Giếng", at(CITY, 0, 0))
    closed = hotspot("Ao đã lấp", at(CITY, 0, 200), status="closed")
    square = [at(CITY, dx, dy) for dx, dy in ((-100, -2100), (100, -2100), (100, -1900), (-100, -1900))]
    pond = hotspot("Ao", Polygon([*(p.coords for p in square), square[0].coords], srid=4326))
    return {
        "hotspot": h,
        "closed": closed,
        "pond": pond,
        "near": route("Tuyến 60 m", at(CITY, -1000, 60), at(CITY, 1000, 60)),
        "far": route("Tuyến 150 m", at(CITY, -1000, 150), at(CITY, 1000, 150)),
        "crossing": route("Tuyến qua ao", at(CITY, -1000, -2000), at(CITY, 1000, -2000)),
    }


def test_routes_near_water(routes):
    rows = routes_near_water()
    assert [r["route_id"] for r in rows] == [routes["crossing"].id, routes["near"].id]
    crossing, near = rows
    assert crossing["crosses"] and crossing["min_distance_m"] == 0
    assert crossing["hotspot_ids"] == [routes["pond"].id]
    assert not near["crosses"] and near["min_distance_m"] == pytest.approx(60, abs=1)
    assert near["hotspot_ids"] == [routes["hotspot"].id]
    assert near["hotspots"] == [
        {"id": routes["hotspot"].id, "distance_m": near["min_distance_m"], "crosses": False}
    ]
    assert near["commune_id"] == routes["near"].commune_id
    assert near["commune_code"] == routes["near"].commune.code and near["name"] == "Tuyến 60 m"
    # 200 m: the 150 m route too (the closed hotspot 50 m from it never counts).
    wider = {r["route_id"]: r for r in routes_near_water(distance_m=200)}
    assert set(wider) == {routes["crossing"].id, routes["near"].id, routes["far"].id}
    assert wider[routes["far"].id]["hotspot_ids"] == [routes["hotspot"].id]
    assert wider[routes["far"].id]["min_distance_m"] == pytest.approx(150, abs=1)
    assert wider[routes["near"].id]["hotspot_ids"] == [routes["hotspot"].id]
    with pytest.raises(HotspotInvalid):
        routes_near_water(distance_m=-1)


def test_routes_near_water_over_a_scoped_queryset(routes, django_user_model):
    only = routes_near_water(routes=Site.objects.filter(pk__in=[routes["crossing"].pk, routes["far"].pk]))
    assert [r["route_id"] for r in only] == [routes["crossing"].id]
    assert routes_near_water(routes=Site.objects.none()) == []
    leader = django_user_model.objects.create_user("hs_route_leader", password="pw")
    sin_ho = unit_at(geom=Point(*SIN_HO, srid=4326))
    Profile.objects.create(user=leader, role=Role.AREA_LEADER, area=sin_ho)
    assert routes_near_water_for(user=leader) == []
    planner = django_user_model.objects.create_user("hs_route_planner", password="pw")
    Profile.objects.create(user=planner, role=Role.PLANNER)
    assert len(routes_near_water_for(user=planner)) == 2


# --- translations ------------------------------------------------------------------------------------------


def test_every_message_has_a_vietnamese_translation():
    tree = ast.parse((ROOT / "incidents/hotspots.py").read_text("utf-8"))
    msgids = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    table = json.loads((ROOT / "locale/vi/translations/incidents_hotspots.json").read_text("utf-8"))
    assert msgids == set(table)
    others = {}
    for path in sorted((ROOT / "locale/vi/translations").glob("*.json")):
        if path.name != "incidents_hotspots.json":
            others.update(json.loads(path.read_text("utf-8")))
    assert not set(table) & set(others), "translated twice, possibly differently"
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for msgid, vi in table.items():
        assert vi and vi != msgid, msgid
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(vi)), msgid
