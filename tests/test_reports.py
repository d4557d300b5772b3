"""reports: every number of a report against constructed data with known totals, agreement across
sections and formats, frozen snapshots, suppression in every format, permissions, bad input."""

import csv
import hashlib
import io
import json
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.core.management import call_command
from django.utils import translation
from openpyxl import load_workbook

from incidents.aggregates import aggregate_table
from incidents.services import incident_record
from inspections.models import (
    ActionStatus,
    Agency,
    Answer,
    Assignment,
    AssignmentStatus,
    ChecklistTemplate,
    CorrectiveAction,
    Inspection,
    Profile,
    Role,
)
from places.models import Site
from places.services import site_create
from reports.compute import Period, ReportScope
from reports.models import Report
from reports.render import render, render_csv_table, render_html, render_xlsx
from reports.services import checksum_of, report_create

CITY = (103.4571, 22.3964)  # Phường Đoàn Kết
SIN_HO = (103.2411, 22.3606)
PERIOD = {"from": "2026-01-01", "to": "2026-06-30"}
P = Period(date(2026, 1, 1), date(2026, 6, 30))


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def created(site, day):
    Site.objects.filter(pk=site.pk).update(created_at=at(day))
    site.refresh_from_db()
    return site


def offset(point, dx_m=0.0, dy_m=0.0):
    return Point(point[0] + dx_m / 103_000, point[1] + dy_m / 111_000, srid=4326)


def inspect(site, user, when: datetime, *, assignment=None, fail=()):
    template = ChecklistTemplate.objects.get(site_kind=site.kind, is_current=True)
    items = list(template.items.all())
    inspection = Inspection.objects.create(
        client_uuid=uuid.uuid4(),
        content_hash="t",
        site=site,
        assignment=assignment,
        template=template,
        inspector=user,
        agency=site.agency,
        performed_at=when,
        result="fail" if fail else "pass",
        risk_level="critical" if fail else "none",
    )
    Answer.objects.bulk_create(
        [Answer(inspection=inspection, item=i, value="fail" if i.code in fail else "pass") for i in items]
    )
    return inspection


def action(
    site, inspection, *, code, severity, opened, deadline, reported=None, verified_by=None, verified=None
):
    a = CorrectiveAction.objects.create(
        site=site,
        item_code=code,
        description="fix",
        severity=severity,
        agency=site.agency,
        deadline=deadline,
        status=ActionStatus.VERIFIED
        if verified
        else ActionStatus.REPORTED_DONE
        if reported
        else ActionStatus.OPEN,
        opened_by=inspection,
        reported_done_at=at(reported) if reported else None,
        verified_by=verified_by,
        verified_at=at(verified) if verified else None,
    )
    CorrectiveAction.objects.filter(pk=a.pk).update(created_at=at(opened))
    return a


def incident(kind, day, point, **kw):
    base = {"age_band": "5-9", "sex": "male", "outcome": "hospitalised", "source": "Test"}
    return incident_record(kind=kind, day=day, location=Point(*point, srid=4326), **{**base, **kw}).incident


@pytest.fixture
def world(lai_chau, django_user_model):
    def person(name, role, agency=None, area=None):
        u = django_user_model.objects.create_user(name, password="pw-" + name)
        Profile.objects.create(user=u, role=role, agency=agency, area=area)
        return u

    xd = Agency.objects.get(code="so-xay-dung")
    c1 = created(
        site_create(
            kind="construction_site",
            name="C1",
            geom=Point(*CITY, srid=4326),
            attributes={"permit_number": "GP-1", "contractor": "A"},
        ),
        date(2026, 2, 1),
    )
    c2 = created(
        site_create(
            kind="construction_site",
            name="C2",
            geom=offset(CITY, 200, 0),
            attributes={"permit_number": "GP-2", "contractor": "B"},
        ),
        date(2025, 1, 1),
    )
    p1 = created(
        site_create(kind="playground", name="P1", geom=offset(CITY, 0, 150), attributes={"access": "public"}),
        date(2026, 3, 1),
    )
    h1 = created(
        site_create(
            kind="drowning_hotspot",
            name="H1",
            geom=Point(*SIN_HO, srid=4326),
            attributes={"water_type": "pond"},
        ),
        date(2026, 1, 15),
    )
    v1 = created(
        site_create(kind="village", name="V1", geom=offset(CITY, 0, 450), attributes={"child_count": 100}),
        date(2025, 1, 1),
    )
    v2 = created(
        site_create(kind="village", name="V2", geom=offset(SIN_HO, 300, 0), attributes={"child_count": 50}),
        date(2025, 1, 1),
    )
    assert c1.agency == xd and p1.agency == xd and c1.commune == p1.commune == v1.commune
    assert h1.commune == v2.commune != c1.commune
    commune_agency = h1.agency
    w = {
        "xd": xd,
        "city": c1.commune,
        "sinho": h1.commune,
        "coordinator": person("coord", Role.COORDINATOR, Agency.objects.get(code="so-lao-dong-tbxh")),
        "xd_manager": person("xd_manager", Role.AGENCY_MANAGER, xd),
        "xd_inspector": person("xd_inspector", Role.INSPECTOR, xd),
        "commune_manager": person("commune_manager", Role.AGENCY_MANAGER, commune_agency),
        "sinho_leader": person("sinho_leader", Role.AREA_LEADER, area=h1.commune),
        "city_leader": person("city_leader", Role.AREA_LEADER, area=c1.commune),
        "planner": person("planner", Role.PLANNER),
    }
    insp = w["xd_inspector"]
    a1 = Assignment.objects.create(
        site=c1, agency=xd, due_date=date(2026, 3, 1), status=AssignmentStatus.DONE
    )
    a2 = Assignment.objects.create(
        site=c2, agency=xd, due_date=date(2026, 4, 1), status=AssignmentStatus.DONE
    )
    Assignment.objects.create(
        site=h1,
        agency=commune_agency,
        due_date=date(2026, 5, 1),
        inspector=insp,
        status=AssignmentStatus.ASSIGNED,
    )
    Assignment.objects.create(
        site=c2, agency=xd, due_date=date(2026, 5, 15), status=AssignmentStatus.CANCELLED
    )
    a5 = Assignment.objects.create(
        site=c2, agency=xd, due_date=date(2025, 12, 1), status=AssignmentStatus.DONE
    )
    failed_code = (
        ChecklistTemplate.objects.get(site_kind="construction_site", is_current=True).items.first().code
    )
    i1 = inspect(c1, insp, at(date(2026, 2, 20)), assignment=a1, fail=(failed_code,))
    i2 = inspect(c2, insp, at(date(2026, 4, 10)), assignment=a2)
    i5 = inspect(c2, insp, at(date(2025, 11, 20)), assignment=a5)
    action(
        c1, i1, code=failed_code, severity="critical", opened=date(2026, 2, 20), deadline=date(2026, 2, 27)
    )
    action(
        c1,
        i1,
        code="X2",
        severity="high",
        opened=date(2026, 3, 1),
        deadline=date(2026, 3, 31),
        reported=date(2026, 3, 20),
        verified_by=i2,
        verified=date(2026, 4, 10),
    )
    action(c1, i1, code="X3", severity="medium", opened=date(2026, 6, 1), deadline=date(2026, 8, 30))
    action(
        c2,
        i5,
        code="X4",
        severity="low",
        opened=date(2025, 10, 1),
        deadline=date(2026, 1, 1),
        verified_by=i2,
        verified=date(2026, 7, 15),
    )
    for n in range(7):
        incident(
            "drowning",
            date(2026, 5, 1 + n),
            CITY,
            age_band="10-14" if n < 5 else "0-4",
            sex="female" if n < 6 else "male",
            outcome="fatal" if n < 5 else "minor",
        )
    for n in range(2):
        incident(
            "traffic", date(2026, 3, 10 + n), SIN_HO, age_band="10-14", sex="male", outcome="hospitalised"
        )
    incident("drowning", date(2025, 8, 1), CITY)  # previous period
    w.update(c1=c1, c2=c2, p1=p1, h1=h1, v1=v1, v2=v2, failed_code=failed_code)
    return w


def tables(report) -> dict:
    return {t["key"]: t for s in report.data["sections"] for t in s["tables"]}


def by_label(tbl) -> dict:
    return {row[0]["en"] if isinstance(row[0], dict) else row[0]: row[1:] for row in tbl["rows"]}


def make(w, who="coordinator", scope=None, suppressed=True, period=P):
    return report_create(
        user=w[who], scope=scope or ReportScope("province"), period=period, suppressed=suppressed
    )


# --- every number ---------------------------------------------------------------------------------


def test_every_number_of_the_exact_provincial_report(world):
    r = make(world, suppressed=False)
    t = tables(r)
    sites = by_label(t["sites"])
    assert sites["Construction site"] == [1, 2]
    assert sites["Playground"] == [1, 1]
    assert sites["Drowning hotspot"] == [1, 1]
    assert sites["Village"] == [0, 2]
    assert t["sites"]["total"][1:] == [3, 6]

    insp = by_label(t["inspections"])
    assert insp["Construction site"] == [2, 2, 1, 0.5, 2, 1]
    assert insp["Drowning hotspot"] == [1, 0, 0, 0.0, 0, 0]
    assert t["inspections"]["total"][1:] == [3, 2, 1, 0.3333, 2, 1]

    # Coverage on 30/06/2026 (maps.indicators): C2 inspected 10/04 within 92 days; C1 (20/02) not;
    # H1 and P1 never.
    cov = by_label(t["coverage"])
    assert cov["Construction site"] == [2, 1, 1, 0.5]
    assert cov["Drowning hotspot"] == [1, 0, 0, 0.0]
    assert cov["Playground"] == [1, 0, 0, 0.0]
    assert cov["School transport route"] == [0, 0, 0, None]
    assert t["coverage"]["total"][1:] == [4, 1, 1, 0.25]

    failed = t["failed_items"]["rows"]
    assert len(failed) == 1 and failed[0][1] == world["failed_code"] and failed[0][4:] == [1, 2, 0.5]

    act = by_label(t["actions"])
    assert act["Critical"] == [1, 0, 0, 1]
    assert act["High"] == [1, 1, 1, 0]
    assert act["Medium"] == [1, 0, 0, 0]
    assert act["Low"] == [0, 0, 0, 1]  # opened before, verified after the end: overdue at the end
    assert t["actions"]["total"][1:] == [3, 1, 1, 2]

    assert by_label(t["incidents_kind"])["Drowning"] == [7]
    assert by_label(t["incidents_kind"])["Traffic"] == [2]
    assert t["incidents_kind"]["total"][1] == 9
    assert by_label(t["incidents_age_band"])["10–14 years"] == [7]
    assert by_label(t["incidents_age_band"])["0–4 years"] == [2]
    assert by_label(t["incidents_sex"])["Female"] == [6]
    assert by_label(t["incidents_sex"])["Male"] == [3]
    assert by_label(t["incidents_outcome"])["Fatal"] == [5]
    assert by_label(t["incidents_outcome"])["Hospitalised"] == [2]
    assert by_label(t["incidents_outcome"])["Minor injury"] == [2]

    access = {row[0]: row[2:] for row in t["play_access"]["rows"]}
    assert len(access) == 38
    assert access[world["city"].code] == [1, 100, 100, 0, 1.0, 1, 1]
    assert access[world["sinho"].code] == [1, 50, 0, 50, 0.0, 0, 0]
    assert t["play_access"]["total"][2:] == [2, 150, 100, 50, 0.6667, 1, 1]
    # The distance method in effect, frozen in both languages (no road network loaded here).
    note = t["play_access"]["note"]
    assert "(straight line)" in note["en"] and "(đường thẳng)" in note["vi"]
    served = next(c for c in t["play_access"]["columns"] if c["key"] == "served")["label"]
    assert served["en"].startswith("Children within 1000 m") and served["vi"] != served["en"]

    m = {row[0]: row[2:] for row in t["map"]["rows"]}
    assert m[world["city"].code] == [3, 1, 0.3333, 7]
    assert m[world["sinho"].code] == [1, 0, 0.0, 2]
    assert all(t["map"]["paths"][code].startswith("M") for code in m)

    comp = by_label(t["comparison"])
    assert comp["Sites registered"] == [0, 3, 3]
    assert comp["Assignments due"] == [1, 3, 2]
    assert comp["Assignments done on time"] == [1, 1, 0]
    assert comp["Inspections performed"] == [1, 2, 1]
    assert comp["Corrective actions opened"] == [1, 3, 2]
    assert comp["Corrective actions overdue"] == [0, 2, 2]
    assert comp["Incidents"] == [1, 9, 8]
    assert comp["Coverage"] == [0.25, 0.25, 0.0]  # 31/12/2025: C2 inspected 20/11
    assert t["comparison"]["previous"] == {"from": "2025-07-04", "to": "2025-12-31"}


def test_agency_and_area_scopes_count_their_own(world):
    xd = make(world, "xd_manager", ReportScope("agency", agency=world["xd"]))
    t = tables(xd)
    assert t["sites"]["total"][1:] == [2, 3]  # C1, P1 new; C1, C2, P1 active
    assert t["inspections"]["total"][1:4] == [2, 2, 1]
    assert t["actions"]["total"][1:] == [3, 1, 1, 2]
    assert xd.data["header"]["sender"]["vi"] == world["xd"].name
    assert xd.data["header"]["recipients"][0]["vi"].startswith("Sở Lao động")

    area = make(world, "sinho_leader", ReportScope("area", area=world["sinho"]), suppressed=False)
    t = tables(area)
    assert t["sites"]["total"][1:] == [1, 2]  # H1 new; H1, V2 active
    assert t["inspections"]["total"][1:] == [1, 0, 0, 0.0, 0, 0]
    assert t["coverage"]["total"][1:] == [1, 0, 0, 0.0]
    assert t["actions"]["total"][1:] == [0, 0, 0, 0]
    assert by_label(t["incidents_kind"])["Traffic"] == [2] and t["incidents_kind"]["total"][1] == 2
    assert [row[0] for row in t["play_access"]["rows"]] == [world["sinho"].code]
    assert t["play_access"]["total"][2:] == [1, 50, 0, 50, 0.0, 0, 0]


# --- suppression in every format ------------------------------------------------------------------


def test_suppression_holds_in_every_format(world, client):
    r = make(world)  # suppressed: 2 traffic incidents are a small number
    t = tables(r)
    public = aggregate_table(level="province", by="kind", date_from=P.date_from, date_to=P.date_to)
    row = public["rows"][0]
    assert by_label(t["incidents_kind"])["Traffic"] == [None] == [row["cells"]["traffic"]]
    assert by_label(t["incidents_kind"])["Drowning"] == [row["cells"]["drowning"]]
    assert t["incidents_kind"]["total"][1] == row["total"]
    sinho_row = next(x for x in t["map"]["rows"] if x[0] == world["sinho"].code)
    assert sinho_row[5] is None  # 2 incidents in the commune: hidden on the map too
    assert by_label(t["comparison"])["Incidents"][0] is None  # 1 in the previous period

    # Snapshot and API: null.
    client.force_login(world["coordinator"])
    api = client.get(f"/api/v1/reports/{r.pk}/").json()
    kind_table = next(x for s in api["data"]["sections"] for x in s["tables"] if x["key"] == "incidents_kind")
    assert [v for label, v in kind_table["rows"] if label["en"] == "Traffic"] == [None]
    assert "2" not in json.dumps([x[1] for x in kind_table["rows"]])

    with translation.override("en"):
        html = render_html(r.data, "en")
    snippet = html[html.index('id="table-incidents_kind"') :]
    snippet = snippet[: snippet.index("</table>")]
    assert '<td>Traffic</td><td class="num">x</td>' in snippet
    assert "hidden to protect children" in html

    wb = load_workbook(io.BytesIO(render_xlsx(r.data, "en")))
    values = [c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row]
    cells = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            if row and row[0] == "Traffic":
                cells.setdefault("traffic", []).append(row[1])
    assert cells["traffic"] == ["x"]
    assert any(isinstance(v, str) and "hidden to protect" in v for v in values)

    rows = list(csv.reader(io.StringIO(render_csv_table(r.data, "incidents_kind", "en").decode("utf-8-sig"))))
    assert ["Traffic", "x"] in rows

    zipped = zipfile.ZipFile(io.BytesIO(render(r.data, "csv", "en")[0]))
    map_csv = next(n for n in zipped.namelist() if n.endswith("_map.csv"))
    map_rows = list(csv.reader(io.StringIO(zipped.read(map_csv).decode("utf-8-sig"))))
    assert next(x for x in map_rows if x[0] == world["sinho"].code)[5] == "x"

    text = pdf_text(render(r.data, "pdf", "en")[0])
    assert "Traffic x" in text
    assert "hidden to protect children" in text.replace("\n", " ")


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_exact_numbers_only_for_single_record_readers(world, client):
    client.force_login(world["xd_manager"])
    body = {"scope": "agency", "agency": "so-xay-dung", **PERIOD, "suppressed": False}
    response = client.post("/api/v1/reports/", body, content_type="application/json")
    assert response.status_code == 403 and "suppressed" in response.json()
    client.force_login(world["sinho_leader"])
    body = {"scope": "area", "area": world["sinho"].code, **PERIOD, "suppressed": False}
    response = client.post("/api/v1/reports/", body, content_type="application/json")
    assert response.status_code == 201
    exact = next(
        x for s in response.json()["data"]["sections"] for x in s["tables"] if x["key"] == "incidents_kind"
    )
    assert exact["total"][1] == 2
    # The commune's agency manager may not open the area leader's exact report.
    client.force_login(world["commune_manager"])
    assert client.get(f"/api/v1/reports/{response.json()['id']}/").status_code == 404


# --- frozen snapshots -----------------------------------------------------------------------------


def test_a_frozen_report_downloads_unchanged_after_the_data_change(world, client):
    r = make(world)
    client.force_login(world["coordinator"])
    before = {}
    for fmt in ("html", "xlsx", "csv"):
        for lang in ("vi", "en"):
            response = client.get(f"/api/v1/reports/{r.pk}/download/?format={fmt}&lang={lang}")
            assert response.status_code == 200
            before[(fmt, lang)] = hashlib.sha256(response.content).hexdigest()
    pdf_before = pdf_text(client.get(f"/api/v1/reports/{r.pk}/download/?format=pdf&lang=vi").content)

    # The data moves on: more incidents, a new site, another inspection, a verified action.
    for n in range(6):
        incident("fall", date(2026, 4, 1 + n), CITY)
    created(
        site_create(
            kind="construction_site",
            name="C9",
            geom=offset(CITY, -300, 0),
            attributes={"permit_number": "GP-9", "contractor": "Z"},
        ),
        date(2026, 5, 5),
    )
    inspect(world["c1"], world["xd_inspector"], at(date(2026, 6, 1)))
    CorrectiveAction.objects.update(status=ActionStatus.OPEN, verified_at=None, verified_by=None)

    cache.clear()  # the PDF is cached by checksum: render it again
    stored = Report.objects.get(pk=r.pk)
    assert stored.checksum == r.checksum == checksum_of(stored.data)
    for (fmt, lang), digest in before.items():
        response = client.get(f"/api/v1/reports/{r.pk}/download/?format={fmt}&lang={lang}")
        assert hashlib.sha256(response.content).hexdigest() == digest, (fmt, lang)
    assert pdf_text(client.get(f"/api/v1/reports/{r.pk}/download/?format=pdf&lang=vi").content) == pdf_before

    # A new report of the same period sees the new data.
    fresh = tables(make(world))
    assert fresh["sites"]["total"][1] == 4
    assert fresh["incidents_kind"]["total"][1] == 15
    assert fresh["actions"]["total"][3] == 0


# --- agreement across sections and formats --------------------------------------------------------


def test_totals_agree_across_sections_and_formats(world):
    r = make(world, suppressed=False)
    t = tables(r)
    # Within the snapshot: rows add up to totals, and the comparison repeats the sections' totals.
    for key in ("sites", "inspections", "actions", "play_access"):
        tbl = t[key]
        for j, col in enumerate(tbl["columns"]):
            if col["type"] == "int" and j >= 1 and col["key"] not in ("rank",):
                assert sum(row[j] for row in tbl["rows"]) == tbl["total"][j], (key, col["key"])
    cov = t["coverage"]
    assert [sum(row[j] for row in cov["rows"]) for j in (1, 2, 3)] == cov["total"][1:4]
    comp = by_label(t["comparison"])
    assert comp["Sites registered"][1] == t["sites"]["total"][1]
    assert comp["Inspections performed"][1] == t["inspections"]["total"][5]
    assert comp["Corrective actions verified"][1] == t["actions"]["total"][3]
    for by in ("age_band", "sex", "outcome"):
        tbl = t[f"incidents_{by}"]
        assert sum(row[1] for row in tbl["rows"]) == tbl["total"][1] == t["incidents_kind"]["total"][1]
    assert sum(row[5] for row in t["map"]["rows"]) == t["incidents_kind"]["total"][1]
    assert sum(row[2] for row in t["map"]["rows"]) == cov["total"][1]

    # XLSX: every total row holds the same numbers as the snapshot, as numeric cells.
    wb = load_workbook(io.BytesIO(render_xlsx(r.data, "en")))
    totals_xlsx = [
        list(row)
        for ws in wb.worksheets[1:]
        for row in ws.iter_rows(values_only=True)
        if row and row[0] == "Total"
    ]
    expected = [
        [v for v in tbl["total"] if not isinstance(v, dict)]
        for tbl in t.values()
        if tbl.get("total") and isinstance(tbl["total"][0], dict)
    ]
    assert [[v for v in row[1:] if v is not None] for row in totals_xlsx] == [
        [v for v in e if v is not None] for e in expected
    ]
    # CSV and HTML and PDF: the sites' total row.
    rows = list(csv.reader(io.StringIO(render_csv_table(r.data, "sites", "en").decode("utf-8-sig"))))
    assert rows[-1] == ["Total", "3", "6"]
    with translation.override("en"):
        html = render_html(r.data, "en")
    assert '<tr class="total"><td>Total</td><td class="num">3</td><td class="num">6</td></tr>' in html
    text = pdf_text(render(r.data, "pdf", "en")[0])
    assert "Total 3 6" in text
    assert "Total 3 1 1 2" in text  # corrective actions
    assert "Total 9" in text  # incidents


def test_xlsx_opens_with_numeric_cells_one_sheet_per_section(world):
    r = make(world, suppressed=False)
    content = render_xlsx(r.data, "vi")
    assert content == render_xlsx(Report.objects.get(pk=r.pk).data, "vi")  # deterministic
    wb = load_workbook(io.BytesIO(content))
    assert len(wb.worksheets) == 1 + len(r.data["sections"])
    ws = wb.worksheets[1]  # sites
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("Công trình xây dựng",) or rows[0][0]  # the table title
    numbers = [row[1:] for row in rows[2:]]
    assert all(isinstance(v, int) for row in numbers for v in row)
    cov_ws = wb.worksheets[3]
    pct_cells = [c for row in cov_ws.iter_rows() for c in row if c.number_format == "0.0%"]
    assert pct_cells and all(isinstance(c.value, float | int) for c in pct_cells)
    assert wb.properties.creator == "ChildSafe Map"


# --- the document ---------------------------------------------------------------------------------


def test_html_follows_the_administrative_layout_in_both_languages(world):
    r = make(world, "xd_manager", ReportScope("agency", agency=world["xd"]))
    with translation.override("vi"):
        vi = render_html(r.data, "vi")
    for text in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Kính gửi:",
        "Sở Lao động - Thương binh và Xã hội tỉnh Lai Châu",
        "Nơi nhận:",
        f"{r.pk}/BC-SXD",
        "báo cáo kết quả thực hiện của Sở Xây dựng tỉnh Lai Châu từ ngày 01/01/2026 đến ngày 30/06/2026",
        "ỦY BAN NHÂN DÂN TỈNH LAI CHÂU",
        "BÁO CÁO",
        "I. ",
        "IX. ",
    ):
        assert text in vi, text
    assert "Lai Châu, ngày " in vi
    with translation.override("en"):
        en = render_html(r.data, "en")
    for text in (
        "SOCIALIST REPUBLIC OF VIET NAM",
        "Independence - Freedom - Happiness",
        "To:",
        "Recipients:",
    ):
        assert text.upper() in en.upper(), text
    assert en.count("<svg") == 2 and "<path" in en


# --- API, permissions, bad input ------------------------------------------------------------------


def test_permissions(world, client):
    def post(user, body):
        client.logout()
        if user:
            client.force_login(world[user])
        return client.post("/api/v1/reports/", {**body, **PERIOD}, content_type="application/json")

    own_agency = {"scope": "agency", "agency": "so-xay-dung"}
    own_area = {"scope": "area", "area": world["sinho"].code}
    assert post("xd_manager", own_agency).status_code == 201
    assert post("xd_manager", own_area).status_code == 403
    assert post("xd_manager", {"scope": "province"}).status_code == 403
    assert post("sinho_leader", own_area).status_code == 201
    assert post("city_leader", own_area).status_code == 403
    for user in ("xd_inspector", "planner", None):
        assert post(user, own_agency).status_code == 403
    assert post("coordinator", {"scope": "province"}).status_code == 201
    assert post("coordinator", own_area).status_code == 201

    client.force_login(world["xd_manager"])
    mine = client.get("/api/v1/reports/").json()
    assert [x["scope"] for x in mine] == ["agency"]
    provincial = Report.objects.filter(scope="province").get()
    assert client.get(f"/api/v1/reports/{provincial.pk}/").status_code == 404
    assert client.get(f"/api/v1/reports/{provincial.pk}/download/?format=csv").status_code == 404
    assert client.get("/api/v1/reports/submissions/?year=2026").status_code == 403
    client.force_login(world["planner"])
    assert client.get("/api/v1/reports/").status_code == 403
    assert client.get("/reports/").status_code == 403


def test_bad_parameters_are_400_naming_them(world, client):
    client.force_login(world["coordinator"])

    def post(body):
        response = client.post("/api/v1/reports/", body, content_type="application/json")
        assert response.status_code == 400, (body, response.content)
        return response.json()

    assert "year" in post({"scope": "province"})
    assert "year" in post({"year": "20x6"})
    assert "year" in post({"year": "2026", "from": "2026-01-01"})
    assert "from" in post({"from": "2026-13-01", "to": "2026-12-31"})
    assert "to" in post({"from": "2026-02-01", "to": "2026-01-01"})
    assert "to" in post({"from": "2026-02-01"}) or "from" in post({"to": "2026-02-01"})
    assert "scope" in post({"scope": "galaxy", "year": 2026})
    assert "agency" in post({"scope": "agency", "year": 2026})
    assert "agency" in post({"scope": "agency", "agency": "nope", "year": 2026})
    assert "area" in post({"scope": "area", "area": "99999", "year": 2026})
    assert "area" in post({"scope": "province", "area": "105", "year": 2026})
    assert "suppressed" in post({"year": 2026, "suppressed": "maybe"})
    assert "colour" in post({"year": 2026, "colour": "red"})
    assert "body" in post([2026])
    assert "area" in post({"scope": "area", "area": "105", "year": 2026})  # a district after 2025
    assert "area" in post(
        {"scope": "area", "area": "03388", "from": "2024-01-01", "to": "2024-12-31"}
    )  # old commune
    r = make(world)
    for query, name in (
        ("format=docx", "format"),
        ("lang=fr", "lang"),
        ("format=csv&table=nope", "table"),
        ("format=xlsx&table=sites", "table"),
        ("foo=1", "foo"),
    ):
        response = client.get(f"/api/v1/reports/{r.pk}/download/?{query}")
        assert response.status_code == 400 and name in response.json(), query
    assert client.get("/api/v1/reports/submissions/?year=abc").status_code == 400
    # Digits int() refuses ("²⁰²⁶" passes str.isdigit): a 400, not a 500.
    assert client.get("/api/v1/reports/submissions/?year=²⁰²⁶").status_code == 400
    assert client.get("/api/v1/reports/submissions/?year=2026&x=1").status_code == 400


def test_submission_and_the_coordinators_page(world, client):
    client.force_login(world["xd_manager"])
    created_ = client.post(
        "/api/v1/reports/",
        {"scope": "agency", "agency": "so-xay-dung", **PERIOD},
        content_type="application/json",
    ).json()
    assert created_["submitted_at"] is None
    submitted = client.post(f"/api/v1/reports/{created_['id']}/submit/").json()
    assert submitted["submitted_at"] and submitted["submitted_by"] == "xd_manager"
    client.force_login(world["sinho_leader"])
    assert client.post(f"/api/v1/reports/{created_['id']}/submit/").status_code == 404  # not his

    client.force_login(world["coordinator"])
    units = client.get("/api/v1/reports/submissions/?from=2026-01-01&to=2026-06-30").json()["units"]
    done = {u["code"]: u for u in units if u["submitted"]}
    assert list(done) == ["so-xay-dung"] and done["so-xay-dung"]["report"]["id"] == created_["id"]
    codes = {u["code"] for u in units}
    assert world["sinho"].code in codes and "so-lao-dong-tbxh" not in codes
    assert len([u for u in units if u["scope"] == "area"]) == 38  # today's communes (no districts in 2026)

    page = client.get("/reports/?from=2026-01-01&to=2026-06-30")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/reports/{created_['id']}/" in html and 'id="submissions"' in html
    response = client.post("/reports/generate/", {"scope": "province", **PERIOD})
    assert response.status_code == 302
    provincial = Report.objects.get(scope="province")
    assert response["Location"] == f"/reports/{provincial.pk}/"
    detail = client.get(response["Location"])
    assert detail.status_code == 200 and "Kính gửi" in detail.content.decode()
    for fmt in ("html", "xlsx", "csv", "pdf"):
        assert client.get(f"/reports/{provincial.pk}/download/{fmt}/").status_code == 200

    # Districts report for periods before 01/07/2025.
    units = client.get("/api/v1/reports/submissions/?year=2024").json()["units"]
    assert len([u for u in units if u["scope"] == "area"]) == 8


def test_generate_report_command(world, tmp_path):
    out = tmp_path / "r.xlsx"
    call_command(
        "generate_report",
        str(out),
        "--scope",
        "agency",
        "--agency",
        "so-xay-dung",
        "--from",
        "2026-01-01",
        "--to",
        "2026-06-30",
        "--format",
        "xlsx",
        "--user",
        "coord",
    )
    report = Report.objects.get()
    assert out.read_bytes() == render_xlsx(report.data, "vi", checksum=report.checksum)
    csv_out = tmp_path / "sites.csv"
    call_command(
        "generate_report",
        str(csv_out),
        "--year",
        "2026",
        "--format",
        "csv",
        "--table",
        "sites",
        "--lang",
        "en",
        "--user",
        "coord",
    )
    assert csv_out.read_bytes().decode("utf-8-sig").splitlines()[0].startswith("Kind of site")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="area"):
        call_command("generate_report", str(out), "--scope", "area", "--year", "2026", "--user", "coord")
    with pytest.raises(CommandError, match="user"):
        call_command("generate_report", str(out), "--year", "2026", "--user", "nobody")


def test_previous_period_has_equal_length():
    assert Period(date(2026, 1, 1), date(2026, 12, 31)).previous() == Period(
        date(2025, 1, 1), date(2025, 12, 31)
    )
    p = Period(date(2026, 3, 1), date(2026, 3, 10))
    assert p.previous() == Period(date(2026, 2, 19), date(2026, 2, 28))
    assert p.previous().days == p.days
    assert timedelta(days=1) + p.previous().date_to == p.date_from


def test_pdf_without_weasyprint_is_a_clear_503(world, client, monkeypatch):
    import sys

    r = make(world)
    cache.clear()
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # as on a server without it
    client.force_login(world["coordinator"])
    response = client.get(f"/api/v1/reports/{r.pk}/download/?format=pdf")
    assert response.status_code == 503 and "format" in response.json()
    assert client.get(f"/api/v1/reports/{r.pk}/download/?format=xlsx").status_code == 200


def test_a_total_hidden_in_one_breakdown_is_hidden_in_all():
    from reports.compute import harmonise_totals

    def tbl(cells, total):
        return {"rows": [[{"en": k}, v] for k, v in cells.items()], "total": [{"en": "Total"}, total]}

    shown = [tbl({"a": 7, "b": 0}, 7), tbl({"m": None, "f": None}, 7)]
    assert harmonise_totals(shown)[0]["total"][1] == 7  # nothing hidden: unchanged
    kind = tbl({"drowning": None, "fall": 0}, None)  # the total hidden here ...
    sex = tbl({"female": 7, "male": 0}, 7)  # ... must not be printed, nor summed, here
    age = tbl({"0-4": None, "5-9": None}, 7)
    kind, sex, age = harmonise_totals([kind, sex, age])
    assert [t["total"][1] for t in (kind, sex, age)] == [None, None, None]
    assert [row[1] for row in sex["rows"]] == [None, 0]  # zeros stay published
    assert [row[1] for row in age["rows"]] == [None, None]


GARBAGE = [
    "{not json",
    "[]",
    "null",
    '"text"',
    json.dumps({"year": [2026]}),
    json.dumps({"year": True}),
    json.dumps({"year": 2026, "scope": {"a": 1}}),
    json.dumps({"year": 2026, "suppressed": {"a": 1}}),
    json.dumps({"from": 5, "to": 6}),
    json.dumps({"scope": "agency", "agency": "so-\u0000", "year": 2026}),
    json.dumps({"scope": "area", "area": "\u0000", "year": 2026}),
    json.dumps({"kind": ["drowning"], "date": {"y": 2024}}),
]


def test_garbage_bodies_and_paths_get_4xx(world, client):
    client.force_login(world["coordinator"])
    for body in GARBAGE:
        response = client.post("/api/v1/reports/", body, content_type="application/json")
        assert 400 <= response.status_code < 500, (body, response.status_code, response.content[:300])
    for url in (
        "/api/v1/reports/abc/",
        "/api/v1/reports/99999999/",
        "/api/v1/reports/1/download/?format=%00",
    ):
        assert 400 <= client.get(url).status_code < 500, url
    assert Report.objects.count() == 0


def test_numbers_are_written_the_local_way():
    from reports.render import display

    assert display(13691, "int", "vi") == "13.691" and display(13691, "int", "en") == "13,691"
    assert display(0.8403, "pct", "vi") == "84,0 %" and display(0.8403, "pct", "en") == "84.0%"
    assert display(-1200, "delta", "vi") == "-1.200" and display(5, "delta", "en") == "+5"
    assert display(0.05, "pct_delta", "en") == "+5.0 pp"
    assert display(None, "int", "vi") == "x" and display(None, "pct", "vi") == "–"
