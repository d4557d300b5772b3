"""Offline field capture, server side: the inspector's bundle holds his own scope and nothing more,
the manifest and service worker make the pages installable under /inspections/, the "On this phone"
page is drawn in Vietnamese first, and what the phone sends later (the inspection, then each photo)
is stored once however often it is sent again."""

import io
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.contrib.staticfiles import finders
from django.utils import timezone, translation
from PIL import Image

from inspections.models import (
    Agency,
    AssignmentStatus,
    Inspection,
    InspectionPhoto,
    Profile,
    Role,
)
from inspections.offline import SHELL_STATIC, offline_bundle
from inspections.selectors import current_template
from inspections.services import AnswerIn, assignment_create, assignment_update, inspection_submit
from places.models import AdminUnit
from places.selectors import today
from places.services import site_create

ROOT = Path(__file__).resolve().parent.parent
TABLE_PATH = ROOT / "locale/vi/translations/inspections_offline.json"
CITY = (103.4571, 22.3964)  # Phường Đoàn Kết
CITY_2 = (103.4620, 22.4010)
CITY_3 = (103.4500, 22.3900)
SIN_HO = (103.2411, 22.3606)


def jpeg(color=(200, 60, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def world(lai_chau, django_user_model):
    def person(name, role, agency=None, area=None):
        user = django_user_model.objects.create_user(name, password="pw-" + name)
        Profile.objects.create(user=user, role=role, agency=agency, area=area)
        return user

    xd = Agency.objects.get(code="so-xay-dung")

    def construction(name, where, permit):
        return site_create(
            kind="construction_site",
            name=name,
            geom=Point(*where, srid=4326),
            attributes={"permit_number": permit, "contractor": "Công ty XD Mường Tè"},
        )

    mine_open = construction("Công trình cầu treo bản Hồ Pên", CITY, "GP-31/2026")
    mine_started = construction("Công trình trường bản Nậm Loỏng", CITY_2, "GP-32/2026")
    mine_done = construction("Công trình chợ bản San Thàng", CITY_3, "GP-33/2026")
    mine_cancelled = construction("Công trình nhà văn hóa bản Lùng Thàng", CITY_3, "GP-34/2026")
    colleagues = construction("Công trình bể nước bản Chu Va", SIN_HO, "GP-35/2026")
    unassigned = construction("Công trình kè suối Nậm So", SIN_HO, "GP-36/2026")
    hotspot = site_create(
        kind="drowning_hotspot",
        name="Ao bản Sìn Hồ",
        geom=Point(*SIN_HO, srid=4326),
        attributes={"water_type": "pond"},
    )
    assert hotspot.agency != xd and hotspot.agency.area_id is not None
    inspector = person("off_inspector", Role.INSPECTOR, xd)
    colleague = person("off_colleague", Role.INSPECTOR, xd)
    manager = person("off_manager", Role.AGENCY_MANAGER, xd)
    commune_inspector = person("off_commune_inspector", Role.INSPECTOR, hotspot.agency)
    commune_manager = person("off_commune_manager", Role.AGENCY_MANAGER, hotspot.agency)
    due = today() + timedelta(days=10)

    def assign(boss, site, who):
        return assignment_create(manager=boss, sites=[site.id], inspector=who, due_date=due).created[0]

    w = {
        "xd": xd,
        "inspector": inspector,
        "colleague": colleague,
        "manager": manager,
        "commune_inspector": commune_inspector,
        "planner": person("off_planner", Role.PLANNER),
        "leader": person("off_leader", Role.AREA_LEADER, area=mine_done.commune),
        "sites": {
            "open": mine_open,
            "started": mine_started,
            "done": mine_done,
            "cancelled": mine_cancelled,
            "colleagues": colleagues,
            "unassigned": unassigned,
            "hotspot": hotspot,
        },
        "open": assign(manager, mine_open, inspector),
        "started": assign(manager, mine_started, inspector),
        "done": assign(manager, mine_done, inspector),
        "cancelled": assign(manager, mine_cancelled, inspector),
        "colleagues": assign(manager, colleagues, colleague),
        "hotspot": assign(commune_manager, hotspot, commune_inspector),
    }
    assignment_update(user=inspector, assignment=w["started"], status=AssignmentStatus.IN_PROGRESS)
    assignment_update(user=manager, assignment=w["cancelled"], status=AssignmentStatus.CANCELLED)
    items = list(current_template(site_kind="construction_site").items.all())
    inspection_submit(
        user=inspector,
        client_uuid=uuid.uuid4(),
        site_id=mine_done.id,
        assignment_id=w["done"].id,
        performed_at=timezone.now(),
        answers=[AnswerIn(item=i.code, value="pass") for i in items],
    )
    w["items"] = items
    return w


# --- the bundle: the inspector's scope only ----------------------------------------------------------------


def test_the_bundle_holds_the_inspectors_open_assignments_their_sites_checklists_and_boundaries(world):
    bundle = offline_bundle(world["inspector"])
    sites = world["sites"]
    assert [a["id"] for a in bundle["assignments"]] == [world["open"].id, world["started"].id]
    assert {f["id"] for f in bundle["sites"]} == {sites["open"].id, sites["started"].id}
    # Not the colleague's, not the finished or cancelled ones, not another agency's, not the rest.
    for other in ("done", "cancelled", "colleagues", "unassigned", "hotspot"):
        assert sites[other].id not in {f["id"] for f in bundle["sites"]}, other
    # Each site with its geometry and attributes, numbered as in the list, linked to its form.
    feature = next(f for f in bundle["sites"] if f["id"] == sites["open"].id)
    assert feature["geometry"] == {"type": "Point", "coordinates": [CITY[0], CITY[1]]}
    assert feature["properties"]["attributes"]["permit_number"] == "GP-31/2026"
    assert feature["properties"]["number"] == 1
    url = f"/inspections/sites/{sites['open'].id}/inspect/?assignment={world['open'].id}"
    assert feature["properties"]["url"] == url
    # The checklist of the kinds he inspects, current version, with its items.
    template = current_template(site_kind="construction_site")
    assert [(c["site_kind"], c["version"]) for c in bundle["checklists"]] == [
        ("construction_site", template.version)
    ]
    assert [i["code"] for i in bundle["checklists"][0]["items"]] == [i.code for i in world["items"]]
    # A provincial department governs no area: the boundaries are the communes of his sites.
    communes = {sites["open"].commune.code, sites["started"].commune.code}
    assert {b["properties"]["code"] for b in bundle["boundaries"]} == communes
    assert all(b["properties"]["level"] == "commune" for b in bundle["boundaries"])
    assert all(b["geometry"]["type"] in ("Polygon", "MultiPolygon") for b in bundle["boundaries"])
    # The pages kept for offline use: the app, the list and one form per assignment.
    assert bundle["pages"][:2] == ["/inspections/offline/", "/inspections/"]
    assert url in bundle["pages"] and len(bundle["pages"]) == 4


def test_a_commune_inspectors_bundle_has_his_communes_boundary_and_his_checklist(world):
    bundle = offline_bundle(world["commune_inspector"])
    hotspot = world["sites"]["hotspot"]
    assert [f["id"] for f in bundle["sites"]] == [hotspot.id]
    assert [c["site_kind"] for c in bundle["checklists"]] == ["drowning_hotspot"]
    area = AdminUnit.objects.get(pk=hotspot.agency.area_id)
    assert [b["properties"]["code"] for b in bundle["boundaries"]] == [area.code]
    # Simplified for a phone, yet still the same area (within a few per cent).
    from django.contrib.gis.geos import GEOSGeometry

    drawn = GEOSGeometry(json.dumps(bundle["boundaries"][0]["geometry"]), srid=4326)
    assert drawn.area == pytest.approx(area.geom.area, rel=0.05)
    assert drawn.num_coords <= area.geom.num_coords


def test_the_bundle_over_http(client, world):
    url = "/inspections/offline/bundle.json"
    assert client.get(url).status_code == 302  # log in first
    client.force_login(world["planner"])
    assert client.get(url).status_code == 403
    client.force_login(world["inspector"])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    data = response.json()
    assert [a["id"] for a in data["assignments"]] == [world["open"].id, world["started"].id]
    assert data["user"] == "off_inspector" and data["agency"]["code"] == "so-xay-dung"
    bad = client.get(url + "?all=1")
    assert bad.status_code == 400 and "all" in bad.json()["detail"]
    assert client.post(url).status_code == 405


# --- installable: manifest and service worker ------------------------------------------------------------


def test_the_manifest_makes_the_inspector_pages_installable(client):
    response = client.get("/inspections/manifest.webmanifest", HTTP_ACCEPT_LANGUAGE="vi")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    data = json.loads(response.content)
    assert data["display"] == "standalone"
    assert data["scope"] == "/inspections/" and data["start_url"].startswith(data["scope"])
    with translation.override("vi"):
        name = translation.gettext("ChildSafe Map · inspections")
    assert data["name"] == name != "ChildSafe Map · inspections"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        if icon["type"] == "image/png":
            with Image.open(path) as image:
                assert f"{image.width}x{image.height}" == icon["sizes"]


def test_the_service_worker_is_served_for_the_inspections_scope(client):
    response = client.get("/inspections/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/inspections/"
    assert "no-cache" in response["Cache-Control"]
    text = response.content.decode()
    config = json.loads(re.search(r"var CONFIG = (\{.*?\});", text).group(1))
    assert config["scope"] == "/inspections/" and config["offline_page"] == "/inspections/offline/"
    # Every file kept at install exists (a missing one would make the install fail on the phone).
    assert len(config["shell"]) == len(SHELL_STATIC)
    for url in config["shell"]:
        assert finders.find(url.removeprefix("/static/")), url
    # It never sends: POSTs are left to the page.
    assert 'request.method !== "GET"' in text


def test_inspector_pages_register_the_app_and_others_do_not(client, world):
    client.force_login(world["inspector"])
    page = client.get("/inspections/").content.decode()
    assert 'rel="manifest" href="/inspections/manifest.webmanifest"' in page
    assert 'data-sw="/inspections/sw.js"' in page and 'data-api="/api/v1/inspections/"' in page
    form = client.get(f"/inspections/sites/{world['sites']['open'].id}/inspect/").content
    assert b'id="save-on-phone"' in form
    client.force_login(world["leader"])
    inspection = Inspection.objects.get()
    # An area leader sees inspection records but does not inspect: no app for him.
    response = client.get(f"/inspections/{inspection.client_uuid}/")
    assert response.status_code == 200 and b"offline-app.js" not in response.content


def test_the_on_this_phone_page_in_vietnamese_then_english(client, world):
    client.force_login(world["inspector"])
    response = client.get("/inspections/offline/")
    assert response.status_code == 200
    page = response.content.decode()
    found = re.search(r'<script id="offline-messages" type="application/json">(.*?)</script>', page, re.S)
    messages = json.loads(found.group(1))
    with translation.override("vi"):
        assert messages["refused"] == translation.gettext("Refused by the server") != "Refused by the server"
        assert translation.gettext("Send now") in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/inspections/offline/"})
    page = client.get("/inspections/offline/").content.decode()
    assert "Send now" in page and "Add to Home screen" in page
    client.force_login(world["planner"])
    assert client.get("/inspections/offline/").status_code == 403


# --- what the phone sends later is stored once -----------------------------------------------------------


def test_the_phones_sends_repeated_store_one_inspection_and_one_photo(client, world):
    """The queue sends the inspection, then each photo; any of them may be sent again after a cut."""
    client.force_login(world["inspector"])
    client_uuid = str(uuid.uuid4())
    body = {
        "client_uuid": client_uuid,
        "site": world["sites"]["open"].id,
        "assignment": world["open"].id,
        "template_version": current_template(site_kind="construction_site").version,
        "performed_at": timezone.now().replace(microsecond=0).isoformat(),
        "position": {"lon": CITY[0], "lat": CITY[1] + 0.0003},
        "gps_accuracy_m": 15,
        "findings": "Lan can cầu hở",
        "answers": [
            {"item": i.code, "value": "fail" if n == 0 else "pass", "note": ""}
            for n, i in enumerate(world["items"])
        ],
    }
    before = Inspection.objects.count()
    first = client.post("/api/v1/inspections/", body, content_type="application/json")
    again = client.post("/api/v1/inspections/", body, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert Inspection.objects.count() == before + 1
    photo = jpeg()
    url = f"/api/v1/inspections/{client_uuid}/photos/"
    codes = []
    for _attempt in range(3):
        upload = io.BytesIO(photo)
        upload.name = "anh.jpg"
        codes.append(client.post(url, {"photo": upload, "item": world["items"][0].code}).status_code)
    assert codes == [201, 200, 200]
    stored = Inspection.objects.get(client_uuid=client_uuid)
    assert InspectionPhoto.objects.filter(inspection=stored).count() == 1
    assert f"photo_missing:{world['items'][0].code}" not in stored.flags
    # A send queued on a phone by someone else than who is logged in now is refused, storing nothing.
    other = dict(body, client_uuid=str(uuid.uuid4()))
    refused = client.post(
        "/api/v1/inspections/", other, content_type="application/json", HTTP_X_CLIENT_USER="off_colleague"
    )
    assert refused.status_code == 403 and "off_colleague" in refused.json()["client_user"][0]
    assert not Inspection.objects.filter(client_uuid=other["client_uuid"]).exists()
    upload = io.BytesIO(jpeg((1, 2, 250)))
    upload.name = "anh-3.jpg"
    assert client.post(url, {"photo": upload}, HTTP_X_CLIENT_USER="off_colleague").status_code == 403
    same_user = client.post(
        "/api/v1/inspections/", body, content_type="application/json", HTTP_X_CLIENT_USER="off_inspector"
    )
    assert same_user.status_code == 200
    # User names travel percent-encoded (a header cannot carry "Lò Văn Hùng"); they are compared decoded.
    world["inspector"].username = "lò.văn.hùng"
    world["inspector"].save()
    client.force_login(world["inspector"])
    name = "l%C3%B2.v%C4%83n.h%C3%B9ng"
    encoded = client.post(
        "/api/v1/inspections/", body, content_type="application/json", HTTP_X_CLIENT_USER=name
    )
    assert encoded.status_code == 200
    # A different photo is a new one.
    upload = io.BytesIO(jpeg((10, 200, 10)))
    upload.name = "anh-2.jpg"
    assert client.post(url, {"photo": upload}).status_code == 201
    assert InspectionPhoto.objects.filter(inspection=stored).count() == 2


# --- translations ----------------------------------------------------------------------------------------


def offline_msgids() -> set[str]:
    msgids = set()
    for name in ("offline.py", "api.py"):
        text = (ROOT / "inspections" / name).read_text("utf-8")
        msgids |= set(re.findall(r"""\b_\(\s*"((?:[^"\\]|\\.)*)"\s*[,)%]""", text))
    return msgids


def test_the_offline_messages_have_their_vietnamese_in_one_table():
    table = json.loads(TABLE_PATH.read_text("utf-8"))
    others = {}
    for path in sorted((ROOT / "locale/vi/translations").glob("*.json")):
        if path != TABLE_PATH:
            others.update(json.loads(path.read_text("utf-8")))
    assert not set(table) & set(others), "translated twice, possibly differently"
    missing = sorted(offline_msgids() - set(table) - set(others))
    assert not missing, f"add to {TABLE_PATH.name}: {missing}"
    placeholder = re.compile(r"%\(\w+\)s")
    for msgid, text in table.items():
        assert text and text != msgid, msgid
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(text)), msgid
