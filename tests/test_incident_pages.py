"""Incident pages: the public overview hides small numbers; records and entry are for readers only."""

from datetime import date

import pytest
from django.contrib.gis.geos import Point

from incidents.models import Incident
from incidents.services import incident_record
from inspections.models import Profile, Role

SIN_HO = (103.2411, 22.3606)


@pytest.fixture
def some_incidents(lai_chau):
    for n in range(3):
        incident_record(
            kind="drowning",
            day=date(2024, 7, 1),
            age_band="10-14",
            sex="male",
            outcome="fatal",
            source="Phòng LĐ-TB&XH",
            reference=f"p{n}",
            location=Point(*SIN_HO, srid=4326),
        )


@pytest.fixture
def coordinator(db, django_user_model):
    user = django_user_model.objects.create_user("coord-pages", password="pw-coord-pages")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    return user


def test_public_overview_hides_small_counts(client, some_incidents):
    html = client.get("/incidents/").content.decode()
    assert '<html lang="vi">' in html and "Đuối nước" in html
    assert 'id="incident-table"' in html
    assert ">3<" not in html.split('id="incident-table"')[1].split("</tbody>")[0]  # the 3 is hidden
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Child injuries by area" in client.get("/incidents/").content.decode()


def test_coordinator_sees_exact_numbers_with_a_warning(client, some_incidents, coordinator):
    client.force_login(coordinator)
    html = client.get("/incidents/").content.decode()
    assert ">3<" in html


def test_records_and_entry_are_for_readers_only(client, some_incidents, coordinator, django_user_model):
    planner = django_user_model.objects.create_user("planner-pages", password="pw-planner-pages")
    Profile.objects.create(user=planner, role=Role.PLANNER)
    client.force_login(planner)
    for url in ("/incidents/records/", "/incidents/new/", "/incidents/import/"):
        assert client.get(url).status_code == 403
    client.force_login(coordinator)
    assert client.get("/incidents/records/").status_code == 200


def test_entry_form_refuses_identifying_text_and_keeps_what_was_typed(client, lai_chau, coordinator):
    client.force_login(coordinator)
    form = {
        "kind": "fall",
        "date": "2025-03-02",
        "lon": SIN_HO[0],
        "lat": SIN_HO[1],
        "age_band": "5-9",
        "sex": "female",
        "outcome": "minor",
        "source": "Trạm y tế xã",
        "reference": "TYT-9",
        "circumstances": "Cháu tên là Lò Thị B ngã từ cầu thang",
    }
    response = client.post("/incidents/new/", form)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Trạm y tế xã" in html and "TYT-9" in html
    assert not Incident.objects.exists()
    form["circumstances"] = "Ngã từ cầu thang nhà văn hóa"
    assert client.post("/incidents/new/", form).status_code == 302
    assert Incident.objects.get().reference == "TYT-9"


def test_suggested_hotspot_confirmed_from_the_page(client, lai_chau, coordinator):
    from places.models import Site

    for n, dx in enumerate((0.0, 0.001)):
        incident_record(
            kind="drowning",
            day=date(2025, 5, 1 + n),
            age_band="10-14",
            sex="male",
            outcome="fatal",
            source="Phòng LĐ-TB&XH",
            reference=f"hp{n}",
            location=Point(SIN_HO[0] + dx, SIN_HO[1], srid=4326),
        )
    client.force_login(coordinator)
    html = client.get("/incidents/hotspots/").content.decode()
    cluster = html.split('name="cluster" value="')[1].split('"')[0]
    response = client.post(
        "/incidents/hotspots/", {"cluster": cluster, "name": "Suối Nậm Ma", "water_type": "stream"}
    )
    assert response.status_code == 302
    assert Site.objects.get(source="suggested hotspot").name == "Suối Nậm Ma"
    bad = client.post("/incidents/hotspots/", {"cluster": "c00", "name": "X", "water_type": "stream"})
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode()


def test_import_page_refuses_identifying_columns_and_reports_rows(client, lai_chau, coordinator):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(coordinator)
    bad = SimpleUploadedFile(
        "bao_cao.csv", "Loại,Ngày,Họ tên,Mã xã,Độ tuổi,Hậu quả,Đơn vị báo cáo\n".encode()
    )
    html = client.post("/incidents/import/", {"file": bad, "dry_run": "on"}).content.decode()
    assert 'role="alert"' in html and "Họ tên" in html
    good = SimpleUploadedFile(
        "bao_cao.csv",
        (
            "Loại,Ngày,Mã xã,Độ tuổi,Giới tính,Hậu quả,Đơn vị báo cáo,Số báo cáo\n"
            "đuối nước,12/07/2024,03388,10-14,nam,tử vong,Phòng LĐ-TB&XH,BC-1\n"
            "đuối nước,32/07/2024,03388,10-14,nam,tử vong,Phòng LĐ-TB&XH,BC-2\n"
        ).encode(),
    )
    html = client.post("/incidents/import/", {"file": good}).content.decode()
    assert Incident.objects.count() == 1
    assert "<td>3</td>" in html  # the bad date's line is listed
