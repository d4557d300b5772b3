"""The report flow in a real browser: a manager generates and submits his agency's report; the
coordinator sees it submitted for the period, opens it, and generates the provincial report."""

import io

import pytest
from django.contrib.gis.geos import Point
from openpyxl import load_workbook

from inspections.models import Agency, Profile, Role
from places.services import site_create

pytestmark = pytest.mark.slow


@pytest.fixture
def people(lai_chau, django_user_model):
    def person(name, role, agency=None):
        user = django_user_model.objects.create_user(name, password="pw-" + name)
        Profile.objects.create(user=user, role=role, agency=agency)
        return user

    site_create(
        kind="construction_site",
        name="Công trình",
        geom=Point(103.4571, 22.3964, srid=4326),
        attributes={"permit_number": "GP-1", "contractor": "A"},
    )
    return {
        "manager": person("xd_manager", Role.AGENCY_MANAGER, Agency.objects.get(code="so-xay-dung")),
        "coordinator": person("coord", Role.COORDINATOR, Agency.objects.get(code="so-lao-dong-tbxh")),
    }


def test_generate_submit_and_review(phone, live_server, people):
    page = phone(people["manager"])
    page.goto(f"{live_server.url}/reports/?year=2026")
    page.click("#generate-report")
    page.wait_for_url("**/reports/*/")
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page.inner_text(".report-doc")
    assert page.locator("svg.choropleth").count() == 2
    report_url = page.url
    page.click("#submit-report")
    page.wait_for_selector("text=Đã gửi báo cáo tới cơ quan điều phối.")

    page = phone(people["coordinator"])
    page.goto(f"{live_server.url}/reports/?year=2026")
    row = page.locator("#submissions tr.submitted")
    assert row.count() == 1 and "Sở Xây dựng" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(report_url)
    with page.expect_download() as download:
        page.click("text=XLSX")
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    assert len(workbook.worksheets) == 10
    page.goto(f"{live_server.url}/reports/?year=2026")
    page.click("#generate-report")
    page.wait_for_url("**/reports/*/")
    assert "Ủy ban nhân dân tỉnh Lai Châu" in page.inner_text(".report-doc")
    assert page.locator("#submit-report").count() == 0
