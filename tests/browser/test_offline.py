"""Offline field capture on a phone-sized headless Chromium (Debian's, driven by Playwright).

The inspector opens the app once with signal (the service worker and his bundle are kept on the
phone), loses the connection (the browser context goes offline), records inspections with photos,
reloads and reopens the app with no signal and finds them waiting, then gets signal back: each
inspection and each photo is stored exactly once on the server, also when a send is cut halfway
and retried, and an inspection the server refuses stays on the phone with the server's reason.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.test import Client
from django.utils import timezone, translation
from PIL import Image

from inspections.models import (
    Agency,
    Assignment,
    AssignmentStatus,
    Inspection,
    InspectionPhoto,
    Profile,
    Role,
)
from inspections.selectors import current_template
from inspections.services import assignment_create, assignment_update
from places.selectors import today
from places.services import site_create, site_update
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"
SITE_A = (103.4571, 22.3964)  # Phường Đoàn Kết, Lai Châu
SITE_B = (103.4620, 22.4010)
STANDING = {"longitude": 103.45745, "latitude": 22.39685, "accuracy": 12}
READY = (
    "() => navigator.serviceWorker.controller !== null"
    " && document.documentElement.dataset.offlineReady === '1'"
)


@pytest.fixture
def field(lai_chau, django_user_model, tmp_path):
    xd = Agency.objects.get(code="so-xay-dung")

    def person(name, role):
        user = django_user_model.objects.create_user(name, password="pw-" + name)
        Profile.objects.create(user=user, role=role, agency=xd)
        return user

    inspector = person("offline_inspector", Role.INSPECTOR)
    colleague = person("offline_colleague", Role.INSPECTOR)
    manager = person("offline_manager", Role.AGENCY_MANAGER)
    sites = [
        site_create(
            kind="construction_site",
            name=name,
            geom=Point(*where, srid=4326),
            attributes={"permit_number": permit, "contractor": "Công ty XD Tam Đường"},
        )
        for name, where, permit in [
            ("Công trình trạm y tế bản Sang Ngà", SITE_A, "GP-21/2026"),
            ("Công trình nhà văn hóa bản Cư Nhà La", SITE_B, "GP-22/2026"),
        ]
    ]
    due = today() + timedelta(days=5)
    assignments = assignment_create(
        manager=manager, sites=[s.id for s in sites], inspector=inspector, due_date=due
    ).created
    photos = []
    for n, colour in enumerate([(200, 60, 40), (40, 90, 200)]):
        path = tmp_path / f"anh-{n}.jpg"
        Image.new("RGB", (320, 240), colour).save(path, "JPEG")
        photos.append(path)
    items = list(current_template(site_kind="construction_site").items.all())
    return {
        "sites": sites,
        "assignments": sorted(assignments, key=lambda a: a.site_id),
        "inspector": inspector,
        "colleague": colleague,
        "manager": manager,
        "photos": photos,
        "items": items,
    }


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"offline-{name}.png"), full_page=True)


def open_app(phone, live_server, field):
    page = phone(field["inspector"], geolocation=STANDING)
    page.goto(f"{live_server.url}/inspections/offline/")
    page.wait_for_function(READY)
    return page


def inspect_offline(page, live_server, field, assignment, photo, failed_code, findings, screenshot=""):
    """Fill in the form of `assignment` with no signal; return the client UUID it was saved with."""
    page.goto(f"{live_server.url}/inspections/sites/{assignment.site_id}/inspect/?assignment={assignment.id}")
    client_uuid = page.locator("#id_client_uuid").input_value()
    assert len(client_uuid) == 36
    with translation.override("vi"):
        offline_line = translation.gettext("Offline: inspections are saved on the phone.")
    assert page.locator("#save-status").inner_text() == offline_line
    page.locator("#use-location").click()
    page.wait_for_function("() => document.getElementById('id_lon').value !== ''")
    for item in field["items"]:
        page.locator(f"#answer-{item.code}-{'fail' if item.code == failed_code else 'pass'}").check()
    page.locator(f"#photo-{failed_code}").set_input_files(str(photo))
    page.locator("#id_findings").fill(findings)
    if screenshot:
        shot(page, screenshot)
    page.locator("#submit-inspection").click()
    page.wait_for_url("**/inspections/offline/?saved=*")
    page.locator(f'#outbox li[data-uuid="{client_uuid}"]').wait_for()
    return client_uuid


def wait_status(page, client_uuid, status, timeout=15_000):
    page.wait_for_function(
        '([uuid, status]) => { const li = document.querySelector(`#outbox li[data-uuid="${uuid}"]`);'
        " return li !== null && li.dataset.status === status; }",
        arg=[client_uuid, status],
        timeout=timeout,
    )


def statuses(page) -> dict[str, str]:
    return page.evaluate(
        "() => Object.fromEntries(Array.from(document.querySelectorAll('#outbox li'))"
        ".map(li => [li.dataset.uuid, li.dataset.status]))"
    )


def test_two_inspections_made_offline_survive_a_reload_and_are_stored_once(phone, live_server, field):
    items = field["items"]
    page = open_app(phone, live_server, field)
    context = page.context
    # Everything the inspector needs was downloaded: his two sites on the map, his assignments.
    assert page.locator("#offline-map a circle").count() == 2
    assert page.locator("#offline-map .boundary path").count() >= 1
    assert page.locator("#offline-assignments li").count() == 2
    # Installable: Chromium reads the manifest without error and has no objection but the test
    # browser's own private ("incognito") profile.
    cdp = context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and manifest["manifest"]["display"] == "kStandalone"
    installability = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert {e["errorId"] for e in installability} <= {"in-incognito"}
    cdp.detach()

    context.set_offline(True)
    page.reload()
    assert page.evaluate("() => navigator.onLine") is False
    assert page.locator("#connection.is-offline").is_visible()
    first = inspect_offline(
        page,
        live_server,
        field,
        field["assignments"][0],
        field["photos"][0],
        items[0].code,
        "Không có rào",
        screenshot="0-form-offline",
    )
    second = inspect_offline(
        page, live_server, field, field["assignments"][1], field["photos"][1], items[1].code, "Thiếu biển báo"
    )
    assert statuses(page) == {first: "waiting", second: "waiting"}
    assert Inspection.objects.count() == 0

    # Reloaded and then reopened in a new tab, still without signal: both wait, the map is drawn.
    page.reload()
    page.locator("#outbox li").nth(1).wait_for()
    assert statuses(page) == {first: "waiting", second: "waiting"}
    page.close()
    page = context.new_page()
    page.goto(f"{live_server.url}/inspections/offline/")
    page.locator("#outbox li").nth(1).wait_for()
    assert statuses(page) == {first: "waiting", second: "waiting"}
    assert page.locator("#offline-map a circle").count() == 2
    with translation.override("vi"):
        assert page.locator("#outbox li .state").first.inner_text() == translation.gettext("Waiting to send")
    # Oldest first.
    assert page.locator("#outbox li").first.get_attribute("data-uuid") == first
    shot(page, "1-waiting")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert Inspection.objects.count() == 0

    # Meanwhile the second assignment goes to a colleague and the first site is edited on the server.
    assignment_update(user=field["manager"], assignment=field["assignments"][1], inspector=field["colleague"])
    site_update(site=field["sites"][0], name="Trạm y tế bản Sang Ngà (đã sửa)")

    # Signal again: both are sent by themselves, each stored exactly once with its photo.
    context.set_offline(False)
    page.wait_for_function(
        "() => document.querySelectorAll('#outbox li[data-status=\"sent\"]').length === 2", timeout=30_000
    )
    shot(page, "2-sent")
    assert Inspection.objects.count() == 2
    assert InspectionPhoto.objects.count() == 2
    one, two = Inspection.objects.get(client_uuid=first), Inspection.objects.get(client_uuid=second)
    assert one.assignment == field["assignments"][0] and one.findings == "Không có rào"
    assert one.photos.get().item == items[0] and two.photos.get().item == items[1]
    assert one.position.x == pytest.approx(STANDING["longitude"], abs=1e-6)
    assert one.performed_at <= timezone.now()
    # The reassigned assignment was accepted and flagged for the manager; the edited site did not block.
    assert "reassigned" in two.flags and "reassigned" not in one.flags
    assert page.locator(f'#outbox li[data-uuid="{second}"] .flag-reassigned').is_visible()
    assert set(Assignment.objects.values_list("status", flat=True)) == {AssignmentStatus.DONE}
    # Both assignments are done: the list kept on the phone is downloaded again, now empty.
    page.locator("#offline-assignments li.empty").wait_for()

    # Sending again (the button, another page load) stores nothing more.
    page.locator("#send-now").click()
    page.reload()
    page.wait_for_function(READY)
    assert statuses(page) == {first: "sent", second: "sent"}
    assert (Inspection.objects.count(), InspectionPhoto.objects.count()) == (2, 2)
    # The inspector clears the list; the server keeps both.
    page.locator("#clear-sent").click()
    page.wait_for_function("() => document.querySelectorAll('#outbox li').length === 0")
    assert Inspection.objects.count() == 2


def test_a_send_cut_halfway_is_retried_and_stored_once(phone, live_server, field):
    items = field["items"]
    page = open_app(phone, live_server, field)
    context = page.context
    context.set_offline(True)
    client_uuid = inspect_offline(
        page, live_server, field, field["assignments"][0], field["photos"][0], items[0].code, "Mất sóng"
    )

    # The server stores the inspection and then the photo, but both answers are lost on the way back.
    seen = {"inspection": [], "photo": []}

    def lose_first_answer(kind):
        def handler(route):
            if route.request.method != "POST":
                route.continue_()
                return
            response = route.fetch()
            seen[kind].append(response.status)
            if len(seen[kind]) == 1:
                route.abort("internetdisconnected")
            else:
                route.fulfill(response=response)

        return handler

    page.route("**/api/v1/inspections/", lose_first_answer("inspection"))
    page.route("**/api/v1/inspections/*/photos/", lose_first_answer("photo"))
    context.set_offline(False)
    wait_status(page, client_uuid, "waiting")
    page.locator("#outbox li .reason").wait_for()
    assert seen["inspection"] == [201]
    assert Inspection.objects.count() == 1  # stored, but the phone does not know it
    shot(page, "3-interrupted")

    # Sent again: the server recognises the inspection (200) and the photo (stored once).
    page.locator("#send-now").click()
    wait_status(page, client_uuid, "sent", timeout=30_000)
    assert seen["inspection"] == [201, 200]
    assert seen["photo"] == [201, 200]
    assert Inspection.objects.count() == 1
    assert InspectionPhoto.objects.count() == 1
    assert str(Inspection.objects.get().client_uuid) == client_uuid


def test_a_wifi_login_page_answering_instead_of_the_server_is_not_taken_for_sent(phone, live_server, field):
    items = field["items"]
    page = open_app(phone, live_server, field)
    context = page.context
    context.set_offline(True)
    client_uuid = inspect_offline(
        page, live_server, field, field["assignments"][1], field["photos"][1], items[1].code, "Wi-Fi nhà nghỉ"
    )
    answered = []

    def portal_first(route):
        if route.request.method == "POST" and not answered:
            answered.append("portal")
            route.fulfill(status=200, content_type="text/html", body="<html>Đăng nhập Wi-Fi</html>")
        else:
            route.continue_()

    page.route("**/api/v1/inspections/", portal_first)
    context.set_offline(False)
    wait_status(page, client_uuid, "waiting")
    page.locator("#outbox li .reason").wait_for()
    assert answered == ["portal"] and Inspection.objects.count() == 0
    page.locator("#send-now").click()
    wait_status(page, client_uuid, "sent", timeout=30_000)
    assert (Inspection.objects.count(), InspectionPhoto.objects.count()) == (1, 1)


def test_a_refused_inspection_stays_on_the_phone_with_the_servers_reason(phone, live_server, field):
    items = field["items"]
    page = open_app(phone, live_server, field)
    context = page.context
    context.set_offline(True)
    assignment = field["assignments"][0]
    client_uuid = inspect_offline(
        page, live_server, field, assignment, field["photos"][0], items[0].code, "Hố móng sâu"
    )
    # The manager cancels the assignment while the inspector has no signal.
    assignment_update(user=field["manager"], assignment=assignment, status=AssignmentStatus.CANCELLED)

    context.set_offline(False)
    row = page.locator(f'#outbox li[data-uuid="{client_uuid}"]')
    wait_status(page, client_uuid, "refused")
    with translation.override("vi"):
        expected = translation.gettext("the assignment was cancelled on %(day)s") % {
            "day": timezone.localtime(Assignment.objects.get(pk=assignment.pk).updated_at).date()
        }
        assert row.locator(".state").inner_text() == translation.gettext("Refused by the server")
    assert expected in row.locator(".reason").inner_text()
    shot(page, "4-refused")
    assert Inspection.objects.count() == 0

    # Kept on the phone: a reload (with signal) does not drop it, nor send it again by itself.
    page.reload()
    page.wait_for_function(READY)
    row.wait_for()
    assert row.get_attribute("data-status") == "refused"
    assert expected in row.locator(".reason").inner_text()
    assert Inspection.objects.count() == 0

    # The inspector edits it: the form opens filled in, without the cancelled assignment; saving it
    # again replaces the kept one (the photo stays with it) and it is sent.
    row.locator(".js-edit").click()
    page.wait_for_url(f"**/inspections/sites/{assignment.site_id}/inspect/")
    assert page.locator("#id_client_uuid").input_value() == client_uuid
    assert page.locator("#outbox-notice").is_visible()
    assert page.locator("#id_findings").input_value() == "Hố móng sâu"
    assert page.locator(f"#answer-{items[0].code}-fail").is_checked()
    page.locator("#submit-inspection").click()
    page.wait_for_url("**/inspections/offline/?saved=*")
    wait_status(page, client_uuid, "sent", timeout=30_000)
    stored = Inspection.objects.get()
    assert str(stored.client_uuid) == client_uuid and stored.assignment is None
    assert stored.findings == "Hố móng sâu"
    assert InspectionPhoto.objects.get().inspection == stored


def test_discarding_a_refused_inspection_asks_first(phone, live_server, field):
    items = field["items"]
    page = open_app(phone, live_server, field)
    context = page.context
    context.set_offline(True)
    assignment = field["assignments"][1]
    client_uuid = inspect_offline(
        page, live_server, field, assignment, field["photos"][1], items[1].code, "Bỏ đi"
    )
    assignment_update(user=field["manager"], assignment=assignment, status=AssignmentStatus.CANCELLED)
    context.set_offline(False)
    row = page.locator(f'#outbox li[data-uuid="{client_uuid}"]')
    wait_status(page, client_uuid, "refused")
    # Saying no keeps it; saying yes removes it from the phone.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.locator(".js-discard").click()
    page.wait_for_timeout(300)
    assert row.count() == 1
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator(".js-discard").click()
    page.wait_for_function("() => document.querySelectorAll('#outbox li').length === 0")
    page.reload()
    page.wait_for_function(READY)
    assert page.locator("#outbox li").count() == 0
    assert Inspection.objects.count() == 0


def test_on_a_shared_phone_each_inspection_is_sent_under_its_own_inspectors_login(phone, live_server, field):
    items = field["items"]
    page = open_app(phone, live_server, field)
    context = page.context
    context.set_offline(True)
    client_uuid = inspect_offline(
        page, live_server, field, field["assignments"][0], field["photos"][0], items[0].code, "Máy dùng chung"
    )

    def log_in(user):
        other = Client()
        other.force_login(user)
        context.add_cookies(
            [{"name": "sessionid", "value": other.cookies["sessionid"].value, "url": live_server.url}]
        )

    # A colleague logs in on the same phone, with signal: the first inspector's inspection waits.
    log_in(field["colleague"])
    context.set_offline(False)
    page.reload()
    page.wait_for_function("() => document.documentElement.dataset.offlineFetched !== undefined")
    wait_status(page, client_uuid, "waiting")
    page.locator("#send-now").click()
    page.wait_for_timeout(500)
    assert statuses(page) == {client_uuid: "waiting"}
    assert field["inspector"].username in page.locator("#outbox li .reason").inner_text()
    assert page.locator("#offline-assignments li.empty").count() == 1  # his own (empty) bundle
    assert Inspection.objects.count() == 0
    # Back under the first inspector: it is sent, as his.
    log_in(field["inspector"])
    page.reload()
    wait_status(page, client_uuid, "sent", timeout=30_000)
    assert Inspection.objects.get().inspector == field["inspector"]


COUNT_KEPT = """async () => {
  const db = await new Promise((ok, ko) => { const r = indexedDB.open("childsafe-field"); r.onsuccess = () => ok(r.result); r.onerror = ko; });
  const count = await new Promise((ok) => { const r = db.transaction("outbox").objectStore("outbox").count(); r.onsuccess = () => ok(r.result); });
  const bundle = await new Promise((ok) => { const r = db.transaction("meta").objectStore("meta").get("bundle"); r.onsuccess = () => ok(r.result || null); });
  db.close();
  return {outbox: count, bundle: bundle !== null, pages: await caches.has("childsafe-pages")};
}"""  # noqa: E501


def test_logging_out_forgets_the_downloads_but_keeps_what_waits(phone, live_server, field, client):
    items = field["items"]
    page = open_app(phone, live_server, field)
    context = page.context
    assert page.evaluate(COUNT_KEPT) == {"outbox": 0, "bundle": True, "pages": True}
    context.set_offline(True)
    client_uuid = inspect_offline(
        page, live_server, field, field["assignments"][0], field["photos"][0], items[0].code, "Đăng xuất"
    )
    page.route("**/api/v1/inspections/**", lambda route: route.abort("internetdisconnected"))
    context.set_offline(False)
    wait_status(page, client_uuid, "waiting")
    page.locator(".account button[type=submit]").click()
    page.wait_for_url(lambda url: "/inspections/" not in url)
    assert page.evaluate(COUNT_KEPT) == {"outbox": 1, "bundle": False, "pages": False}
    assert Inspection.objects.count() == 0
    # Logged in again, it goes.
    page.unroute("**/api/v1/inspections/**")
    client.force_login(field["inspector"])
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/inspections/offline/")
    wait_status(page, client_uuid, "sent", timeout=30_000)
    assert (Inspection.objects.count(), InspectionPhoto.objects.count()) == (1, 1)


def test_closing_the_browser_and_opening_it_again_without_signal_keeps_what_waits(
    browser, live_server, field, client, tmp_path
):
    """A real browser profile on disk: the browser is closed and started again, still offline."""
    items = field["items"]
    client.force_login(field["inspector"])
    session = client.cookies["sessionid"].value
    profile = tmp_path / "chromium-profile"

    def start(offline: bool):
        context = browser.browser_type.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            **PHONE,
            locale="vi-VN",
            geolocation=STANDING,
            permissions=["geolocation"],
            offline=offline,
        )
        context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
        context.set_default_timeout(15_000)
        return context, (context.pages[0] if context.pages else context.new_page())

    context, page = start(offline=False)
    try:
        page.goto(f"{live_server.url}/inspections/offline/")
        page.wait_for_function(READY)
        context.set_offline(True)
        client_uuid = inspect_offline(
            page, live_server, field, field["assignments"][0], field["photos"][0], items[0].code, "Tắt máy"
        )
    finally:
        context.close()

    context, page = start(offline=True)
    try:
        page.goto(f"{live_server.url}/inspections/offline/")
        wait_status(page, client_uuid, "waiting")
        assert page.locator("#offline-map a circle").count() == 2
        assert Inspection.objects.count() == 0
        context.set_offline(False)
        wait_status(page, client_uuid, "sent", timeout=30_000)
    finally:
        context.close()
    assert (Inspection.objects.count(), InspectionPhoto.objects.count()) == (1, 1)


def test_saving_on_the_phone_by_choice_checks_the_form_then_sends_from_the_queue(phone, live_server, field):
    """With weak signal the inspector may prefer to save first; an unanswered item stops him first."""
    items = field["items"]
    page = open_app(phone, live_server, field)
    assignment = field["assignments"][1]
    page.goto(f"{live_server.url}/inspections/sites/{assignment.site_id}/inspect/?assignment={assignment.id}")
    client_uuid = page.locator("#id_client_uuid").input_value()
    save = page.locator("#save-on-phone")
    assert save.is_visible()
    page.locator(f"#answer-{items[0].code}-pass").check()
    save.click()  # the other items are unanswered: the browser says so, nothing is saved
    page.wait_for_timeout(300)
    assert "/inspect/" in page.url
    assert page.evaluate(COUNT_KEPT)["outbox"] == 0
    for item in items:
        page.locator(f"#answer-{item.code}-{'fail' if item == items[2] else 'pass'}").check()
    page.locator(f"#photo-{items[2].code}").set_input_files(str(field["photos"][1]))
    save.click()
    page.wait_for_url("**/inspections/offline/?saved=*")
    wait_status(page, client_uuid, "sent", timeout=30_000)
    stored = Inspection.objects.get()
    assert str(stored.client_uuid) == client_uuid and stored.position is None
    assert "no_position" in stored.flags
    assert stored.photos.get().item == items[2]


def test_a_new_assignment_seen_on_my_assignments_is_downloaded_for_offline_use(phone, live_server, field):
    page = open_app(phone, live_server, field)
    fetched = page.evaluate("() => document.documentElement.dataset.offlineFetched")
    # Opening "My assignments" again soon after downloads nothing new...
    page.goto(f"{live_server.url}/inspections/")
    page.wait_for_function(READY)
    page.wait_for_timeout(500)
    assert page.evaluate("() => document.documentElement.dataset.offlineFetched") == fetched
    # ...but once the manager has given him a new assignment, it is downloaded at once.
    site = site_create(
        kind="construction_site",
        name="Công trình kè chống sạt lở bản Nà Bó",
        geom=Point(103.4650, 22.3950, srid=4326),
        attributes={"permit_number": "GP-23/2026", "contractor": "Công ty XD Tam Đường"},
    )
    new = assignment_create(
        manager=field["manager"],
        sites=[site.id],
        inspector=field["inspector"],
        due_date=today() + timedelta(days=3),
    ).created[0]
    page.goto(f"{live_server.url}/inspections/")
    page.wait_for_function(
        "(before) => ![undefined, before].includes(document.documentElement.dataset.offlineFetched)",
        arg=fetched,
    )
    page.context.set_offline(True)
    page.goto(f"{live_server.url}/inspections/sites/{site.id}/inspect/?assignment={new.id}")
    assert page.locator("#inspection-form").get_attribute("data-site") == str(site.id)
    page.goto(f"{live_server.url}/inspections/offline/")
    page.locator(f"#offline-assignment-{new.id}").wait_for()
    assert page.locator("#offline-map a circle").count() == 3
