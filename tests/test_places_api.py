"""The places API: admin units and sites, filters, permissions, and every bad query parameter."""

import json
import shutil
import subprocess

import pytest
from django.contrib.gis.geos import LineString, Point, Polygon

from places.models import Site
from places.services import site_create

CITY = (103.4571, 22.3964)  # Thành phố Lai Châu
SIN_HO = (103.2411, 22.3606)


def feature(kind, geometry, name="Điểm thử", **attributes):
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {"kind": kind, "name": name, "attributes": attributes},
    }


@pytest.fixture
def sites(lai_chau):
    made = [
        site_create(
            kind="school",
            name="Trường TH Quyết Thắng",
            geom=Point(*CITY, srid=4326),
            attributes={"level": "primary"},
        ),
        site_create(
            kind="drowning_hotspot",
            name="Suối Nậm Lò",
            geom=Point(103.46, 22.40, srid=4326),
            attributes={"water_type": "stream", "fenced": False},
        ),
        site_create(
            kind="village", name="Bản Sìn Hồ", geom=Point(*SIN_HO, srid=4326), attributes={"child_count": 84}
        ),
        site_create(
            kind="school_route",
            name="Tuyến Sìn Hồ",
            geom=LineString(SIN_HO, CITY, srid=4326),
            attributes={"school": "Trường TH Quyết Thắng"},
        ),
        site_create(
            kind="playground",
            name="Sân chơi đã đóng",
            geom=Point(103.455, 22.395, srid=4326),
            attributes={"access": "public"},
            status="closed",
        ),
    ]
    return {s.name: s for s in made}


# --- admin units -----------------------------------------------------------------------------------------


def test_admin_units_filtered_by_level_and_date(client, lai_chau):
    body = client.get("/api/v1/admin-units/", {"level": "commune", "valid_on": "2025-07-01"}).json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 38
    body = client.get("/api/v1/admin-units/", {"level": "commune", "valid_on": "2025-06-30"}).json()
    assert len(body["features"]) == 106
    body = client.get("/api/v1/admin-units/", {"parent": "105"}).json()
    assert {f["properties"]["parent_code"] for f in body["features"]} == {"105"}
    assert len(body["features"]) == 7


def test_admin_units_simplified_geometry_is_smaller(client, lai_chau):
    full = client.get("/api/v1/admin-units/", {"level": "province"}).content
    simple = client.get("/api/v1/admin-units/", {"level": "province", "simplify": "500"}).content
    assert len(simple) < len(full) / 2
    geometry = json.loads(simple)["features"][0]["geometry"]
    assert geometry["type"] == "MultiPolygon"


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"level": "village"}, "level"),
        ({"valid_on": "2025-13-01"}, "valid_on"),
        ({"valid_on": "yesterday"}, "valid_on"),
        ({"parent": "0000"}, "parent"),
        ({"simplify": "-5"}, "simplify"),
        ({"simplify": "abc"}, "simplify"),
        ({"levl": "commune"}, "levl"),
    ],
)
def test_admin_units_bad_parameters_are_400_naming_the_parameter(client, lai_chau, params, bad):
    response = client.get("/api/v1/admin-units/", params)
    assert response.status_code == 400
    assert bad in response.json()


# --- sites: reads ----------------------------------------------------------------------------------------


def test_site_list_is_geojson_with_commune_and_attributes(client, sites):
    response = client.get("/api/v1/sites/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["count"] == 4  # the closed playground is not public
    by_name = {f["properties"]["name"]: f for f in body["features"]}
    school = by_name["Trường TH Quyết Thắng"]
    assert school["geometry"] == {"type": "Point", "coordinates": [103.4571, 22.3964]}
    assert school["properties"]["commune_code"] == sites["Trường TH Quyết Thắng"].commune.code
    assert by_name["Suối Nậm Lò"]["properties"]["attributes"] == {"water_type": "stream", "fenced": False}
    route = by_name["Tuyến Sìn Hồ"]["properties"]
    assert 21_000 < route["length_m"] < 24_000  # metres on the spheroid, not degrees


def test_closed_sites_are_for_staff_only(client, sites, user, django_user_model):
    plain = django_user_model.objects.create_user("no-role", password="pw-no-role-1")
    client.force_login(plain)  # a login without a role sees what the public sees, and edits nothing
    assert client.get("/api/v1/sites/").json()["count"] == 4
    site = sites["Bản Sìn Hồ"]
    assert client.delete(f"/api/v1/sites/{site.pk}/").status_code == 403
    client.force_login(user)  # the coordinator
    assert client.get("/api/v1/sites/").json()["count"] == 5


def test_site_filters(client, sites):
    def names(**params):
        return sorted(
            f["properties"]["name"] for f in client.get("/api/v1/sites/", params).json()["features"]
        )

    assert names(kind="school,village") == ["Bản Sìn Hồ", "Trường TH Quyết Thắng"]
    assert names(q="nậm") == ["Suối Nậm Lò"]
    assert names(bbox="103.2,22.3,103.3,22.4") == ["Bản Sìn Hồ", "Tuyến Sìn Hồ"]
    commune = sites["Trường TH Quyết Thắng"].commune.code
    assert "Trường TH Quyết Thắng" in names(commune=commune)
    sin_ho_district = "108"  # Huyện Sìn Hồ
    assert "Bản Sìn Hồ" in names(district=sin_ho_district)
    assert "Trường TH Quyết Thắng" not in names(district=sin_ho_district)
    assert names(status="active", kind="playground") == []
    assert names(agency="so-xay-dung") == ["Tuyến Sìn Hồ"]  # routes go to Sở Xây dựng from 01/07/2025


def test_nearest_first_ordering_with_distance(client, sites):
    features = client.get("/api/v1/sites/", {"near": "103.2411,22.3606", "kind": "school,village"}).json()[
        "features"
    ]
    assert [f["properties"]["name"] for f in features] == ["Bản Sìn Hồ", "Trường TH Quyết Thắng"]
    assert features[0]["properties"]["distance_m"] == 0
    assert 21_000 < features[1]["properties"]["distance_m"] < 24_000


def test_pagination_links(client, sites):
    body = client.get("/api/v1/sites/", {"page_size": 3}).json()
    assert body["count"] == 4 and len(body["features"]) == 3 and body["previous"] is None
    assert "page=2" in body["next"]
    second = client.get(body["next"]).json()
    assert len(second["features"]) == 1 and second["next"] is None
    first_ids = {f["id"] for f in body["features"]}
    assert not first_ids & {f["id"] for f in second["features"]}


@pytest.mark.parametrize(
    ("params", "bad"),
    [
        ({"kind": "swimming_pool"}, "kind"),
        ({"kind": "school,pool"}, "kind"),
        ({"status": "open"}, "status"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "103.5,22,103.2,22.5"}, "bbox"),
        ({"bbox": "nan,22,103.2,22.5"}, "bbox"),
        ({"bbox": "0,-95,10,10"}, "bbox"),
        ({"near": "103.4"}, "near"),
        ({"near": "200,22"}, "near"),
        ({"page": "99"}, "page"),
        ({"page": "0"}, "page"),
        ({"page": "two"}, "page"),
        ({"page_size": "100000"}, "page_size"),
        ({"commune": "99999"}, "commune"),
        ({"district": "999"}, "district"),
        ({"agency": "so-khong-co"}, "agency"),
        ({"kindd": "school"}, "kindd"),
    ],
)
def test_site_list_bad_parameters_are_400_naming_the_parameter(client, sites, params, bad):
    response = client.get("/api/v1/sites/", params)
    assert response.status_code == 400, response.content
    assert bad in response.json()


def test_site_list_query_count_is_fixed(client, sites, django_assert_num_queries):
    # session/user lookups are not needed for anonymous reads: count, ids, features.
    with django_assert_num_queries(3):
        assert client.get("/api/v1/sites/").status_code == 200


def test_closed_site_is_404_for_the_public(client, sites):
    closed = sites["Sân chơi đã đóng"]
    assert client.get(f"/api/v1/sites/{closed.pk}/").status_code == 404
    open_site = sites["Bản Sìn Hồ"]
    body = client.get(f"/api/v1/sites/{open_site.pk}/").json()
    assert body["properties"]["attributes"] == {"child_count": 84}


# --- sites: writes ---------------------------------------------------------------------------------------


def post(client, data):
    return client.post("/api/v1/sites/", json.dumps(data), content_type="application/json")


def test_writes_need_login(client, sites):
    data = feature("school", {"type": "Point", "coordinates": list(CITY)})
    assert post(client, data).status_code == 403
    site = sites["Bản Sìn Hồ"]
    assert client.delete(f"/api/v1/sites/{site.pk}/").status_code == 403
    patch = client.patch(
        f"/api/v1/sites/{site.pk}/",
        json.dumps({"properties": {"name": "x"}}),
        content_type="application/json",
    )
    assert patch.status_code == 403
    assert Site.objects.get(pk=site.pk).name == "Bản Sìn Hồ"


def test_create_resolves_commune_and_records_who(client, lai_chau, user):
    client.force_login(user)
    response = post(
        client,
        feature(
            "drowning_hotspot",
            {"type": "Point", "coordinates": [103.46, 22.40]},
            water_type="pond",
            depth_class="over_1_5m",
        ),
    )
    assert response.status_code == 201, response.content
    site = Site.objects.get(pk=response.json()["id"])
    assert site.commune.valid_from.isoformat() == "2025-07-01"
    assert site.created_by == user and site.updated_by == user
    assert response.json()["properties"]["commune_code"] == site.commune.code


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (feature("school", {"type": "LineString", "coordinates": [list(CITY), list(SIN_HO)]}), "geometry"),
        (feature("school", {"type": "Point", "coordinates": [105.85, 21.03]}), "geometry"),  # Hà Nội
        (feature("village", {"type": "Point", "coordinates": list(CITY)}), "child_count"),
        (feature("village", {"type": "Point", "coordinates": list(CITY)}, child_count=-3), "child_count"),
        (
            feature("drowning_hotspot", {"type": "Point", "coordinates": list(CITY)}, water_type="sea"),
            "water_type",
        ),
        (feature("school", {"type": "Point", "coordinates": list(CITY)}, colour="red"), "colour"),
        (feature("kindergarten", {"type": "Point", "coordinates": list(CITY)}), "kind"),
        (
            feature(
                "playground",
                {
                    "type": "Polygon",
                    "coordinates": [
                        [[103.45, 22.39], [103.46, 22.40], [103.46, 22.39], [103.45, 22.40], [103.45, 22.39]]
                    ],
                },
                access="public",
            ),
            "geometry",
        ),
        (feature("school", {"type": "Point", "coordinates": "x"}), "geometry"),
    ],
)
def test_create_rejections_name_the_field(client, lai_chau, user, data, field):
    client.force_login(user)
    response = post(client, data)
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Site.objects.exists()


def test_invalid_polygon_repaired_only_when_asked(client, lai_chau, user):
    client.force_login(user)
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[103.45, 22.39], [103.46, 22.40], [103.46, 22.39], [103.45, 22.40], [103.45, 22.39]]
        ],
    }
    data = feature("construction_site", bowtie, permit_number="GP-12/2026", contractor="Công ty XD Lai Châu")
    assert post(client, data).status_code == 400
    data["properties"]["make_valid"] = True
    response = post(client, data)
    assert response.status_code == 201, response.content
    assert Site.objects.get().geom.valid


def test_update_and_delete(client, sites, user):
    client.force_login(user)
    site = sites["Bản Sìn Hồ"]
    response = client.patch(
        f"/api/v1/sites/{site.pk}/",
        json.dumps(
            {
                "type": "Feature",
                "properties": {"attributes": {"child_count": 90}},
                "geometry": {"type": "Point", "coordinates": list(CITY)},
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    site.refresh_from_db()
    assert site.attributes == {"child_count": 90}
    assert site.commune == sites["Trường TH Quyết Thắng"].commune  # re-resolved after the move
    assert site.updated_by == user
    assert client.delete(f"/api/v1/sites/{site.pk}/").status_code == 204
    assert not Site.objects.filter(pk=site.pk).exists()


def test_polygon_site_commune_comes_from_a_point_on_it(lai_chau):
    square = Polygon.from_bbox((103.455, 22.394, 103.456, 22.395))
    square.srid = 4326
    site = site_create(
        kind="construction_site",
        name="Công trình",
        geom=square,
        attributes={"permit_number": "GP-1", "contractor": "Cty A"},
    )
    assert site.commune.geom.covers(square.point_on_surface)


# --- GIS clients and admin -------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is installed by the bootstrap")
def test_ogrinfo_reads_the_sites_endpoint(live_server, lai_chau):
    site_create(
        kind="village", name="Bản Thèn Sin", geom=Point(*SIN_HO, srid=4326), attributes={"child_count": 51}
    )
    site_create(kind="school", name="Trường Sìn Hồ", geom=Point(103.2415, 22.361, srid=4326), attributes={})
    url = f"{live_server.url}/api/v1/sites/?kind=village,school"
    out = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", f"GeoJSON:{url}"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "Bản Thèn Sin" in out.stdout and "Trường Sìn Hồ" in out.stdout
    assert "commune_code (String)" in out.stdout or "commune_code" in out.stdout
    summary = subprocess.run(
        ["ogrinfo", "-ro", "-so", "-al", f"GeoJSON:{url}"], capture_output=True, text=True, timeout=60
    )
    assert "Feature Count: 2" in summary.stdout
    assert "kind: String" in summary.stdout and "name: String" in summary.stdout


def test_admin_pages_have_map_widgets(client, sites, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", "a@example.org", "pw-admin-123")
    client.force_login(admin)
    site = sites["Bản Sìn Hồ"]
    html = client.get(f"/admin/places/site/{site.pk}/change/").content.decode()
    assert "olmap" in html or "OpenLayers" in html or "ol.js" in html
    assert client.get("/admin/places/adminunit/").status_code == 200
    # A wrong geometry type is a form error, not a 500.
    response = client.post(
        "/admin/places/site/add/",
        {
            "kind": "school",
            "name": "X",
            "geom": LineString(CITY, SIN_HO, srid=4326).geojson,
            "attributes": "{}",
            "status": "active",
            "source": "manual",
            "external_id": "",
        },
    )
    assert response.status_code == 200
    assert "sai kiểu hình học" in response.content.decode()  # the admin speaks Vietnamese by default


# --- upload and export through the API -------------------------------------------------------------------


def _geojson_upload(features, name="sites.geojson"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return SimpleUploadedFile(name, body, content_type="application/geo+json")


def _upload_features():
    return [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": list(CITY)},
            "properties": {"kind": "school", "name": "Trường A", "external_id": "A"},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [105.85, 21.03]},
            "properties": {"kind": "school", "name": "Trường Hà Nội", "external_id": "B"},
        },
    ]


def test_upload_needs_login(client, lai_chau):
    response = client.post("/api/v1/sites/import/", {"file": _geojson_upload(_upload_features())})
    assert response.status_code == 403
    assert not Site.objects.exists()


def test_upload_stores_valid_rows_and_lists_rejected_ones(client, lai_chau, user):
    client.force_login(user)
    response = client.post(
        "/api/v1/sites/import/", {"file": _geojson_upload(_upload_features()), "source": "sgd"}
    )
    assert response.status_code == 200, response.content
    report = response.json()
    assert report["created"] == 1 and report["rejected_rows"] == 1
    assert report["rejected"][0]["row"] == 2 and report["rejected"][0]["field"] == "geometry"
    assert Site.objects.get().created_by == user
    again = client.post(
        "/api/v1/sites/import/", {"file": _geojson_upload(_upload_features()), "source": "sgd"}
    )
    assert again.json()["created"] == 0 and again.json()["unchanged"] == 1
    assert Site.objects.count() == 1
    dry = client.post(
        "/api/v1/sites/import/",
        {"file": _geojson_upload(_upload_features()), "source": "other", "dry_run": "true"},
    )
    assert dry.json()["dry_run"] is True and dry.json()["created"] == 1
    assert Site.objects.count() == 1


def test_upload_of_an_unreadable_file_is_400_naming_the_file(client, lai_chau, user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(user)
    bad = SimpleUploadedFile("sites.zip", b"PK\x03\x04 truncated", content_type="application/zip")
    response = client.post("/api/v1/sites/import/", {"file": bad})
    assert response.status_code == 400
    assert "file" in response.json()
    assert client.post("/api/v1/sites/import/", {}).status_code == 400


@pytest.mark.parametrize("fmt", ["geojson", "csv", "gpkg"])
def test_export_formats(client, sites, fmt):
    response = client.get("/api/v1/sites/export/", {"format": fmt, "kind": "school,village"})
    assert response.status_code == 200
    assert f'.{fmt}"' in response["Content-Disposition"]
    if fmt == "geojson":
        assert len(json.loads(response.content)["features"]) == 2
    if fmt == "csv":
        assert response.content.decode("utf-8-sig").count("\n") == 3  # header + 2 rows


def test_export_bad_format_is_400(client, sites):
    response = client.get("/api/v1/sites/export/", {"format": "kml"})
    assert response.status_code == 400 and "format" in response.json()
