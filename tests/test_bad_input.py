"""Garbage in never gives a 500: every write endpoint answers malformed bodies with a 4xx."""

import json

import pytest

from inspections.models import Profile, Role

BODIES = [
    "{not json",
    "[]",
    "null",
    '"text"',
    json.dumps({"client_uuid": 5, "site": "x", "answers": "all"}),
    json.dumps(
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1e400, "x"]}, "properties": []}
    ),
    # Found by schemathesis: a non-object "properties" crashed drf-gis's flattening (500).
    json.dumps({"type": "Feature", "geometry": None, "properties": "0"}),
    json.dumps(
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [103.4, 22.4]}, "properties": [1]}
    ),
    json.dumps({"kind": ["drowning"], "date": {"y": 2024}, "location": {"lon": "NaN", "lat": None}}),
    json.dumps({"sites": "all", "due_date": "tomorrow", "filter": {"kind": 7}}),
    json.dumps({"name": None, "water_type": {"a": 1}, "eps_m": "wide"}),
    json.dumps({"linked_site": "me", "note": ["x"] * 3}),
]

ENDPOINTS = [
    "/api/v1/sites/",
    "/api/v1/assignments/",
    "/api/v1/inspections/",
    "/api/v1/incidents/",
    "/api/v1/incidents/hotspots/c0123456789abcdef0123/confirm/",
]


@pytest.fixture
def coordinator(db, django_user_model):
    user = django_user_model.objects.create_user("garbage", password="pw-garbage-1")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    return user


@pytest.mark.parametrize("url", ENDPOINTS)
def test_malformed_bodies_get_4xx(client, lai_chau, coordinator, url):
    client.force_login(coordinator)
    for body in BODIES:
        response = client.post(url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, body, response.status_code, response.content[:300])


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/sites/?near=1,2,3",
        "/api/v1/sites/?bbox=1e400,0,1,1",
        "/api/v1/admin-units/?valid_on=2025-02-30",
        "/api/v1/admin-units/?level=",  # found by the long schemathesis run: empty read as "no filter"
        "/api/v1/assignments/?site=abc",
        "/api/v1/inspections/?page=-1",
        "/api/v1/corrective-actions/?area=%00",
        "/api/v1/incidents/aggregates/?from=2024-01-01&to=yesterday",
        "/api/v1/incidents/hotspots/?years=-3",
        "/api/v1/incidents/routes-near-water/?distance_m=inf",
        "/api/v1/inspections/not-a-uuid/",
        "/api/v1/sites/999999999999/",
    ],
)
def test_malformed_query_parameters_get_4xx(client, lai_chau, coordinator, url):
    client.force_login(coordinator)
    response = client.get(url)
    assert 400 <= response.status_code < 500, (url, response.status_code, response.content[:300])


def test_nul_characters_in_json_bodies_paths_and_basic_auth_get_400_not_500(client, lai_chau, coordinator):
    """Found by schemathesis: NUL reached PostgreSQL from JSON strings and Basic credentials."""
    import base64

    client.force_login(coordinator)
    en = {"content_type": "application/json", "HTTP_ACCEPT_LANGUAGE": "en"}
    body = json.dumps({"kind": "drowning_hotspot", "name": "a\x00b"})
    response = client.post("/api/v1/sites/", body, **en)
    assert response.status_code == 400
    assert response.json() == {"body.name": ["contains a NUL character"]}
    nested = json.dumps({"answers": [{"note": "ok"}, {"note": "x\x00"}]})
    response = client.post("/api/v1/inspections/", nested, **en)
    assert response.json() == {"body.answers[1].note": ["contains a NUL character"]}
    assert client.get("/api/v1/sites/%00/").status_code == 400
    client.logout()
    creds = "Basic " + base64.b64encode(b"coord\x00inator:pw").decode()
    assert client.get("/api/v1/sites/", HTTP_AUTHORIZATION=creds).status_code in (401, 403)


def test_api_errors_are_json_even_for_unmatched_urls(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not Found"}


def test_a_body_of_another_media_type_is_a_documented_415(client, lai_chau, coordinator):
    """Plain text (or a body without a content type) sent to a JSON operation: 415 naming the
    media type, and the schema documents 415 for every operation that takes a body (found by the
    long schemathesis run: the answer was right, the schema did not say it)."""
    from drf_spectacular.generators import SchemaGenerator

    client.force_login(coordinator)
    response = client.generic("POST", "/api/v1/sites/", b"kind=school", content_type="text/plain")
    assert response.status_code == 415
    assert "text/plain" in response.json()["detail"]
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    with_body = [op for item in paths.values() for op in item.values() if "requestBody" in op]
    assert with_body and all("415" in op["responses"] for op in with_body)
    assert "415" not in paths["/api/v1/sites/"]["get"]["responses"]
