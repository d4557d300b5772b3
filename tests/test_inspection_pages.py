"""The inspection pages: Vietnamese first and English second, roles (403) and scope (404),
the inspection form keeping what was typed on an error, and idempotent sending."""

import ast
import io
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from django.utils.html import escape
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
from inspections.selectors import current_template
from inspections.services import AnswerIn, assignment_create, inspection_submit
from places.selectors import today
from places.services import site_create

ROOT = Path(__file__).resolve().parent.parent
TABLES = sorted((ROOT / "locale/vi/translations").glob("*.json"))
TABLE = json.loads((ROOT / "locale/vi/translations/inspections_pages.json").read_text("utf-8"))
# What the catalogue says after po_fill.py: every area's table (the pages also show model labels).
VI = {k: v for path in TABLES for k, v in json.loads(path.read_text("utf-8")).items()}
CITY = (103.4571, 22.3964)  # Phường Đoàn Kết, Lai Châu
SIN_HO = (103.2411, 22.3606)


def vi(msgid: str) -> str:
    return VI[msgid]


@pytest.fixture
def compiled_catalogue():
    """The page messages must be in the compiled catalogue, or "Vietnamese first" cannot hold."""
    with translation.override("vi"):
        missing = [m for m in ("My assignments", "Use my location") if translation.gettext(m) != TABLE[m]]
    if missing:
        pytest.fail(
            f"locale/vi/LC_MESSAGES/django.mo lacks {missing}: run `manage.py makemessages -l vi`, "
            "`python scripts/po_fill.py`, then `manage.py compilemessages`"
        )


def jpeg(size=(64, 48), color="red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def world(compiled_catalogue, lai_chau, django_user_model):
    def person(name, role, agency=None, area=None):
        user = django_user_model.objects.create_user(name, password="pw-" + name)
        Profile.objects.create(user=user, role=role, agency=agency, area=area)
        return user

    xd = Agency.objects.get(code="so-xay-dung")
    site = site_create(
        kind="construction_site",
        name="Công trình nhà văn hóa bản Nà Khum",
        geom=Point(*CITY, srid=4326),
        attributes={"permit_number": "GP-07/2026", "contractor": "Công ty XD Phong Thổ"},
    )
    hotspot = site_create(
        kind="drowning_hotspot",
        name="Ao bản Sìn Hồ",
        geom=Point(*SIN_HO, srid=4326),
        attributes={"water_type": "pond"},
    )
    assert site.agency == xd and hotspot.agency != xd
    w = {
        "xd": xd,
        "site": site,
        "hotspot": hotspot,
        "inspector": person("pg_inspector", Role.INSPECTOR, xd),
        "manager": person("pg_manager", Role.AGENCY_MANAGER, xd),
        "other_inspector": person("pg_commune_inspector", Role.INSPECTOR, hotspot.agency),
        "planner": person("pg_planner", Role.PLANNER),
        "nobody": django_user_model.objects.create_user("pg_nobody", password="pw-nobody"),
    }
    result = assignment_create(
        manager=w["manager"], sites=[site.id], inspector=w["inspector"], due_date=today() + timedelta(days=7)
    )
    w["assignment"] = result.created[0]
    w["template"] = current_template(site_kind="construction_site")
    w["items"] = list(w["template"].items.all())
    return w


def form_data(w, **overrides) -> dict:
    data = {
        "client_uuid": str(uuid.uuid4()),
        "performed_at": timezone.localtime().replace(microsecond=0).isoformat(),
        "template_version": str(w["template"].version),
        "assignment": str(w["assignment"].id),
        "lon": "103.457300",
        "lat": "22.396500",
        "accuracy": "9.5",
        "findings": "Hàng rào phía đông bị hở một đoạn 3 m.",
    }
    for item in w["items"]:
        data[f"answer-{item.code}"] = "pass"
        data[f"note-{item.code}"] = ""
    data.update(overrides)
    return data


def inspect_url(w, site=None) -> str:
    return f"/inspections/sites/{(site or w['site']).id}/inspect/?assignment={w['assignment'].id}"


def submitted(w, user=None):
    return inspection_submit(
        user=user or w["inspector"],
        client_uuid=uuid.uuid4(),
        site_id=w["site"].id,
        assignment_id=w["assignment"].id,
        performed_at=timezone.now(),
        position=Point(103.4572, 22.3965, srid=4326),
        gps_accuracy_m=8.0,
        answers=[AnswerIn(item=i.code, value="fail" if n == 0 else "pass") for n, i in enumerate(w["items"])],
    ).inspection


def html(response) -> str:
    return response.content.decode()


# --- languages ----------------------------------------------------------------------------------------


def test_every_page_renders_in_vietnamese_by_default_then_in_english(client, world):
    w = world
    inspection = submitted(w)
    item = w["items"][0]
    inspector_pages = [
        ("/inspections/", "My assignments"),
        (inspect_url(w), "Use my location"),
        ("/inspections/mine/", "Submitted inspections"),
        (f"/inspections/{inspection.client_uuid}/", "Inspection record"),
    ]
    manager_pages = [
        ("/inspections/assign/", "Assign inspections"),
        ("/inspections/overdue/", "Overdue assignments"),
        ("/inspections/actions/", "Corrective actions"),
    ]
    for user, pages in ((w["inspector"], inspector_pages), (w["manager"], manager_pages)):
        client.force_login(user)
        client.cookies.pop("django_language", None)
        for url, msgid in pages:
            page = client.get(url)
            assert page.status_code == 200, url
            assert '<html lang="vi">' in html(page), url
            assert vi(msgid) in html(page), url
            assert msgid not in html(page), url
        client.post("/i18n/setlang/", {"language": "en", "next": "/"})
        for url, msgid in pages:
            page = client.get(url)
            assert page.status_code == 200, url
            assert '<html lang="en">' in html(page), url
            assert msgid in html(page), url
            assert vi(msgid) not in html(page), url
    # The checklist speaks the page's language.
    client.force_login(w["inspector"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert item.question_en in html(client.get(inspect_url(w)))
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    page = html(client.get(inspect_url(w)))
    assert item.question in page and vi("Not applicable") in page


def test_pages_need_a_login(client, world):
    for url in ("/inspections/", inspect_url(world), "/inspections/mine/", "/inspections/assign/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


# --- roles and scope ----------------------------------------------------------------------------------


def test_manager_pages_are_403_for_an_inspector(client, world):
    client.force_login(world["inspector"])
    for url in ("/inspections/assign/", "/inspections/overdue/", "/inspections/actions/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert vi("Not allowed") in html(response)
    assert client.post("/inspections/actions/1/report-done/").status_code == 403
    assert client.post("/inspections/assign/", {"scope": "all"}).status_code == 403


def test_inspector_pages_are_403_without_an_inspecting_role(client, world):
    for user in (world["planner"], world["nobody"]):
        client.force_login(user)
        for url in ("/inspections/", inspect_url(world), "/inspections/mine/"):
            assert client.get(url).status_code == 403, (user, url)


def test_another_agencys_site_and_records_are_404(client, world):
    w = world
    client.force_login(w["inspector"])
    other = f"/inspections/sites/{w['hotspot'].id}/inspect/"
    assert client.get(other).status_code == 404
    assert client.post(other, form_data(w, assignment="")).status_code == 404
    assert client.get("/inspections/sites/999999999/inspect/").status_code == 404
    assert client.get("/inspections/sites/99999999999999999999999/inspect/").status_code == 404
    huge = f"/inspections/sites/{w['site'].id}/inspect/?assignment=99999999999999999999999"
    assert client.get(huge).status_code == 404
    assert client.get(f"/inspections/sites/{w['site'].id}/inspect/?assignment=abc").status_code == 404
    # An assignment of this agency, but for another site, is not this site's.
    assert (
        client.get(
            f"/inspections/sites/{w['hotspot'].id}/inspect/?assignment={w['assignment'].id}"
        ).status_code
        == 404
    )
    inspection = submitted(w)
    client.force_login(w["other_inspector"])
    assert client.get(inspect_url(w)).status_code == 404  # the assignment is not of his agency
    assert client.get(f"/inspections/{inspection.client_uuid}/").status_code == 404
    assert client.get(f"/inspections/{uuid.uuid4()}/").status_code == 404
    assert Inspection.objects.count() == 1


def test_a_manager_reports_only_his_agencys_actions(client, world):
    w = world
    inspection = submitted(w)
    action = CorrectiveAction.objects.get(opened_by=inspection)
    manager_elsewhere = w["other_inspector"]
    Profile.objects.filter(user=manager_elsewhere).update(role=Role.AGENCY_MANAGER)
    client.force_login(manager_elsewhere)
    assert client.post(f"/inspections/actions/{action.id}/report-done/").status_code == 404
    action.refresh_from_db()
    assert action.status == ActionStatus.OPEN


# --- the inspection form --------------------------------------------------------------------------------


def test_an_invalid_answer_keeps_everything_typed_and_shows_the_error(client, world):
    w = world
    client.force_login(w["inspector"])
    first, second = w["items"][0], w["items"][1]
    data = form_data(
        w,
        **{
            f"answer-{first.code}": "maybe",
            f"answer-{second.code}": "fail",
            f"note-{second.code}": "Thiếu biển cảnh báo ở cổng phụ",
        },
    )
    response = client.post(inspect_url(w), data)
    assert response.status_code == 200
    page = html(response)
    assert (
        escape(vi("'%(value)s' is not an answer: choose pass, fail or not applicable.") % {"value": "maybe"})
        in page
    )
    assert vi("The inspection was not sent. Please check:") in page
    # Nothing typed is lost: the note, the findings, the position, the other answers, the UUID.
    assert 'value="Thiếu biển cảnh báo ở cổng phụ"' in page
    assert "Hàng rào phía đông bị hở một đoạn 3 m." in page
    assert 'value="103.457300"' in page and 'value="22.396500"' in page and 'value="9.5"' in page
    assert re.search(
        rf'name="answer-{second.code}" id="answer-{second.code}-fail" value="fail" checked', page
    )
    assert f'value="{data["client_uuid"]}"' in page
    assert Inspection.objects.count() == 0


def test_a_missing_answer_and_a_service_error_are_shown_not_500(client, world):
    w = world
    client.force_login(w["inspector"])
    data = form_data(w)
    del data[f"answer-{w['items'][2].code}"]
    page = html(client.post(inspect_url(w), data))
    assert vi("Choose pass, fail or not applicable.") in page
    # Refused by the service (a time in the future): the message is shown, the text is kept.
    future = (timezone.localtime() + timedelta(days=2)).replace(microsecond=0).isoformat()
    response = client.post(inspect_url(w), form_data(w, performed_at=future, findings="Đã kiểm tra xong"))
    assert response.status_code == 200
    with translation.override("vi"):
        assert translation.gettext("in the future") in html(response)
    assert "Đã kiểm tra xong" in html(response)
    assert Inspection.objects.count() == 0


def test_a_valid_post_stores_one_inspection_and_a_resend_stores_nothing_more(client, world):
    w = world
    client.force_login(w["inspector"])
    failed = w["items"][0]
    data = form_data(w, **{f"answer-{failed.code}": "fail", f"note-{failed.code}": "Hố móng không che"})
    photo = jpeg()

    def send():
        return client.post(
            inspect_url(w),
            {**data, f"photo-{failed.code}": SimpleUploadedFile("ho-mong.jpg", photo, "image/jpeg")},
        )

    response = send()
    assert response.status_code == 302
    inspection = Inspection.objects.get()
    assert response["Location"] == f"/inspections/{inspection.client_uuid}/"
    assert str(inspection.client_uuid) == data["client_uuid"]
    assert inspection.assignment == w["assignment"] and inspection.result == "fail"
    assert inspection.distance_to_site_m == pytest.approx(25, abs=10)
    assert inspection.gps_accuracy_m == 9.5
    assert CorrectiveAction.objects.filter(opened_by=inspection, item_code=failed.code).count() == 1
    assert InspectionPhoto.objects.filter(inspection=inspection, item__code=failed.code).count() == 1
    assert Assignment.objects.get(pk=w["assignment"].pk).status == AssignmentStatus.DONE
    # The same form sent again (a double tap, a browser retry): the same inspection, nothing new.
    again = send()
    assert again.status_code == 302 and again["Location"] == response["Location"]
    assert Inspection.objects.count() == 1
    assert InspectionPhoto.objects.count() == 1
    assert CorrectiveAction.objects.count() == 1
    page = html(client.get(again["Location"]))
    assert vi("This inspection had already been received; it was not stored twice.") in page
    assert "Hố móng không che" in page and vi("Corrective actions opened") in page
    # The stored photo is served to those who may see the inspection, and to nobody else.
    photo_url = f"/inspections/{inspection.client_uuid}/photos/{inspection.photos.get().id}/"
    assert photo_url in page
    served = client.get(photo_url)
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content)[:3] == b"\xff\xd8\xff"
    client.force_login(w["other_inspector"])
    assert client.get(photo_url).status_code == 404


def test_the_same_form_sent_again_with_other_answers_changes_nothing(client, world):
    w = world
    client.force_login(w["inspector"])
    data = form_data(w)
    first = client.post(inspect_url(w), data)
    assert first.status_code == 302
    changed = {**data, f"answer-{w['items'][3].code}": "fail", "findings": "Sửa lại sau khi gửi"}
    response = client.post(inspect_url(w), changed)
    assert response.status_code == 200
    page = html(response)
    assert f'href="{first["Location"]}"' in page
    assert vi("See the inspection already received with this form") in page
    assert f'href="{inspect_url(w)}"' in page.replace("&amp;", "&")
    assert "Sửa lại sau khi gửi" in page
    assert Inspection.objects.get().findings == data["findings"]


def test_a_rejected_photo_stores_nothing_and_says_why(client, world):
    w = world
    client.force_login(w["inspector"])
    failed = w["items"][0]
    data = form_data(w, **{f"answer-{failed.code}": "fail"})
    data[f"photo-{failed.code}"] = SimpleUploadedFile("empty.jpg", b"", "image/jpeg")
    response = client.post(inspect_url(w), data)
    assert response.status_code == 200
    assert Inspection.objects.count() == 0
    with translation.override("vi"):
        assert translation.gettext("the file is empty") in html(response)


def test_a_photo_is_added_later_from_the_record_by_its_inspector_only(client, world):
    w = world
    inspection = submitted(w)
    failed = w["items"][0]
    assert f"photo_missing:{failed.code}" in inspection.flags
    url = f"/inspections/{inspection.client_uuid}/photos/"
    client.force_login(w["manager"])  # may see the record, may not add to it
    client.post(url, {"item": failed.code, "photo": SimpleUploadedFile("a.jpg", jpeg(), "image/jpeg")})
    assert not InspectionPhoto.objects.exists()
    client.force_login(w["inspector"])
    page = html(client.get(f"/inspections/{inspection.client_uuid}/"))
    assert f'action="{url}"' in page and vi("Photo missing for item %(code)s") % {"code": failed.code} in page
    response = client.post(
        url, {"item": failed.code, "photo": SimpleUploadedFile("a.jpg", jpeg(), "image/jpeg")}
    )
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert InspectionPhoto.objects.get().item == failed
    assert f"photo_missing:{failed.code}" not in inspection.flags
    assert vi("The photo was added.") in html(client.get(response["Location"]))


def test_the_form_without_javascript_uses_the_uuid_drawn_by_the_server(client, world):
    w = world
    client.force_login(w["inspector"])
    page = html(client.get(inspect_url(w)))
    fallback = re.search(r'name="client_uuid_nojs" value="([0-9a-f-]{36})"', page).group(1)
    assert re.search(r'name="client_uuid" id="id_client_uuid" value=""', page)
    data = form_data(w, client_uuid="", client_uuid_nojs=fallback)
    assert client.post(inspect_url(w), data).status_code == 302
    assert client.post(inspect_url(w), data).status_code == 302
    assert list(Inspection.objects.values_list("client_uuid", flat=True)) == [uuid.UUID(fallback)]


# --- lists ----------------------------------------------------------------------------------------------


def test_my_assignments_list_and_map(client, world):
    w = world
    late = assignment_create(
        manager=w["manager"],
        sites=[
            site_create(
                kind="playground",
                name="Sân chơi bản Hon",
                geom=Point(103.46, 22.40, srid=4326),
                attributes={"access": "public"},
            ).id
        ],
        inspector=w["inspector"],
        due_date=today(),
        priority="urgent",
    ).created[0]
    Assignment.objects.filter(pk=late.pk).update(due_date=today() - timedelta(days=3))
    client.force_login(w["inspector"])
    page = html(client.get("/inspections/"))
    assert page.index("Sân chơi bản Hon") < page.index(w["site"].name)  # earliest due first
    assert f'href="/inspections/sites/{w["site"].id}/inspect/?assignment={w["assignment"].id}"' in page
    assert vi("%(days)s days late").replace("%(days)s", "3") in page
    features = json.loads(
        re.search(r'<script id="site-features" type="application/json">(.*?)</script>', page).group(1)
    )
    assert {f["properties"]["name"] for f in features} == {"Sân chơi bản Hon", w["site"].name}
    assert all(f["geometry"]["type"] == "Point" for f in features)
    assert [f["properties"]["overdue"] for f in features] == [True, False]
    assert "/static/inspections/sitemap.js" in page


def test_manager_assigns_by_kind_and_sees_created_and_skipped_counts(client, world):
    w = world
    extra = site_create(
        kind="construction_site",
        name="Công trình trạm y tế",
        geom=Point(103.4600, 22.3990, srid=4326),
        attributes={"permit_number": "GP-08/2026", "contractor": "Công ty XD Than Uyên"},
    )
    client.force_login(w["manager"])
    url = "/inspections/assign/?kind=construction_site"
    page = html(client.get(url))
    assert extra.name in page and w["site"].name in page and w["hotspot"].name not in page
    assert 'value="pg_inspector"' not in page and ">pg_inspector<" in page
    due = (today() + timedelta(days=14)).isoformat()
    post = {
        "scope": "all",
        "inspector": w["inspector"].id,
        "due_date": due,
        "priority": "high",
        "round_name": "Trước mùa mưa",
    }
    response = client.post(url, post, follow=True)
    expected = vi("Assignments created: %(created)s. Sites skipped (already assigned): %(skipped)s.") % {
        "created": 1,
        "skipped": 1,
    }
    assert expected in html(response)
    assert Assignment.objects.get(site=extra).priority == "high"
    # A past due date is refused by the service and shown next to the field, nothing created.
    past = {
        **post,
        "due_date": (today() - timedelta(days=1)).isoformat(),
        "scope": "selected",
        "sites": [extra.id],
    }
    response = client.post(url, past)
    assert response.status_code == 200
    with translation.override("vi"):
        assert translation.gettext("the due date is in the past") in html(response)
    assert Assignment.objects.count() == 2
    # Ticking nothing with "only the ticked sites" is an error, not a silent no-op.
    response = client.post(url, {**post, "scope": "selected"})
    assert vi("Tick at least one site, or choose all sites shown.") in html(response)


def test_overdue_and_corrective_action_pages(client, world):
    w = world
    Assignment.objects.filter(pk=w["assignment"].pk).update(due_date=today() - timedelta(days=2))
    client.force_login(w["manager"])
    page = html(client.get("/inspections/overdue/"))
    assert w["site"].name in page and vi("%(days)s days late").replace("%(days)s", "2") in page
    inspection = submitted(w)
    action = CorrectiveAction.objects.get(opened_by=inspection)
    page = html(client.get("/inspections/actions/"))
    assert action.description in page and f'action="/inspections/actions/{action.id}/report-done/"' in page
    response = client.post(
        f"/inspections/actions/{action.id}/report-done/",
        {"note": "Đã lắp rào chắn", "next": "/inspections/actions/?status=open"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/inspections/actions/?status=open"
    assert vi("Reported done; a later inspection will verify it.") in html(response)
    action.refresh_from_db()
    assert action.status == ActionStatus.REPORTED_DONE and action.report_note == "Đã lắp rào chắn"
    assert "Đã lắp rào chắn" in html(client.get("/inspections/actions/?status=reported_done"))
    # Reporting it twice is refused with a message, not a 500; an unsafe `next` is ignored.
    again = client.post(f"/inspections/actions/{action.id}/report-done/", {"next": "https://evil.example/"})
    assert again.status_code == 302 and again["Location"] == "/inspections/actions/"
    assert client.get("/inspections/actions/?status=bogus").status_code == 200


# --- translations ----------------------------------------------------------------------------------------


def page_msgids() -> set[str]:
    msgids = set()
    for path in (ROOT / "inspections/templates/inspections").glob("*.html"):
        text = path.read_text("utf-8")
        msgids |= {m[1] for m in re.findall(r"""\{% translate (["'])(.*?)\1""", text)}
        for body in re.findall(r"\{% blocktranslate[^%]*%\}(.*?)\{% endblocktranslate %\}", text, re.S):
            msgids.add(re.sub(r"\{\{ (\w+) \}\}", r"%(\1)s", body))
    trees = [ast.parse((ROOT / f"inspections/{name}.py").read_text("utf-8")) for name in ("views", "forms")]
    for node in (n for tree in trees for n in ast.walk(tree)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"_", "gettext_lazy"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            msgids.add(node.args[0].value)
    return msgids


def test_every_page_message_has_a_vietnamese_translation():
    """Each message of the pages is in a table, once: this one holds those no other area has."""
    others = {}
    for path in sorted((ROOT / "locale/vi/translations").glob("*.json")):
        if path.name != "inspections_pages.json":
            others.update(json.loads(path.read_text("utf-8")))
    msgids = page_msgids()
    assert len(msgids) > 60
    missing = sorted(msgids - set(TABLE) - set(others))
    assert not missing, f"add to locale/vi/translations/inspections_pages.json: {missing}"
    assert not set(TABLE) & set(others), "translated twice, possibly differently"
    placeholder = re.compile(r"%\(\w+\)s")
    for msgid, text in TABLE.items():
        assert msgid in msgids, f"not used by the pages: {msgid}"
        assert text and text != msgid, msgid
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(text)), msgid
