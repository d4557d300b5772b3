"""End to end on a phone-sized headless Chromium: an inspector opens an assignment from the
map list, lets the browser give the position, answers the checklist (one failure with a
photo), sends, and the database holds exactly one inspection with that position. A send
whose answer is lost on the way back is retried from the same form and stored once."""

from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import translation
from PIL import Image

from inspections.models import (
    ActionStatus,
    Agency,
    Assignment,
    AssignmentStatus,
    CorrectiveAction,
    Inspection,
    InspectionPhoto,
    Profile,
    Role,
)
from inspections.photos import distance_m
from inspections.selectors import current_template
from inspections.services import assignment_create
from places.selectors import today
from places.services import site_create

pytestmark = pytest.mark.slow

SITE = (103.4571, 22.3964)  # Phường Đoàn Kết, Lai Châu
# Where the phone says the inspector stands: about 60 m north-east of the site.
STANDING = {"longitude": 103.45745, "latitude": 22.39685, "accuracy": 12}


@pytest.fixture
def field(lai_chau, django_user_model, tmp_path):
    xd = Agency.objects.get(code="so-xay-dung")
    site = site_create(
        kind="construction_site",
        name="Công trình trường mầm non bản Lản Nhì Thàng",
        geom=Point(*SITE, srid=4326),
        attributes={"permit_number": "GP-11/2026", "contractor": "Công ty XD Sìn Hồ"},
    )
    assert site.agency == xd
    inspector = django_user_model.objects.create_user("e2e_inspector", password="pw-e2e-inspector")
    Profile.objects.create(user=inspector, role=Role.INSPECTOR, agency=xd)
    manager = django_user_model.objects.create_user("e2e_manager", password="pw-e2e-manager")
    Profile.objects.create(user=manager, role=Role.AGENCY_MANAGER, agency=xd)
    assignment = assignment_create(
        manager=manager, sites=[site.id], inspector=inspector, due_date=today() + timedelta(days=5)
    ).created[0]
    photo = tmp_path / "ho-mong-khong-che.jpg"
    Image.new("RGB", (320, 240), (200, 60, 40)).save(photo, "JPEG")
    items = list(current_template(site_kind="construction_site").items.all())
    return {"site": site, "inspector": inspector, "assignment": assignment, "photo": photo, "items": items}


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def answer_everything(page, items, failed_code):
    for item in items:
        value = "fail" if item.code == failed_code else "pass"
        page.locator(f"#answer-{item.code}-{value}").check()


def test_inspection_from_the_phone_with_the_browsers_position_and_a_photo(phone, live_server, field):
    site, items = field["site"], field["items"]
    failed = items[0]
    page = phone(field["inspector"], geolocation=STANDING)

    # My assignments: the list and its offline SVG map, on a 360 px screen.
    page.goto(f"{live_server.url}/inspections/")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("#site-map a circle").count() == 1
    assert no_horizontal_scroll(page)
    page.locator(f"#assignment-{field['assignment'].id} a").click()
    page.wait_for_url(f"**/inspections/sites/{site.id}/inspect/?assignment={field['assignment'].id}")
    assert no_horizontal_scroll(page)

    # The client UUID was made by the page's script, once.
    client_uuid = page.locator("#id_client_uuid").input_value()
    assert len(client_uuid) == 36

    # The position comes from the browser's geolocation, only when asked for.
    assert page.locator("#id_lon").input_value() == ""
    button = page.locator("#use-location")
    with translation.override("vi"):
        assert button.inner_text() == translation.gettext("Use my location")
    button.click()
    page.wait_for_function("() => document.getElementById('id_lon').value !== ''")
    assert float(page.locator("#id_lon").input_value()) == pytest.approx(STANDING["longitude"], abs=1e-6)
    assert float(page.locator("#id_lat").input_value()) == pytest.approx(STANDING["latitude"], abs=1e-6)
    assert float(page.locator("#id_accuracy").input_value()) == 12

    # Photo inputs show for failed items only.
    photo_box = page.locator(f'.photo[data-photo-for="{failed.code}"]')
    assert not photo_box.is_visible()
    answer_everything(page, items, failed.code)
    assert photo_box.is_visible()
    assert not page.locator(f'.photo[data-photo-for="{items[1].code}"]').is_visible()
    page.locator(f"#id_note-{failed.code}").fill("Hố móng sâu 2 m không có rào che")
    page.locator(f"#photo-{failed.code}").set_input_files(str(field["photo"]))
    page.locator("#id_findings").fill("Nhắc nhà thầu rào hố móng trong tuần.")
    page.locator("#submit-inspection").click()
    page.wait_for_url(f"**/inspections/{client_uuid}/")
    # The stored photo is served back to its inspector (lazy: it loads once scrolled to).
    page.locator(".photos img").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('.photos img').naturalWidth > 0")
    assert page.evaluate("() => document.querySelector('.photos img').naturalWidth") == 320
    assert no_horizontal_scroll(page)

    # Exactly one inspection, where the browser said the inspector stood.
    inspection = Inspection.objects.get()
    assert str(inspection.client_uuid) == client_uuid
    assert inspection.inspector == field["inspector"] and inspection.assignment == field["assignment"]
    assert inspection.position.x == pytest.approx(STANDING["longitude"], abs=1e-6)
    assert inspection.position.y == pytest.approx(STANDING["latitude"], abs=1e-6)
    assert inspection.gps_accuracy_m == 12
    expected = distance_m(*SITE, STANDING["longitude"], STANDING["latitude"])
    assert 30 < expected < 100
    assert inspection.distance_to_site_m == pytest.approx(expected, rel=0.01)
    assert "far_from_site" not in inspection.flags and not inspection.location_flagged
    assert inspection.result == "fail"
    assert inspection.findings == "Nhắc nhà thầu rào hố móng trong tuần."
    assert inspection.answers.get(item=failed).note == "Hố móng sâu 2 m không có rào che"
    assert inspection.answers.filter(value="pass").count() == len(items) - 1
    # The failed item opened a corrective action; its photo is stored (and no longer missing).
    action = CorrectiveAction.objects.get()
    assert action.opened_by == inspection and action.item_code == failed.code
    assert action.status == ActionStatus.OPEN and action.site == site
    photo = InspectionPhoto.objects.get()
    assert photo.inspection == inspection and photo.item == failed
    assert (photo.width, photo.height) == (320, 240)
    assert photo.file.storage.exists(photo.file.name)
    assert f"photo_missing:{failed.code}" not in inspection.flags
    assert Assignment.objects.get(pk=field["assignment"].pk).status == AssignmentStatus.DONE
    # The draft kept on the phone is forgotten once the inspection is received.
    assert page.evaluate("() => window.localStorage.length") == 0


def test_a_send_whose_answer_is_lost_is_retried_and_stored_once(phone, live_server, field):
    site, items = field["site"], field["items"]
    page = phone(field["inspector"], geolocation=STANDING)
    url = f"{live_server.url}/inspections/sites/{site.id}/inspect/?assignment={field['assignment'].id}"
    page.goto(url)
    client_uuid = page.locator("#id_client_uuid").input_value()
    page.locator("#use-location").click()
    page.wait_for_function("() => document.getElementById('id_lon').value !== ''")
    answer_everything(page, items, failed_code=items[1].code)
    page.locator("#id_findings").fill("Mất sóng khi gửi")

    # The server receives the first send, but its answer never reaches the phone.
    sends = []

    def lose_the_answer(route):
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch(max_redirects=0)
        sends.append(response.status)
        if len(sends) == 1:
            route.abort("internetdisconnected")
        else:
            route.fulfill(response=response)

    page.route("**/inspect/*", lose_the_answer)
    with page.expect_event("requestfailed"):
        page.locator("#submit-inspection").click()
    page.wait_for_url(lambda url: url.startswith("chrome-error://"))  # the browser's "no connection" page
    assert sends == [302]
    assert Inspection.objects.count() == 1

    # Back on the form, everything is there (the draft on the phone) with the same UUID: send again.
    page.goto(url)
    assert page.locator("#id_client_uuid").input_value() == client_uuid
    assert page.locator("#draft-notice").is_visible()
    assert page.locator("#id_findings").input_value() == "Mất sóng khi gửi"
    assert page.locator(f"#answer-{items[1].code}-fail").is_checked()
    page.locator("#submit-inspection").click()
    page.wait_for_url(f"**/inspections/{client_uuid}/")
    assert sends == [302, 302]
    with translation.override("vi"):
        notice = translation.gettext("This inspection had already been received; it was not stored twice.")
    assert notice in page.locator(".messages").inner_text()
    assert Inspection.objects.count() == 1
    assert CorrectiveAction.objects.count() == 1
