"""OGC API – Features (/ogcapi/) and vector tiles (/tiles/): answers checked against constructed data."""

import base64
import math
from datetime import date

import mapbox_vector_tile
import pytest
from django.contrib.gis.geos import LineString, Point, Polygon
from django.core.cache import cache
from django.utils import translation

from inspections.models import Agency, Profile, Role
from places.models import Site
from places.services import site_create

CITY = (103.4571, 22.3964)  # Thành phố Lai Châu
SIN_HO = (103.2411, 22.3606)
GEOJSON = "application/geo+json"


@pytest.fixture
def sites(lai_chau):
    made = [
        site_create(
            kind="school",
            name="Trường TH Quyết Thắng",
            geom=Point(*CITY, srid=4326),
            attributes={"pupils": 420},
        ),
        site_create(
            kind="drowning_hotspot",
            name="Suối Nậm Lò",
            geom=Point(103.4600, 22.4000, srid=4326),
            attributes={"water_type": "stream", "fenced": False},
        ),
        site_create(
            kind="village", name="Bản Sìn Hồ", geom=Point(*SIN_HO, srid=4326), attributes={"child_count": 84}
        ),
        site_create(
            kind="village",
            name="Bản Sìn Hồ 2",
            geom=Point(SIN_HO[0] + 0.002, SIN_HO[1] + 0.001, srid=4326),
            attributes={"child_count": 31},
        ),
        site_create(
            kind="school_route",
            name="Tuyến Sìn Hồ",
            geom=LineString(SIN_HO, CITY, srid=4326),
            attributes={"school": "Trường TH Quyết Thắng"},
        ),
        site_create(
            kind="construction_site",
            name="Công trình bờ kè",
            geom=Polygon.from_bbox((103.4550, 22.3920, 103.4565, 22.3930)),
            attributes={"permit_number": "GP-7", "contractor": "Cty A"},
        ),
        site_create(
            kind="playground",
            name="Sân chơi đã đóng",
            geom=Point(103.4550, 22.3950, srid=4326),
            attributes={"access": "public"},
            status="closed",
        ),
    ]
    return {s.name: s for s in made}


def basic(username, password):
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def tile_of(lon, lat, z):
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def decode(content, layer):
    return mapbox_vector_tile.decode(content).get(layer, {"features": []})["features"]


# --- landing page, conformance, API definition, collections ----------------------------------------------


def test_landing_page_links_and_conformance(client):
    response = client.get("/ogcapi/")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    links = {link["rel"]: link for link in response.json()["links"]}
    assert set(links) >= {"self", "service-desc", "conformance", "data"}
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert links["data"]["href"].endswith("/ogcapi/collections")
    conforms = client.get("/ogcapi/conformance").json()["conformsTo"]
    # Exactly what is implemented: no HTML class.
    assert sorted(c.rsplit("/", 1)[1] for c in conforms) == ["core", "geojson", "oas30"]
    api = client.get(links["service-desc"]["href"])
    assert api["Content-Type"].startswith("application/vnd.oai.openapi+json")
    doc = api.json()
    assert doc["openapi"].startswith("3.0")
    assert {"/collections/{collectionId}/items", "/collections/{collectionId}/items/{featureId}"} <= set(
        doc["paths"]
    )
    assert doc["components"]["parameters"]["limit"]["schema"]["maximum"] == 10_000
    assert "sites-village" in doc["components"]["parameters"]["collectionId"]["schema"]["enum"]


def test_collections_have_extents(client, sites):
    body = client.get("/ogcapi/collections").json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert {"units-2024", "units-2025", "sites", "sites-village", "sites-drowning_hotspot"} <= set(by_id)
    units = by_id["units-2025"]
    xmin, ymin, xmax, ymax = units["extent"]["spatial"]["bbox"][0]
    assert 102 < xmin < xmax < 104 and 21.5 < ymin < ymax < 23
    # The province has no validity end, so the 2025 structure's interval is open at both ends.
    assert units["extent"]["temporal"]["interval"] == [[None, None]]
    villages = by_id["sites-village"]
    xmin, ymin, xmax, ymax = villages["extent"]["spatial"]["bbox"][0]
    assert xmin == pytest.approx(SIN_HO[0]) and xmax == pytest.approx(SIN_HO[0] + 0.002)
    assert ymin == pytest.approx(SIN_HO[1]) and ymax == pytest.approx(SIN_HO[1] + 0.001)
    start, end = villages["extent"]["temporal"]["interval"][0]
    assert start and end and start <= end
    one = client.get("/ogcapi/collections/sites-village")
    assert one.status_code == 200 and one.json()["id"] == "sites-village"
    items_link = next(link for link in one.json()["links"] if link["rel"] == "items")
    assert items_link["type"] == GEOJSON


# --- items -----------------------------------------------------------------------------------------------


def test_units_items_per_structure_with_paging(client, lai_chau):
    response = client.get("/ogcapi/collections/units-2025/items", {"limit": 10})
    assert response.status_code == 200 and response["Content-Type"] == GEOJSON
    body = response.json()
    assert body["numberMatched"] == 39 and body["numberReturned"] == 10 and len(body["features"]) == 10
    seen = [f["id"] for f in body["features"]]
    rels = {link["rel"] for link in body["links"]}
    assert "next" in rels and "prev" not in rels
    # Follow next links to the end: every unit exactly once.
    while next_link := next((link["href"] for link in body["links"] if link["rel"] == "next"), None):
        body = client.get(next_link).json()
        seen += [f["id"] for f in body["features"]]
    assert len(seen) == len(set(seen)) == 39
    assert any(link["rel"] == "prev" for link in body["links"])
    old = client.get("/ogcapi/collections/units-2024/items", {"limit": 200}).json()
    levels = [f["properties"]["level"] for f in old["features"]]
    assert old["numberMatched"] == 115 and levels.count("commune") == 106 and levels.count("district") == 8
    district = next(f for f in old["features"] if f["properties"]["code"] == "105")
    assert district["properties"]["valid_to"] == "2025-06-30"
    assert district["geometry"]["type"] == "MultiPolygon"


def test_units_datetime_selects_by_validity(client, lai_chau):
    after = client.get("/ogcapi/collections/units-2024/items", {"datetime": "2025-08-01"}).json()
    assert after["numberMatched"] == 1  # only the province is still in force
    assert after["features"][0]["properties"]["level"] == "province"
    before = client.get(
        "/ogcapi/collections/units-2024/items", {"datetime": "../2025-06-30T12:00:00Z"}
    ).json()
    assert before["numberMatched"] == 115
    interval = client.get(
        "/ogcapi/collections/units-2025/items", {"datetime": "2024-01-01/2024-12-31"}
    ).json()
    assert interval["numberMatched"] == 1


def test_sites_items_flat_attributes_bbox_and_scope(client, sites):
    body = client.get("/ogcapi/collections/sites-village/items").json()
    assert body["numberMatched"] == 2
    props = {f["properties"]["name"]: f["properties"] for f in body["features"]}
    assert props["Bản Sìn Hồ"]["child_count"] == 84 and props["Bản Sìn Hồ 2"]["child_count"] == 31
    assert props["Bản Sìn Hồ"]["commune_code"]
    # The all-kinds collection keeps attributes nested; anonymous readers see active sites only.
    everything = client.get("/ogcapi/collections/sites/items").json()
    names = {f["properties"]["name"] for f in everything["features"]}
    assert everything["numberMatched"] == 6 and "Sân chơi đã đóng" not in names
    school = next(f for f in everything["features"] if f["properties"]["kind"] == "school")
    assert school["properties"]["attributes"] == {"pupils": 420}
    # bbox around the city: school, hotspot, construction site and the route passing through.
    box = client.get("/ogcapi/collections/sites/items", {"bbox": "103.45,22.39,103.47,22.41"}).json()
    assert {f["properties"]["name"] for f in box["features"]} == {
        "Trường TH Quyết Thắng",
        "Suối Nậm Lò",
        "Công trình bờ kè",
        "Tuyến Sìn Hồ",
    }
    # Paging inside a box: counted and cut in id order.
    first = client.get(
        "/ogcapi/collections/sites/items", {"bbox": "103.45,22.39,103.47,22.41", "limit": 3}
    ).json()
    assert first["numberMatched"] == 4 and first["numberReturned"] == 3
    rest = client.get(next(link["href"] for link in first["links"] if link["rel"] == "next")).json()
    ids = [f["id"] for f in first["features"]] + [f["id"] for f in rest["features"]]
    assert rest["numberReturned"] == 1 and ids == sorted(ids) and len(set(ids)) == 4
    assert not any(link["rel"] == "next" for link in rest["links"])
    none = client.get("/ogcapi/collections/sites/items", {"bbox": "103.0,21.0,103.01,21.01"}).json()
    assert none["numberMatched"] == 0 and none["features"] == []


def test_sites_datetime_is_updated_at(client, sites):
    Site.objects.filter(name="Bản Sìn Hồ").update(updated_at="2024-03-05T10:00:00Z")
    body = client.get("/ogcapi/collections/sites-village/items", {"datetime": "2024-03-05"}).json()
    assert [f["properties"]["name"] for f in body["features"]] == ["Bản Sìn Hồ"]
    later = client.get(
        "/ogcapi/collections/sites-village/items", {"datetime": "2024-03-06T00:00:00Z/.."}
    ).json()
    assert [f["properties"]["name"] for f in later["features"]] == ["Bản Sìn Hồ 2"]


def test_single_item_and_404s(client, sites):
    village = sites["Bản Sìn Hồ"]
    response = client.get(f"/ogcapi/collections/sites-village/items/{village.pk}")
    assert response.status_code == 200 and response["Content-Type"] == GEOJSON
    feature = response.json()
    assert feature["type"] == "Feature" and feature["id"] == village.pk
    assert feature["geometry"]["coordinates"] == pytest.approx(list(SIN_HO))
    assert {link["rel"] for link in feature["links"]} == {"self", "collection"}
    # A village is not in the schools collection; the closed site is not public; nonsense ids.
    assert client.get(f"/ogcapi/collections/sites-school/items/{village.pk}").status_code == 404
    closed = sites["Sân chơi đã đóng"]
    assert client.get(f"/ogcapi/collections/sites/items/{closed.pk}").status_code == 404
    assert client.get("/ogcapi/collections/sites/items/abc").status_code == 404
    missing = client.get("/ogcapi/collections/nothing/items")
    assert missing.status_code == 404 and missing.json()["code"] == "NotFound"
    assert client.get("/ogcapi/collections/nothing").status_code == 404


@pytest.mark.parametrize(
    "params, name",
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "103,23,104,22"}, "bbox"),
        ({"bbox": "103,22,104,nan"}, "bbox"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"datetime": "2025-07-01T00:00:00"}, "datetime"),
        ({"datetime": "2025-08-01/2025-07-01"}, "datetime"),
        ({"datetime": "../.."}, "datetime"),
        ({"colour": "red"}, "colour"),
        ({"f": "html"}, "f"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, lai_chau, params, name):
    with translation.override("en"):
        response = client.get("/ogcapi/collections/units-2025/items", params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "InvalidParameterValue" and name in body["errors"]
    assert name in body["description"]


def test_basic_auth_and_session_scope(client, sites, user, django_user_model):
    closed = sites["Sân chơi đã đóng"]
    # The coordinator sees closed sites, by Basic credentials or by session.
    body = client.get("/ogcapi/collections/sites/items", **basic("coordinator1", "pw-coordinator-1")).json()
    assert body["numberMatched"] == 7
    assert client.get("/ogcapi/collections/sites/items", **basic("coordinator1", "wrong")).status_code == 401
    inspector = django_user_model.objects.create_user("insp", password="pw-insp-1")
    Profile.objects.create(user=inspector, role=Role.INSPECTOR, agency=Agency.objects.get(code="so-xay-dung"))
    client.force_login(inspector)
    mine = client.get("/ogcapi/collections/sites/items").json()
    expected = set(Site.objects.filter(agency__code="so-xay-dung").values_list("name", flat=True))
    assert {f["properties"]["name"] for f in mine["features"]} == expected
    assert "Công trình bờ kè" in expected and "Bản Sìn Hồ" not in expected
    assert client.get(f"/ogcapi/collections/sites/items/{closed.pk}").status_code == 200


# --- vector tiles ----------------------------------------------------------------------------------------


def test_detail_tile_decodes_to_the_sites_with_attributes(client, sites):
    x, y = tile_of(*CITY, 14)
    response = client.get(f"/tiles/sites/14/{x}/{y}.pbf")
    assert response.status_code == 200 and response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    features = decode(response.content, "sites")
    by_name = {f["properties"]["name"]: f for f in features}
    # Every active site whose geometry touches the tile; the closed playground is not public.
    assert set(by_name) == {"Trường TH Quyết Thắng", "Suối Nậm Lò", "Công trình bờ kè", "Tuyến Sìn Hồ"}
    school = by_name["Trường TH Quyết Thắng"]
    assert school["id"] == sites["Trường TH Quyết Thắng"].pk
    assert school["properties"]["kind"] == "school" and school["properties"]["count"] == 1
    assert school["geometry"]["type"] == "Point"
    assert by_name["Công trình bờ kè"]["geometry"]["type"] == "Polygon"
    assert by_name["Tuyến Sìn Hồ"]["geometry"]["type"] == "LineString"
    # A per-kind layer carries the kind's attributes.
    villages = client.get("/tiles/sites-village/14/{}/{}.pbf".format(*tile_of(*SIN_HO, 14)))
    props = {f["properties"]["name"]: f["properties"] for f in decode(villages.content, "sites-village")}
    assert props["Bản Sìn Hồ"]["child_count"] == 84 and props["Bản Sìn Hồ 2"]["child_count"] == 31


def test_low_zoom_tiles_cluster_every_site_once(client, sites):
    counts: dict[str, int] = {}
    clusters = []
    for x in range(198, 204):
        for y in range(110, 117):
            response = client.get(f"/tiles/sites/8/{x}/{y}.pbf")
            assert response.status_code == 200
            for f in decode(response.content, "sites"):
                counts[f["properties"]["kind"]] = (
                    counts.get(f["properties"]["kind"], 0) + f["properties"]["count"]
                )
                clusters.append(f)
    # Six active sites, each counted in exactly one cluster of exactly one tile.
    assert counts == {
        "school": 1,
        "drowning_hotspot": 1,
        "village": 2,
        "school_route": 1,
        "construction_site": 1,
    }
    village = next(f for f in clusters if f["properties"]["kind"] == "village")
    assert village["properties"]["count"] == 2 and "id" not in village["properties"]
    # Deterministic: the same tile twice is the same bytes.
    x, y = tile_of(*CITY, 8)
    assert (
        client.get(f"/tiles/sites/8/{x}/{y}.pbf").content == client.get(f"/tiles/sites/8/{x}/{y}.pbf").content
    )


def test_detail_tile_over_the_limit_falls_back_to_clusters(client, lai_chau, monkeypatch):
    from ogc import tiles

    for i in range(4):
        site_create(
            kind="village",
            name=f"Bản {i}",
            geom=Point(CITY[0] + i * 1e-4, CITY[1], srid=4326),
            attributes={"child_count": 1},
        )
    x, y = tile_of(*CITY, 14)
    assert len(decode(client.get(f"/tiles/sites/14/{x}/{y}.pbf").content, "sites")) == 4
    monkeypatch.setattr(tiles, "MAX_TILE_FEATURES", 3)
    cache.clear()  # the first answer is cached under the unchanged data version
    features = decode(client.get(f"/tiles/sites/14/{x}/{y}.pbf").content, "sites")
    assert sum(f["properties"]["count"] for f in features) == 4 and len(features) < 4


def test_tile_scope_etag_and_cache_headers(client, sites, user):
    cache.clear()
    x, y = tile_of(*CITY, 14)
    url = f"/tiles/sites/14/{x}/{y}.pbf"
    first = client.get(url)
    etag = first["ETag"]
    assert first["X-Tile-Cache"] == "miss" and client.get(url)["X-Tile-Cache"] == "hit"
    assert client.get(url).content == first.content
    assert etag.startswith('"') and first["Cache-Control"].startswith("public")
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    # The coordinator sees the closed playground too: other content, other ETag, private caching.
    mine = client.get(url, **basic("coordinator1", "pw-coordinator-1"))
    assert "Sân chơi đã đóng" in {f["properties"]["name"] for f in decode(mine.content, "sites")}
    assert mine["ETag"] != etag and mine["Cache-Control"].startswith("private")
    # New data, new ETag.
    site_create(
        kind="school", name="Trường mới", geom=Point(CITY[0] + 0.001, CITY[1], srid=4326), attributes={}
    )
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_units_tiles_and_bad_tile_addresses(client, lai_chau):
    codes = set()
    for x in range(198, 204):
        for y in range(110, 117):
            response = client.get(f"/tiles/units-2025/8/{x}/{y}.pbf")
            codes |= {f["properties"]["code"] for f in decode(response.content, "units-2025")}
            assert len(response.content) < 500_000
    assert len(codes) == 39  # the province and its 38 communes
    assert client.get("/tiles/units-2025/8/256/0.pbf").status_code == 404
    assert client.get("/tiles/units-2025/3/0/8.pbf").status_code == 404
    assert client.get("/tiles/units-2025/21/0/0.pbf").status_code == 404
    assert client.get("/tiles/units-2025/-1/0/0.pbf").status_code == 404
    assert client.get("/tiles/nothing/1/0/0.pbf").status_code == 404
    bad = client.get("/tiles/units-2025/1/0/0.pbf", {"filter": "x"})
    assert bad.status_code == 400 and "filter" in bad.json()["errors"]


def test_tilejson(client, sites):
    for url in ("/tiles/sites-village.json", "/tiles/sites-village/tilejson.json"):
        doc = client.get(url).json()
        assert doc["tilejson"] == "3.0.0"
        assert doc["tiles"][0].endswith("/tiles/sites-village/{z}/{x}/{y}.pbf")
        assert doc["vector_layers"][0]["id"] == "sites-village"
        assert "child_count" in doc["vector_layers"][0]["fields"]
        assert doc["bounds"][0] == pytest.approx(SIN_HO[0])
    assert client.get("/tiles/units-2024.json").json()["vector_layers"][0]["fields"]["level"]
    assert client.get("/tiles/nothing.json").status_code == 404


# --- indicators (maps.indicators), suppressed for the public ----------------------------------------------


@pytest.fixture
def incidents(lai_chau):
    from incidents.models import Incident
    from places.models import AdminUnit

    def commune(code, new):
        qs = AdminUnit.objects.filter(code=code, level="commune")
        return qs.get(valid_from__isnull=False) if new else qs.get(valid_to__isnull=False)

    made = {"03451": 1, "03445": 7}
    for code, n in made.items():
        for i in range(n):
            Incident.objects.create(
                kind="drowning",
                date="2024-08-01",
                commune=commune(code, new=False),
                current_commune=commune(code, new=True),
                age_band="5-9",
                sex="male",
                outcome="minor",
                source="test",
                reference=f"ogc-{code}-{i}",
            )
    return made


def test_indicator_collection_is_suppressed_for_the_public(client, incidents, user):
    from maps.indicators import indicator_table

    url = "/ogcapi/collections/indicators-incidents/items"
    query = {"datetime": "2024-01-01/2024-12-31", "limit": 50}
    public = client.get(url, query)
    assert public.status_code == 200 and public["Content-Type"] == GEOJSON
    body = public.json()
    assert body["numberMatched"] == 38 and len(body["features"]) == 38
    props = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    assert props["03451"]["value"] is None and props["03451"]["suppressed"] is True  # one child
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"
    # The same numbers as maps.indicators gives the public for that period.
    expected = {
        r.code: r.value
        for r in indicator_table(
            "incidents", level="commune", date_from=date(2024, 1, 1), date_to=date(2024, 12, 31)
        )
    }
    assert {code: p["value"] for code, p in props.items()} == expected
    # The coordinator sees the single record.
    mine = client.get(url, query, **basic("coordinator1", "pw-coordinator-1")).json()
    values = {f["properties"]["code"]: f["properties"]["value"] for f in mine["features"]}
    assert values["03451"] == 1 and values["03445"] == 7
    # One feature, paging and bbox work as for every collection.
    unit_id = next(f["id"] for f in body["features"] if f["properties"]["code"] == "03445")
    one = client.get(f"{url}/{unit_id}").json()
    assert one["properties"]["code"] == "03445" and one["properties"]["indicator"] == "incidents"
    page = client.get(url, {**query, "limit": 5, "offset": 35}).json()
    assert page["numberReturned"] == 3 and any(link["rel"] == "prev" for link in page["links"])
    near = client.get(url, {**query, "bbox": "103.45,22.39,103.46,22.40"}).json()
    assert 1 <= near["numberMatched"] <= 3
    # Indicators are not tile layers.
    assert client.get("/tiles/indicators-incidents/8/201/111.pbf").status_code == 404


def test_tile_cache_can_be_turned_off(client, sites, settings):
    settings.OGC_TILE_CACHE_SECONDS = 0
    x, y = tile_of(*CITY, 14)
    url = f"/tiles/sites/14/{x}/{y}.pbf"
    first = client.get(url)
    assert first["X-Tile-Cache"] == "bypass" and first["Cache-Control"].startswith("public")
    assert client.get(url)["X-Tile-Cache"] == "bypass"
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
