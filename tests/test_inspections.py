"""inspections: routing, roles and scope on every endpoint, idempotent submission,
distance flags, photos, corrective actions, assignments and history."""

import io
import json
import threading
import uuid
from datetime import date, timedelta

import pytest
from django.contrib.gis.geos import LineString, Point
from django.db import connection
from django.utils import timezone
from PIL import Image

from inspections.models import (
    ActionStatus,
    Agency,
    Assignment,
    ChecklistTemplate,
    CorrectiveAction,
    Inspection,
    Profile,
    Role,
)
from inspections.routing import agency_id_for, sites_reroute
from places.models import AdminUnit, Site
from places.selectors import unit_at
from places.services import site_create

CITY = (103.4571, 22.3964)  # Phường Đoàn Kết (Thành phố Lai Châu until 2025)
SIN_HO = (103.2411, 22.3606)
BEFORE = date(2025, 6, 30)
AFTER = date(2025, 7, 1)


def agency(code):
    return Agency.objects.get(code=code)


# --- routing ---------------------------------------------------------------------------------------------


def test_routing_before_and_after_the_2025_reorganisation(lai_chau):
    point = Point(*SIN_HO, srid=4326)
    district = AdminUnit.objects.valid_on(BEFORE).filter(level="district", geom__covers=point).get()
    commune = AdminUnit.objects.valid_on(AFTER).filter(level="commune", geom__covers=point).get()
    hotspot_before = Agency.objects.get(pk=agency_id_for(kind="drowning_hotspot", geom=point, on=BEFORE))
    hotspot_after = Agency.objects.get(pk=agency_id_for(kind="drowning_hotspot", geom=point, on=AFTER))
    assert hotspot_before.kind == "district_committee" and hotspot_before.area == district
    assert hotspot_after.kind == "commune_committee" and hotspot_after.area == commune
    route = LineString(SIN_HO, CITY, srid=4326)
    assert agency_id_for(kind="school_route", geom=route, on=BEFORE) == agency("so-giao-thong-van-tai").id
    assert agency_id_for(kind="school_route", geom=route, on=AFTER) == agency("so-xay-dung").id
    for day in (BEFORE, AFTER):
        assert agency_id_for(kind="construction_site", geom=point, on=day) == agency("so-xay-dung").id
        assert agency_id_for(kind="playground", geom=point, on=day) == agency("so-xay-dung").id
    assert agency_id_for(kind="school", geom=Point(105.85, 21.03, srid=4326), on=AFTER) is None  # Hà Nội


def test_sites_are_routed_when_written_and_rerouted_in_bulk(lai_chau):
    site = site_create(
        kind="drowning_hotspot",
        name="Suối",
        geom=Point(*SIN_HO, srid=4326),
        attributes={"water_type": "stream"},
    )
    assert site.agency.kind == "commune_committee"  # today is after 01/07/2025
    # A rule change is data: re-resolving for the old date gives the district committee.
    changed = sites_reroute(sites=Site.objects.filter(pk=site.pk), on=BEFORE)
    site.refresh_from_db()
    assert changed == 1 and site.agency.kind == "district_committee"
    assert sites_reroute(sites=Site.objects.filter(pk=site.pk), on=BEFORE) == 0
    # Moving the site re-routes it (the trigger fires on geometry changes).
    Site.objects.filter(pk=site.pk).update(geom=Point(*CITY, srid=4326))
    site.refresh_from_db()
    assert site.agency.area == unit_at(geom=Point(*CITY, srid=4326))


# --- people and places for the scope tests --------------------------------------------------------------


@pytest.fixture
def world(lai_chau, django_user_model):
    def person(name, role, agency_code=None, area=None):
        user = django_user_model.objects.create_user(name, password="pw-" + name)
        Profile.objects.create(
            user=user, role=role, agency=agency(agency_code) if agency_code else None, area=area
        )
        return user

    construction = site_create(
        kind="construction_site",
        name="Công trình trường học",
        geom=Point(*CITY, srid=4326),
        attributes={"permit_number": "GP-01/2026", "contractor": "Công ty XD Tam Đường"},
    )
    hotspot = site_create(
        kind="drowning_hotspot",
        name="Ao bản Sìn Hồ",
        geom=Point(*SIN_HO, srid=4326),
        attributes={"water_type": "pond"},
    )
    xd = "so-xay-dung"
    commune_agency = hotspot.agency
    w = {
        "construction": construction,
        "hotspot": hotspot,
        "xd_inspector": person("xd_inspector", Role.INSPECTOR, xd),
        "xd_inspector2": person("xd_inspector2", Role.INSPECTOR, xd),
        "xd_manager": person("xd_manager", Role.AGENCY_MANAGER, xd),
        "commune_inspector": person("commune_inspector", Role.INSPECTOR, commune_agency.code),
        "city_leader": person("city_leader", Role.AREA_LEADER, area=construction.commune),
        "sinho_leader": person("sinho_leader", Role.AREA_LEADER, area=hotspot.commune),
        "planner": person("planner", Role.PLANNER),
        "coordinator": person("coordinator", Role.COORDINATOR, "so-lao-dong-tbxh"),
    }
    return w


def answers_for(kind, fail=()):
    template = ChecklistTemplate.objects.get(site_kind=kind, is_current=True)
    return [
        {"item": i.code, "value": "fail" if i.code in fail else "pass", "note": ""}
        for i in template.items.all()
    ]


def submit(client, user, site, *, fail=(), client_uuid=None, position=None, accuracy=8.0, when=None, **extra):
    client.force_login(user)
    body = {
        "client_uuid": str(client_uuid or uuid.uuid4()),
        "site": site.pk,
        "performed_at": (when or timezone.now() - timedelta(minutes=5)).isoformat(),
        "position": {
            "lon": (position or site.geom.point_on_surface).x,
            "lat": (position or site.geom.point_on_surface).y,
        },
        "gps_accuracy_m": accuracy,
        "answers": answers_for(site.kind, fail),
        **extra,
    }
    return client.post("/api/v1/inspections/", json.dumps(body), content_type="application/json"), body


def test_scope_of_every_role_on_every_endpoint(client, world):
    w = world
    response, _ = submit(client, w["xd_inspector"], w["construction"], fail=["CS-01"])
    assert response.status_code == 201, response.content
    inspection = Inspection.objects.get()
    action = CorrectiveAction.objects.get()
    client.force_login(w["xd_manager"])
    assignment_response = client.post(
        "/api/v1/assignments/",
        json.dumps(
            {
                "sites": [w["construction"].pk],
                "inspector": w["xd_inspector"].pk,
                "due_date": (date.today() + timedelta(days=10)).isoformat(),
            }
        ),
        content_type="application/json",
    )
    assert assignment_response.status_code == 201, assignment_response.content
    assignment = Assignment.objects.get()

    endpoints = {
        "site": f"/api/v1/sites/{w['construction'].pk}/",
        "assignment": f"/api/v1/assignments/{assignment.pk}/",
        "inspection": f"/api/v1/inspections/{inspection.client_uuid}/",
        "action": f"/api/v1/corrective-actions/{action.pk}/",
        "assignment history": f"/api/v1/assignments/{assignment.pk}/history/",
    }
    lists = {
        "assignment": "/api/v1/assignments/",
        "inspection": "/api/v1/inspections/",
        "action": "/api/v1/corrective-actions/",
    }
    # who sees the construction site's records (the site itself: planners too)
    sees_records = {"xd_inspector", "xd_inspector2", "xd_manager", "city_leader", "coordinator"}
    sees_site = sees_records | {"planner"}
    for name in [
        "xd_inspector",
        "xd_inspector2",
        "xd_manager",
        "commune_inspector",
        "city_leader",
        "sinho_leader",
        "planner",
        "coordinator",
    ]:
        client.force_login(w[name])
        for what, url in endpoints.items():
            expected = 200 if (name in sees_site if what == "site" else name in sees_records) else 404
            assert client.get(url).status_code == expected, (name, what)
        for what, url in lists.items():
            body = client.get(url).json()
            count = body["count"] if isinstance(body, dict) and "count" in body else len(body)
            assert count == (1 if name in sees_records else 0), (name, what)
        site_ids = {f["id"] for f in client.get("/api/v1/sites/").json()["features"]}
        assert (w["construction"].pk in site_ids) == (name in sees_site), name
        assert (w["hotspot"].pk in site_ids) == (
            name in {"commune_inspector", "sinho_leader", "planner", "coordinator"}
        ), name
    client.logout()
    for what, url in {**endpoints, **lists}.items():
        if what != "site":
            assert client.get(url).status_code in (401, 403), what


# --- idempotent submission -------------------------------------------------------------------------------


def test_resending_the_same_inspection_returns_the_stored_one(client, world):
    first, body = submit(client, world["xd_inspector"], world["construction"], fail=["CS-03"])
    assert first.status_code == 201
    again = client.post("/api/v1/inspections/", json.dumps(body), content_type="application/json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Inspection.objects.count() == 1 and CorrectiveAction.objects.count() == 1


def test_same_uuid_with_other_content_is_409_and_changes_nothing(client, world):
    first, body = submit(client, world["xd_inspector"], world["construction"])
    body["answers"][0]["value"] = "fail"
    response = client.post("/api/v1/inspections/", json.dumps(body), content_type="application/json")
    assert response.status_code == 409
    assert "client_uuid" in response.json()
    inspection = Inspection.objects.get()
    assert inspection.result == "pass" and not CorrectiveAction.objects.exists()


def send_at_once(live_server, auth: str, bodies: list[bytes]) -> list[int]:
    """POST each body to the inspections API from its own thread, all released together."""
    import urllib.request

    statuses, barrier = [], threading.Barrier(len(bodies))

    def send(body):
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/inspections/",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": auth},
        )
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                statuses.append(r.status)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)

    threads = [threading.Thread(target=send, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_sends_store_exactly_one(live_server, lai_chau, django_user_model):

    user = django_user_model.objects.create_user("racer", password="pw-racer-1")
    Profile.objects.create(user=user, role=Role.INSPECTOR, agency=agency("so-xay-dung"))
    site = site_create(
        kind="construction_site",
        name="CT",
        geom=Point(*CITY, srid=4326),
        attributes={"permit_number": "GP-2", "contractor": "Cty B"},
    )
    body = json.dumps(
        {
            "client_uuid": str(uuid.uuid4()),
            "site": site.pk,
            "performed_at": timezone.now().isoformat(),
            "position": {"lon": CITY[0], "lat": CITY[1]},
            "answers": answers_for("construction_site", ["CS-01"]),
        }
    ).encode()
    import base64

    auth = "Basic " + base64.b64encode(b"racer:pw-racer-1").decode()
    statuses = send_at_once(live_server, auth, [body] * 6)
    assert sorted(statuses) == [200] * 5 + [201]
    assert Inspection.objects.count() == 1
    assert CorrectiveAction.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_failures_of_one_site_open_one_action(live_server, lai_chau, django_user_model):
    """Twelve inspections of one site failing the same items at once: twelve stored, one action per item.

    Found by the load test (tests/test_load_bounded.py): two inspections each found no open action
    and created one, and the unique constraint turned the second into a 500. The window is too
    small for this test to hit it reliably (it passed here without the fix too); it pins the
    outcome, the load test is the one that caught the race."""
    import base64

    user = django_user_model.objects.create_user("racer2", password="pw-racer-2")
    Profile.objects.create(user=user, role=Role.INSPECTOR, agency=agency("so-xay-dung"))
    site = site_create(
        kind="construction_site",
        name="CT race",
        geom=Point(*CITY, srid=4326),
        attributes={"permit_number": "GP-3", "contractor": "Cty C"},
    )
    auth = "Basic " + base64.b64encode(b"racer2:pw-racer-2").decode()
    # All at one moment of the past: only the first raises the site's stored inspection time
    # (maps), so that row lock does not happen to serialise the others.
    when = (timezone.now() - timedelta(days=2)).isoformat()

    bodies = [
        json.dumps(
            {
                "client_uuid": str(uuid.uuid4()),
                "site": site.pk,
                "performed_at": when,
                "position": {"lon": CITY[0], "lat": CITY[1]},
                "answers": answers_for("construction_site", ["CS-01", "CS-02", "CS-03", "CS-04"]),
            }
        ).encode()
        for _ in range(12)
    ]
    statuses = send_at_once(live_server, auth, bodies)
    assert statuses == [201] * 12
    assert Inspection.objects.filter(site=site).count() == 12
    assert sorted(CorrectiveAction.objects.filter(site=site).values_list("item_code", flat=True)) == [
        "CS-01",
        "CS-02",
        "CS-03",
        "CS-04",
    ]


# --- location flags --------------------------------------------------------------------------------------


def test_distance_to_the_site_is_computed_and_far_inspections_flagged(client, world):
    site = world["construction"]
    near, _ = submit(client, world["xd_inspector"], site, position=Point(CITY[0] + 0.001, CITY[1], srid=4326))
    assert near.status_code == 201
    body = near.json()
    assert 95 < body["distance_to_site_m"] < 110  # 0.001° of longitude at 22.4° N ≈ 103 m
    assert body["location_flagged"] is False
    far, _ = submit(client, world["xd_inspector"], site, position=Point(CITY[0] + 0.01, CITY[1], srid=4326))
    assert far.json()["location_flagged"] is True and "far_from_site" in far.json()["flags"]
    vague, _ = submit(client, world["xd_inspector"], site, accuracy=450)
    assert "poor_gps_accuracy" in vague.json()["flags"] and vague.json()["location_flagged"] is True


def test_submission_errors_name_the_field(client, world):
    user, site = world["xd_inspector"], world["construction"]
    response, body = submit(client, user, site)
    assert response.status_code == 201
    bad = dict(body, client_uuid=str(uuid.uuid4()), answers=body["answers"][1:])
    r = client.post("/api/v1/inspections/", json.dumps(bad), content_type="application/json")
    assert r.status_code == 400 and "answers" in r.json() and "CS-01" in json.dumps(r.json())
    bad = dict(
        body, client_uuid=str(uuid.uuid4()), answers=[*body["answers"], {"item": "XX-99", "value": "pass"}]
    )
    assert "XX-99" in json.dumps(
        client.post("/api/v1/inspections/", json.dumps(bad), content_type="application/json").json()
    )
    bad = dict(body, client_uuid="not-a-uuid")
    assert (
        "client_uuid"
        in client.post("/api/v1/inspections/", json.dumps(bad), content_type="application/json").json()
    )
    bad = dict(body, client_uuid=str(uuid.uuid4()), position={"lon": 500, "lat": 22})
    assert (
        "position"
        in client.post("/api/v1/inspections/", json.dumps(bad), content_type="application/json").json()
    )
    bad = dict(
        body, client_uuid=str(uuid.uuid4()), performed_at=(timezone.now() + timedelta(days=2)).isoformat()
    )
    assert (
        "performed_at"
        in client.post("/api/v1/inspections/", json.dumps(bad), content_type="application/json").json()
    )
    other = dict(body, client_uuid=str(uuid.uuid4()), site=world["hotspot"].pk)
    assert (
        client.post("/api/v1/inspections/", json.dumps(other), content_type="application/json").status_code
        == 404
    )
    client.force_login(world["planner"])
    assert (
        client.post(
            "/api/v1/inspections/",
            json.dumps(dict(body, client_uuid=str(uuid.uuid4()))),
            content_type="application/json",
        ).status_code
        == 403
    )
    assert (
        client.post("/api/v1/inspections/", "{not json", content_type="application/json").status_code == 400
    )
    assert Inspection.objects.count() == 1


# --- photos ----------------------------------------------------------------------------------------------


def jpeg_bytes(size=(64, 48)):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_photos_are_checked_by_content_and_stored_once(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    response, body = submit(client, world["xd_inspector"], world["construction"], fail=["CS-01"])
    uid = body["client_uuid"]
    inspection = Inspection.objects.get()
    assert "photo_missing:CS-01" in inspection.flags
    url = f"/api/v1/inspections/{uid}/photos/"
    fake = io.BytesIO(b"this is not a photo")
    fake.name = "photo.jpg"
    r = client.post(url, {"photo": fake, "item": "CS-01"})
    assert r.status_code == 400 and "photo" in r.json()
    good = io.BytesIO(jpeg_bytes())
    good.name = "IMG_0001.jpg"
    r = client.post(url, {"photo": good, "item": "CS-01"})
    assert r.status_code == 201, r.content
    good.seek(0)
    assert client.post(url, {"photo": good, "item": "CS-01"}).status_code == 200  # a retry stores nothing new
    inspection.refresh_from_db()
    assert inspection.photos.count() == 1
    assert "photo_missing:CS-01" not in inspection.flags
    assert Inspection.objects.count() == 1  # the bad photo lost nothing
    client.force_login(world["xd_inspector2"])
    good.seek(0)
    assert client.post(url, {"photo": good}).status_code == 403


# --- corrective actions ----------------------------------------------------------------------------------


def test_corrective_action_life_cycle(client, world):
    site, user = world["construction"], world["xd_inspector"]
    t0 = timezone.now() - timedelta(days=3)
    submit(client, user, site, fail=["CS-01"], when=t0)
    action = CorrectiveAction.objects.get()
    item = ChecklistTemplate.objects.get(site_kind="construction_site", is_current=True).items.get(
        code="CS-01"
    )
    days = {"critical": 7, "high": 30, "medium": 90, "low": 180}[item.severity]
    assert action.deadline == timezone.localtime(t0).date() + timedelta(days=days)
    assert action.status == ActionStatus.OPEN and action.agency.code == "so-xay-dung"

    # The same failure again keeps one action open.
    submit(client, user, site, fail=["CS-01"], when=t0 + timedelta(hours=1))
    assert CorrectiveAction.objects.count() == 1

    client.force_login(world["city_leader"])
    assert client.post(f"/api/v1/corrective-actions/{action.pk}/report-done/", {}).status_code == 403
    client.force_login(world["xd_manager"])
    r = client.post(f"/api/v1/corrective-actions/{action.pk}/report-done/", {"note": "Đã rào chắn"})
    assert r.status_code == 200 and r.json()["status"] == "reported_done"
    assert client.post(f"/api/v1/corrective-actions/{action.pk}/report-done/", {}).status_code == 409

    # An inspection made before the failure (sent late from the field) does not verify it.
    submit(client, user, site, when=t0 - timedelta(days=1))
    action.refresh_from_db()
    assert action.status == ActionStatus.REPORTED_DONE
    # A failure found before the report was made does not re-open it ...
    submit(client, user, site, fail=["CS-01"], when=timezone.now() - timedelta(hours=2))
    action.refresh_from_db()
    assert action.status == ActionStatus.REPORTED_DONE
    # ... one found after the report does; a later pass verifies it.
    submit(client, user, site, fail=["CS-01"], when=timezone.now() + timedelta(minutes=1))
    action.refresh_from_db()
    assert action.status == ActionStatus.OPEN
    verifier, _ = submit(client, user, site, when=timezone.now() + timedelta(minutes=2))
    action.refresh_from_db()
    assert action.status == ActionStatus.VERIFIED
    assert str(action.verified_by.client_uuid) == verifier.json()["client_uuid"]
    # A new failure after verification opens a new action.
    submit(client, user, site, fail=["CS-01"], when=timezone.now() + timedelta(minutes=3))
    assert CorrectiveAction.objects.filter(status="open").count() == 1
    history = client.get(f"/api/v1/corrective-actions/{action.pk}/history/").json()
    assert [h["change"] for h in history][-1] == "+"
    assert any(c["field"] == "status" for h in history for c in h["changes"])


def test_overdue_actions_listed(client, world):
    submit(
        client,
        world["xd_inspector"],
        world["construction"],
        fail=["CS-01"],
        when=timezone.now() - timedelta(days=400),
    )
    client.force_login(world["coordinator"])
    assert len(client.get("/api/v1/corrective-actions/", {"overdue": "true"}).json()["results"]) == 1
    assert client.get("/api/v1/corrective-actions/", {"status": "closed"}).status_code == 400
    assert client.get("/api/v1/corrective-actions/", {"overdue": "maybe"}).status_code == 400


# --- assignments -----------------------------------------------------------------------------------------


def test_assignments_by_filter_skip_open_ones_and_follow_their_life_cycle(client, world):
    client.force_login(world["xd_manager"])
    due = (date.today() + timedelta(days=14)).isoformat()
    body = {
        "filter": {"kind": "construction_site"},
        "due_date": due,
        "priority": "high",
        "round_name": "Trước hè",
    }
    r = client.post("/api/v1/assignments/", json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.content
    assert (
        len(r.json()["created"])
        == Site.objects.filter(kind="construction_site", agency__code="so-xay-dung", status="active").count()
    )
    assert r.json()["created"][0]["status"] == "planned"
    again = client.post("/api/v1/assignments/", json.dumps(body), content_type="application/json").json()
    assert again["created"] == [] and world["construction"].pk in again["skipped_already_open"]
    assignment = Assignment.objects.get(site=world["construction"])
    url = f"/api/v1/assignments/{assignment.pk}/"
    r = client.patch(
        url, json.dumps({"inspector": world["xd_inspector"].pk}), content_type="application/json"
    )
    assert r.json()["status"] == "assigned"
    assert (
        client.patch(url, json.dumps({"status": "done"}), content_type="application/json").status_code == 409
    )
    # Another agency's inspector cannot be assigned.
    r = client.patch(
        url, json.dumps({"inspector": world["commune_inspector"].pk}), content_type="application/json"
    )
    assert r.status_code == 400 and "inspector" in r.json()
    # The inspector sees it among his, starts it, and may not re-plan it.
    client.force_login(world["xd_inspector"])
    mine = client.get("/api/v1/assignments/", {"mine": "true"}).json()["results"]
    assert [a["id"] for a in mine] == [assignment.pk]
    assert (
        client.patch(url, json.dumps({"status": "in_progress"}), content_type="application/json").status_code
        == 200
    )
    assert (
        client.patch(url, json.dumps({"due_date": due}), content_type="application/json").status_code == 403
    )
    # Submitting under the assignment completes it.
    r, _ = submit(client, world["xd_inspector"], world["construction"], assignment=assignment.pk)
    assert r.status_code == 201
    assignment.refresh_from_db()
    assert assignment.status == "done"
    history = client.get(f"{url}history/").json()
    assert [h["change"] for h in history] == ["~", "~", "~", "+"]
    assert history[-1]["user"]["name"] == "xd_manager"


def test_cancelled_assignment_refuses_and_reassigned_one_is_flagged(client, world):
    client.force_login(world["xd_manager"])
    due = (date.today() + timedelta(days=3)).isoformat()
    client.post(
        "/api/v1/assignments/",
        json.dumps(
            {"sites": [world["construction"].pk], "due_date": due, "inspector": world["xd_inspector2"].pk}
        ),
        content_type="application/json",
    )
    assignment = Assignment.objects.get()
    # Reassigned to inspector 2 while inspector 1 was offline: accepted, flagged for the manager.
    r, _ = submit(client, world["xd_inspector"], world["construction"], assignment=assignment.pk)
    assert r.status_code == 201 and "reassigned" in r.json()["flags"]
    client.force_login(world["xd_manager"])
    client.post(
        "/api/v1/assignments/",
        json.dumps({"sites": [world["construction"].pk], "due_date": due}),
        content_type="application/json",
    )
    second = Assignment.objects.exclude(pk=assignment.pk).get()
    client.patch(
        f"/api/v1/assignments/{second.pk}/",
        json.dumps({"status": "cancelled"}),
        content_type="application/json",
    )
    r, _ = submit(client, world["xd_inspector"], world["construction"], assignment=second.pk)
    assert r.status_code == 409 and "assignment" in r.json()


def test_assignment_bad_input(client, world):
    client.force_login(world["xd_manager"])
    due = (date.today() + timedelta(days=3)).isoformat()

    def post(body):
        return client.post("/api/v1/assignments/", json.dumps(body), content_type="application/json")

    assert "sites" in post({"due_date": due}).json()
    r = post({"sites": [world["hotspot"].pk], "due_date": due})
    assert r.status_code == 400 and str(world["hotspot"].pk) in json.dumps(r.json())
    assert "due_date" in post({"sites": [world["construction"].pk], "due_date": "2020-01-01"}).json()
    assert "filter" in post({"filter": {"kind": "pool"}, "due_date": due}).json()
    client.force_login(world["xd_inspector"])
    assert post({"sites": [world["construction"].pk], "due_date": due}).status_code == 403
    assert not Assignment.objects.exists()
    assert client.get("/api/v1/assignments/", {"status": "nope"}).status_code == 400
    assert client.get("/api/v1/assignments/", {"colour": "red"}).status_code == 400


def test_checklists_and_agencies_are_public_and_bilingual(client, lai_chau):
    templates = client.get("/api/v1/checklists/").json()
    assert {t["site_kind"] for t in templates} == {
        "construction_site",
        "drowning_hotspot",
        "school_route",
        "playground",
    }
    for t in templates:
        assert len(t["items"]) >= 8
        assert all(i["question"] and i["question_en"] for i in t["items"])
    agencies = client.get("/api/v1/agencies/").json()
    assert {a["kind"] for a in agencies} == {"department", "commune_committee", "coordinator"}
    assert sum(a["kind"] == "commune_committee" for a in agencies) == 38
    assert len(client.get("/api/v1/agencies/", {"all": "true"}).json()) == 3 + 8 + 38


def test_answered_checklist_versions_cannot_change(world, client, tmp_path):
    from inspections.checklists import ChecklistFileError, load_checklists
    from tests.conftest import ROOT

    submit(client, world["xd_inspector"], world["construction"])
    data = json.loads((ROOT / "fixtures/checklists.json").read_text(encoding="utf-8"))
    for t in data["templates"]:
        if t["site_kind"] == "construction_site":
            t["items"][0]["question"] += " (sửa)"
    path = tmp_path / "checklists.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ChecklistFileError, match="publish a new version"):
        load_checklists(path)
    for t in data["templates"]:
        if t["site_kind"] == "construction_site":
            t["version"] = 2
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    load_checklists(path)
    current = ChecklistTemplate.objects.get(site_kind="construction_site", is_current=True)
    assert current.version == 2
    assert Inspection.objects.get().template.version == 1


def test_sql_routing_counts_per_agency_use_the_stored_key(lai_chau):
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM places_site WHERE agency_id IS NULL AND status = 'active'")
        assert cur.fetchone()[0] == 0


def test_actions_by_area_and_exports_obey_scope(client, world):
    submit(client, world["xd_inspector"], world["construction"], fail=["CS-01"])
    client.force_login(world["coordinator"])
    city = world["construction"].commune.code
    assert len(client.get("/api/v1/corrective-actions/", {"area": city}).json()["results"]) == 1
    assert (
        len(
            client.get("/api/v1/corrective-actions/", {"area": world["hotspot"].commune.code}).json()[
                "results"
            ]
        )
        == 0
    )
    assert (
        len(client.get("/api/v1/corrective-actions/", {"area": "105"}).json()["results"]) == 1
    )  # old city district
    assert client.get("/api/v1/corrective-actions/", {"area": "00000"}).status_code == 400
    client.force_login(world["commune_inspector"])
    exported = json.loads(client.get("/api/v1/sites/export/", {"format": "geojson"}).content)
    names = {f["properties"]["name"] for f in exported["features"]}
    assert world["hotspot"].name in names and world["construction"].name not in names


def test_a_submission_costs_the_same_queries_whatever_the_number_of_answers(client, world):
    """The unresolved corrective actions of all answered items are read (and locked) in one query,
    not one per answer: a submission that fails every item and one that then passes them all (and
    so verifies every action) cost a fixed number of queries, however long the checklist."""
    from django.test.utils import CaptureQueriesContext

    site = world["construction"]
    items = ChecklistTemplate.objects.get(site_kind=site.kind, is_current=True).items.count()
    assert items >= 5
    client.force_login(world["xd_inspector"])

    def send(fail_all: bool, minutes_ago: int):
        body = {
            "client_uuid": str(uuid.uuid4()),
            "site": site.pk,
            "performed_at": (timezone.now() - timedelta(minutes=minutes_ago)).isoformat(),
            "position": {"lon": site.geom.point_on_surface.x, "lat": site.geom.point_on_surface.y},
            "gps_accuracy_m": 5.0,
            "answers": [
                {"item": a["item"], "value": "fail" if fail_all else "pass", "note": ""}
                for a in answers_for(site.kind)
            ],
        }
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/api/v1/inspections/", json.dumps(body), content_type="application/json")
        assert response.status_code == 201, response.content
        return [q["sql"] for q in queries]

    opening = send(True, 30)
    assert CorrectiveAction.objects.filter(site=site).count() == items
    verifying = send(False, 10)
    assert CorrectiveAction.objects.filter(site=site, status="verified").count() == items
    action_reads = [sql for sql in verifying if sql.startswith('SELECT "inspections_correctiveaction"')]
    assert len(action_reads) == 1, action_reads
    # Writes are per action (save + history row); everything else does not grow with the answers.
    fixed = [sql for sql in verifying if "correctiveaction" not in sql]
    assert len(fixed) < 30, fixed
    assert len([sql for sql in opening if sql.startswith('SELECT "inspections_correctiveaction"')]) == 1
