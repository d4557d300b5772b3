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
