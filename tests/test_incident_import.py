"""Import of incidents from the CSV and XLSX files of social-affairs offices: a file that could
identify a child is refused whole, every bad row is reported with its line and column, the
valid rows are stored once (re-imports create nothing), and an exact age is never kept."""

import ast
import csv
import datetime as dt
import io
import json
import re
import unicodedata
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from openpyxl import Workbook

from incidents.importer import AUTO_PREFIX, IncidentFileError, fold, import_incidents
from incidents.models import Incident
from places.models import AdminLevel, AdminUnit, CrosswalkLink
from places.reference import OLD_VALID_TO
from places.selectors import today, unit_ids_at

ROOT = Path(__file__).resolve().parent.parent
HEADER = [
    "kind",
    "date",
    "time",
    "lon",
    "lat",
    "commune",
    "age_band",
    "sex",
    "outcome",
    "circumstances",
    "source",
    "reference",
]
HANOI = ("105.8542", "21.0285")

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def csv_bytes(header, rows, *, sep=",", bom=False) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def xlsx_bytes(header, rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_file(fmt, header, rows, **kwargs) -> tuple[bytes, str]:
    if fmt == "xlsx":
        return xlsx_bytes(header, rows), "bao_cao.xlsx"
    return csv_bytes(header, rows, **kwargs), "bao_cao.csv"


def run(data: bytes, filename: str = "bao_cao.csv", **kwargs):
    return import_incidents(data=data, filename=filename, **kwargs)


@pytest.fixture
def place(lai_chau):
    """An old commune, its successor, and a point that lies in both (so the crosswalk is exercised)."""
    for old in AdminUnit.objects.filter(level=AdminLevel.COMMUNE, valid_to=OLD_VALID_TO).order_by("code"):
        point = old.geom.point_on_surface
        point.srid = 4326
        new_id = CrosswalkLink.objects.get(old_unit=old).new_unit_id
        if unit_ids_at(geoms=[point], on=OLD_VALID_TO) == [old.id] and unit_ids_at(geoms=[point]) == [new_id]:
            new = AdminUnit.objects.get(pk=new_id)
            return {"old": old, "new": new, "lon": f"{point.x:.6f}", "lat": f"{point.y:.6f}"}
    raise AssertionError("no commune with a point inside both structures")


def valid_row(place, **changes) -> list:
    row = {
        "kind": "drowning",
        "date": "2024-06-15",
        "time": "16:30",
        "lon": place["lon"],
        "lat": place["lat"],
        "commune": "",
        "age_band": "10-14",
        "sex": "male",
        "outcome": "fatal",
        "circumstances": "Trẻ tắm suối cùng bạn",
        "source": "Phòng LĐTBXH huyện Tam Đường",
        "reference": "BC-2024-01",
    }
    row.update(changes)
    return [row[name] for name in HEADER]


def errors_by_line(report) -> dict[int, dict[str, list[str]]]:
    found: dict[int, dict[str, list[str]]] = {}
    for error in report.rejected:
        found.setdefault(error.row, {}).setdefault(error.field, []).append(error.reason)
    return found


# --- the whole file refused ---------------------------------------------------------------------

IDENTIFYING = [
    "Họ tên",
    "ho_ten",
    "Name",
    "Ngày sinh",
    "date_of_birth",
    "Địa chỉ",
    "Số điện thoại",
    "CCCD",
    "Tên bố",
]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("column", IDENTIFYING)
def test_an_identifying_column_refuses_the_whole_file(place, fmt, column):
    header = [*HEADER, column]
    rows = [valid_row(place, reference="A1") + ["x"], valid_row(place, reference="A2") + [""]]
    data, filename = make_file(fmt, header, rows)
    with pytest.raises(IncidentFileError) as exc:
        run(data, filename)
    message = str(exc.value)
    assert f"'{column}'" in message
    assert "identifies a child" in message
    assert "remove names, birth dates, addresses, phone and ID numbers" in message
    assert not Incident.objects.exists()


def test_every_identifying_column_is_named(place):
    data = csv_bytes([*HEADER, "Họ tên", "Năm sinh"], [valid_row(place) + ["", ""]])
    with pytest.raises(IncidentFileError, match="identify a child") as exc:
        run(data)
    assert "'Họ tên', 'Năm sinh'" in str(exc.value)


def test_identifying_columns_are_refused_before_unknown_ones(place):
    data = csv_bytes([*HEADER, "ghi_chu", "Họ và tên trẻ", "Tên bố"], [valid_row(place) + ["", "", ""]])
    with pytest.raises(IncidentFileError, match="'Tên bố'"):
        run(data)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_unknown_column_is_refused_and_named(place, fmt):
    data, filename = make_file(fmt, [*HEADER, "ghi_chu"], [valid_row(place) + ["note"]])
    with pytest.raises(IncidentFileError, match="unknown columns: 'ghi_chu'"):
        run(data, filename)
    assert not Incident.objects.exists()


def test_a_typo_is_refused_with_a_suggestion(place):
    header = ["Loại", "Ngàyy", "Kinh độ", "Vĩ độ", "Độ tuổi", "Hậu quả", "Đơn vị báo cáo"]
    data = csv_bytes(header, [["đuối nước", "01/06/2024", place["lon"], place["lat"], "5-9", "nhẹ", "X"]])
    with pytest.raises(IncidentFileError) as exc:
        run(data)
    assert "'Ngàyy' (did you mean 'ngay'?)" in str(exc.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["kind", "date", "lon", "lat", "age_band", "source"], "hau_qua/outcome"),
        (["kind", "date", "outcome", "age_band", "source"], "ma_xa/commune"),
        (["kind", "date", "outcome", "commune", "source"], "tuoi/age"),
        (["kind", "date", "outcome", "commune", "age_band"], "don_vi_bao_cao/source"),
    ],
)
def test_a_missing_required_column_is_refused(header, expected):
    with pytest.raises(IncidentFileError, match="the file has no column") as exc:
        run(csv_bytes(header, []))
    assert expected in str(exc.value)


def test_the_source_column_may_be_replaced_by_a_default_source(place):
    header = ["kind", "date", "lon", "lat", "age_band", "outcome"]
    data = csv_bytes(header, [["fall", "2024-03-02", place["lon"], place["lat"], "0-4", "minor"]])
    report = run(data, default_source="UBND xã")
    assert report.created == 1 and not report.rejected
    assert Incident.objects.get().source == "UBND xã"


def test_the_same_column_twice_is_refused(place):
    data = csv_bytes([*HEADER, "Loại"], [valid_row(place) + ["fall"]])
    with pytest.raises(IncidentFileError, match="'kind' and 'Loại' are the same column"):
        run(data)


def test_a_column_without_header_holding_values_is_refused(place):
    data = csv_bytes([*HEADER, ""], [valid_row(place) + [""], valid_row(place, reference="B") + ["Nguyễn"]])
    with pytest.raises(
        IncidentFileError, match=r"column 13 has no name in the header but holds values \(line 3\)"
    ):
        run(data)
    assert not Incident.objects.exists()


def test_running_number_column_is_ignored(place):
    data = csv_bytes(["STT", *HEADER], [["1", *valid_row(place)]])
    assert run(data).created == 1


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "a.csv", "the file is empty"),
        (b"  \r\n", "a.csv", "the file is empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.xls", r"\.xls"),
        (b"not a zip", "a.xlsx", "not a readable XLSX workbook"),
        (b"PK\x03\x04broken", "a.xlsx", "not a readable XLSX workbook"),
        (b"{}", "a.json", "unsupported file type '.json'"),
    ],
)
def test_unusable_files(data, filename, message):
    with pytest.raises(IncidentFileError, match=message):
        run(data, filename)


def test_non_utf8_csv_is_refused_naming_line_and_byte(place):
    good = csv_bytes(HEADER, [valid_row(place)])
    # Saved by an old Vietnamese Windows program: windows-1258, tone marks as combining characters.
    text = unicodedata.normalize("NFD", "fall,2024-01-02,,,,03389,0-4,,minor,Trẻ ngã,Café,\r\n")
    bad_line = text.encode("cp1258")
    data = good + bad_line
    position = data.index(b"Tre\xd2") + 3  # the hook above, 0xD2, is not UTF-8
    with pytest.raises(IncidentFileError) as exc:
        run(data)
    assert f"the file is not UTF-8 text (line 3, byte {position + 1})" in str(exc.value)
    assert not Incident.objects.exists()


# --- rows -----------------------------------------------------------------------------------------


def test_each_bad_row_is_reported_with_line_and_column_and_the_valid_rows_are_stored(place):
    future = (today() + dt.timedelta(days=10)).isoformat()
    rows = [
        valid_row(place, reference="R2"),  # line 2: valid
        valid_row(place, reference="R3", kind="swimming"),
        valid_row(place, reference="R4", date="31/02/2024"),
        valid_row(place, reference="R5", date=future),
        valid_row(place, reference="R6", age_band="3-7"),
        valid_row(place, reference="R7", circumstances="Gia đình gọi 0912 345 678 báo tin"),
        valid_row(place, reference="R8", lon="", lat="", commune="99999"),
        valid_row(place, reference="R9", lon=HANOI[0], lat=HANOI[1]),
        valid_row(place, reference="R10", lon="", lat="", commune=place["old"].code, date="2023-05-01"),
        valid_row(place, reference="R11", kind="bơi", lon="", lat="", commune="99999"),
        valid_row(place, reference="R12", sex="con trai", outcome="chết đuối"),
        valid_row(place, reference="R13", time="25:00", lon="103.1", lat=""),
        valid_row(place, reference="R14", date="12/06/1024"),
        valid_row(place, reference="R15", date="hôm qua", circumstances="Gọi 0912345678", commune="99999"),
    ]
    report = run(csv_bytes(HEADER, rows))
    assert (report.total, report.created, report.updated, report.unchanged) == (14, 2, 0, 0)
    errors = errors_by_line(report)
    assert set(errors) == {3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15}
    assert (
        errors[3] == {"kind": [errors[3]["kind"][0]]} and "'swimming' is not one of" in errors[3]["kind"][0]
    )
    assert "đuối nước" in errors[3]["kind"][0]
    assert errors[4] == {"date": ["'31/02/2024' is not a day of the calendar"]}
    assert errors[5] == {"date": ["in the future"]}
    assert list(errors[6]) == ["age_band"] and "'3-7' is not an age band" in errors[6]["age_band"][0]
    assert list(errors[7]) == ["circumstances"]
    assert "phone or identity number" in errors[7]["circumstances"][0]
    assert errors[8] == {"commune": ["no commune with code '99999' in force on 2024-06-15"]}
    assert errors[9] == {"lon, lat": ["outside the province"]}
    # A row with several faults lists them all: the unreadable kind and the unknown commune.
    assert set(errors[11]) == {"kind", "commune"}
    assert set(errors[12]) == {"sex", "outcome"}
    assert set(errors[13]) == {"time", "lon, lat"}
    assert errors[14] == {"date": ["1024-06-12 is before 1990: check the year"]}
    # An unreadable date does not hide the other faults of its row.
    assert set(errors[15]) == {"date", "circumstances"}
    stored = Incident.objects.order_by("reference")
    assert [i.reference for i in stored] == ["R10", "R2"]
    old_era = stored[0]
    assert old_era.commune == place["old"] and old_era.current_commune == place["new"]
    assert old_era.location is None
    assert stored[1].current_commune == place["new"] and stored[1].linked_site is None
    as_dict = report.to_dict()
    assert as_dict["rejected_rows"] == 12 and as_dict["row_numbering"] == "line"
    assert {"row": 4, "field": "date", "reason": "'31/02/2024' is not a day of the calendar"} in as_dict[
        "rejected"
    ]


def test_vietnamese_headers_and_values_semicolons_bom_and_decimal_commas(place):
    header = [
        "STT",
        "Loại",
        "Ngày",
        "Giờ",
        "Kinh độ",
        "Vĩ độ",
        "Mã xã",
        "Độ tuổi",
        "Giới tính",
        "Hậu quả",
        "Hoàn cảnh",
        "Đơn vị báo cáo",
        "Số báo cáo",
    ]
    lon, lat = place["lon"].replace(".", ","), place["lat"].replace(".", ",")
    ofc = "Phòng Lao động - Thương binh và Xã hội huyện Tam Đường"
    old, new = place["old"].code, place["new"].code
    swim, road = "Trẻ tắm suối cùng bạn", "Va chạm xe máy trên đường đi học"
    rows = [
        [
            "1",
            "Đuối nước",
            "15/06/2024",
            "16h30",
            lon,
            lat,
            "",
            "10-14",
            "Nam",
            "Tử vong",
            swim,
            ofc,
            "01/BC",
        ],
        [
            "2",
            "Tai nạn giao thông",
            "3/9/2025",
            "6:45",
            "",
            "",
            new,
            "15–17",
            "Nữ",
            "Nhập viện",
            road,
            ofc,
            "02/BC",
        ],
        ["3", "BỎNG", "2022-12-01", "", "", "", old, "0 - 4 tuổi", "", "Nhẹ", "", ofc, ""],
        ["4", "Động vật cắn", "01.02.2023", "", "", "", old, "5-9", "không rõ", "nhẹ", "", "", "03/BC"],
        ["5", "Công trình", "20-10-2025", "", lon, lat, "", "5-9", "bé gái", "nhập viện", "", ofc, "04/BC"],
    ]
    report = run(csv_bytes(header, rows, sep=";", bom=True), default_source="UBND xã")
    assert report.rejected == [] and report.created == 5
    by_ref = {i.reference: i for i in Incident.objects.all()}
    first = by_ref["01/BC"]
    assert (first.kind, first.date, first.time, first.age_band, first.sex, first.outcome) == (
        "drowning",
        dt.date(2024, 6, 15),
        dt.time(16, 30),
        "10-14",
        "male",
        "fatal",
    )
    assert first.location.x == pytest.approx(float(place["lon"])) and first.source == ofc
    second = by_ref["02/BC"]
    assert (second.kind, second.age_band, second.sex, second.outcome) == (
        "traffic",
        "15-17",
        "female",
        "hospitalised",
    )
    assert second.commune == place["new"] and second.location is None
    burn = next(i for ref, i in by_ref.items() if ref.startswith(AUTO_PREFIX))
    assert (burn.kind, burn.age_band, burn.sex, burn.outcome) == ("burn", "0-4", "unknown", "minor")
    assert burn.commune == place["old"] and burn.current_commune == place["new"]
    assert by_ref["03/BC"].kind == "animal" and by_ref["03/BC"].source == "UBND xã"
    assert by_ref["03/BC"].date == dt.date(2023, 2, 1)
    assert by_ref["04/BC"].kind == "construction_site" and by_ref["04/BC"].date == dt.date(2025, 10, 20)


def test_xlsx_cells_formulas_and_trailing_rows(place):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        ["loai", "ngay", "gio", "ma_xa", "do_tuoi", "gioi_tinh", "hau_qua", "don_vi_bao_cao", "so_bao_cao"]
    )
    code = int(place["old"].code)  # a code typed as a number loses its leading zero
    sheet.append(
        ["đuối nước", dt.date(2024, 7, 2), dt.time(15, 10), code, "10-14", "nam", "tử vong", "Huyện", "X1"]
    )
    sheet.append(
        ["ngã", dt.datetime(2023, 1, 5, 0, 0), None, code, "5-9", "nữ", '=IF(1,"nhẹ")', "Huyện", "X2"]
    )
    sheet.append(["bỏng", "=TODAY()", None, code, dt.datetime(2024, 5, 9), "nữ", "nhẹ", "Huyện", "X3"])
    sheet.append(["khác", "02/03/2023", "09:05", str(code), "15-17", "", "nhẹ", "Huyện", 1001.0])
    for line in range(7, 40):
        sheet.cell(row=line, column=2, value="  ")  # empty trailing rows, as spreadsheets leave them
    sheet.insert_cols(1)
    sheet["A1"] = "STT"
    for line in range(2, 40):  # a template numbered in advance, with a formula: still empty rows
        sheet.cell(row=line, column=1, value=line - 1 if line < 20 else "=ROW()-1")
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = run(buffer.getvalue(), "so_lieu.xlsx")
    assert report.format == "xlsx" and report.total == 4
    errors = errors_by_line(report)
    assert errors[3] == {"hau_qua": ["formulas are not accepted, paste values"]}
    assert errors[4]["ngay"] == ["formulas are not accepted, paste values"]
    assert "if Excel turned '5-9' into a date" in errors[4]["do_tuoi"][0]
    assert set(errors) == {3, 4}
    first = Incident.objects.get(reference="X1")
    assert (first.date, first.time, first.commune) == (dt.date(2024, 7, 2), dt.time(15, 10), place["old"])
    assert Incident.objects.get(reference="1001").time == dt.time(9, 5)


def test_the_exact_age_becomes_a_band_and_is_kept_nowhere(place):
    header = ["kind", "date", "commune", "age", "sex", "outcome", "source"]
    row = ["drowning", "2024-07-20", place["old"].code, "13", "nam", "tử vong", "Xã"]
    report = run(csv_bytes(header, [row]))
    assert report.created == 1 and not report.rejected
    incident = Incident.objects.get()
    assert incident.age_band == "10-14"
    for record in [incident, *incident.history.all()]:
        for model_field in record._meta.concrete_fields:
            value = getattr(record, model_field.attname)
            assert value not in (13, "13", 13.0), model_field.name
            if isinstance(value, str) and not value.startswith(AUTO_PREFIX):
                assert "13" not in value, model_field.name
    # The content key is made from the band: another age of the band is the same record.
    again = run(csv_bytes(header, [[*row[:3], "11", *row[4:]]]))
    assert (again.created, again.unchanged) == (0, 1)
    with_band = run(
        csv_bytes(
            ["kind", "date", "commune", "do_tuoi", "sex", "outcome", "source"],
            [row[:3] + ["10-14"] + row[4:]],
        )
    )
    assert (with_band.created, with_band.unchanged) == (0, 1)


@pytest.mark.parametrize(
    ("age", "band"),
    [("0", "0-4"), ("18 tháng", "0-4"), ("5 tuổi", "5-9"), ("9", "5-9"), ("15", "15-17"), ("17", "15-17")],
)
def test_ages_map_to_bands(place, age, band):
    report = run(
        csv_bytes(
            ["kind", "date", "commune", "tuoi", "outcome", "source"],
            [["fall", "2024-01-01", place["old"].code, age, "minor", "X"]],
        )
    )
    assert not report.rejected
    assert Incident.objects.get().age_band == band


def test_bad_ages_are_rejected(place):
    header = ["kind", "date", "commune", "do_tuoi", "tuoi", "outcome", "source"]
    rows = [
        ["fall", "2024-01-01", place["old"].code, "", "18", "minor", "X"],
        ["fall", "2024-01-01", place["old"].code, "", "7,5", "minor", "X"],
        ["fall", "2024-01-01", place["old"].code, "5-9", "12", "minor", "X"],
        ["fall", "2024-01-01", place["old"].code, "", "", "minor", "X"],
    ]
    errors = errors_by_line(run(csv_bytes(header, rows)))
    assert list(errors[2]) == ["tuoi"] and "from 0 to 17" in errors[2]["tuoi"][0]
    assert list(errors[3]) == ["tuoi"]
    assert errors[4] == {"tuoi": ["does not fall in the age band given (5-9)"]}
    assert errors[5] == {"do_tuoi": ["required: an age band or an age"]}
    assert not Incident.objects.exists()


def test_a_report_number_twice_in_a_file_is_rejected(place):
    rows = [valid_row(place, reference="D1"), valid_row(place, reference="D1", outcome="minor")]
    report = run(csv_bytes(HEADER, rows))
    assert report.created == 1
    assert errors_by_line(report) == {3: {"reference": ["report number 'D1' is already on line 2"]}}
    assert Incident.objects.get().outcome == "fatal"


def test_too_long_values_and_a_row_longer_than_the_header(place):
    rows = [valid_row(place, circumstances="Trẻ tắm suối " * 50), valid_row(place, reference="r" * 101)]
    report = run(csv_bytes(HEADER, rows))
    errors = errors_by_line(report)
    assert errors[2] == {"circumstances": ["longer than 500 characters"]}
    assert errors[3] == {"reference": ["longer than 100 characters"]}


def test_dry_run_stores_nothing(place):
    rows = [valid_row(place, reference=f"DR{i}") for i in range(3)] + [valid_row(place, kind="?")]
    report = run(csv_bytes(HEADER, rows), dry_run=True)
    assert (report.dry_run, report.created, report.rejected_rows) == (True, 3, 1)
    assert not Incident.objects.exists()
    assert not Incident.history.exists()


def test_reimport_with_report_numbers_updates_and_creates_nothing(place):
    rows = [valid_row(place, reference=f"N{i}", date=f"2024-06-1{i}") for i in range(4)]
    first = run(csv_bytes(HEADER, rows))
    assert first.created == 4
    history = Incident.history.count()
    again = run(csv_bytes(HEADER, rows))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert Incident.history.count() == history  # an unchanged row writes nothing, not even history
    rows[1] = valid_row(place, reference="N1", date="2024-06-11", outcome="hospitalised")
    changed = run(xlsx_bytes(HEADER, rows), "same_rows.xlsx")
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 3)
    assert Incident.objects.count() == 4
    assert Incident.objects.get(reference="N1").outcome == "hospitalised"


def test_reimport_without_report_numbers_creates_nothing(place):
    header = HEADER[:-1]
    row = valid_row(place)[:-1]
    other = valid_row(place, kind="fall", outcome="minor")[:-1]
    rows = [row, row, other]  # two children drowned together: two records
    first = run(csv_bytes(header, rows))
    assert (first.created, first.rejected) == (3, [])
    references = set(Incident.objects.values_list("reference", flat=True))
    assert len(references) == 3 and all(r.startswith(AUTO_PREFIX) for r in references)
    again = run(xlsx_bytes(header, rows), "again.xlsx")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Incident.objects.count() == 3
    assert set(Incident.objects.values_list("reference", flat=True)) == references


def test_fold_matches_headers_without_accents_or_case():
    assert fold("Ngày xảy ra") == fold("NGAY XAY RA") == fold("ngay_xay_ra") == "ngay_xay_ra"
    assert fold("Đơn vị báo cáo") == "don_vi_bao_cao"


# --- the command ------------------------------------------------------------------------------------


def test_command_prints_the_report(place, tmp_path):
    path = tmp_path / "bao_cao.csv"
    path.write_bytes(csv_bytes(HEADER, [valid_row(place), valid_row(place, reference="K", kind="?")]))
    out = StringIO()
    call_command("import_incidents", str(path), "--dry-run", stdout=out)
    text = out.getvalue()
    assert "bao_cao.csv (csv): 2 rows, 1 created, 0 updated, 0 unchanged, 1 rejected" in text
    assert "dry run: nothing was stored" in text
    assert "  3\tkind: '?' is not one of" in text
    assert not Incident.objects.exists()
    call_command("import_incidents", str(path), "--source", "Xã", stdout=StringIO())
    assert Incident.objects.count() == 1


def test_command_refuses_an_unusable_file(place, tmp_path):
    path = tmp_path / "ds.csv"
    path.write_bytes(csv_bytes([*HEADER, "Họ tên"], [valid_row(place) + ["x"]]))
    with pytest.raises(CommandError, match="ds.csv: the file has a column 'Họ tên'"):
        call_command("import_incidents", str(path), stdout=StringIO())


def test_command_exit_code_is_1_for_an_unusable_file(manage, tmp_path):
    path = tmp_path / "ds.csv"
    path.write_bytes(csv_bytes([*HEADER, "Số điện thoại"], [["drowning"] * 13]))
    out = manage("import_incidents", str(path), env={"DJANGO_DEBUG": "1"})
    assert out.returncode == 1, out.stderr
    assert "Số điện thoại" in out.stderr


# --- translations -------------------------------------------------------------------------------------


def test_every_message_has_a_vietnamese_translation():
    msgids = set()
    for name in (
        "incidents/importer.py",
        "incidents/demo.py",
        "incidents/management/commands/import_incidents.py",
        "incidents/management/commands/generate_incident_demo.py",
    ):
        tree = ast.parse((ROOT / name).read_text("utf-8"))
        msgids |= {
            node.args[0].value
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        }
    table = json.loads((ROOT / "locale/vi/translations/incidents_io.json").read_text("utf-8"))
    assert msgids == set(table)
    pages = json.loads((ROOT / "locale/vi/translations/inspections_pages.json").read_text("utf-8"))
    assert not set(table) & set(pages)
    others = {}
    for path in sorted((ROOT / "locale/vi/translations").glob("*.json")):
        if path.name != "incidents_io.json":
            others.update(json.loads(path.read_text("utf-8")))
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for msgid, vi in table.items():
        assert vi and vi != msgid, msgid
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(vi)), msgid
        assert others.get(msgid, vi) == vi, f"translated differently elsewhere: {msgid}"


def test_the_importing_user_is_recorded(place, user):
    report = run(csv_bytes(HEADER, [valid_row(place)]), user=user)
    assert report.created == 1
    incident = Incident.objects.get()
    assert incident.created_by == user and incident.history.get().history_user == user


# --- XML attacks and oversized text (issue 11) ---------------------------------------------------


def test_xlsx_declaring_entities_is_a_clear_error_not_a_crash(place):
    from tests.hostile.corpus import xlsx_entity_bomb

    with pytest.raises(IncidentFileError, match="XML is malformed or declares entities"):
        run(xlsx_entity_bomb(), "l.xlsx")
    assert Incident.objects.count() == 0


def test_xlsx_with_too_much_shared_text_is_refused_before_reading(place, monkeypatch):
    from incidents import importer
    from tests.hostile.corpus import xlsx_shared_strings_bomb

    monkeypatch.setattr(importer, "MAX_XLSX_SHARED_STRINGS_BYTES", 2 << 20)
    data = xlsx_shared_strings_bomb(3 << 20)  # under the unpacked limit, over the text limit
    with pytest.raises(IncidentFileError, match=r"holds [34] MB of text; an incident list holds at most 2"):
        run(data, "l.xlsx")
    assert Incident.objects.count() == 0
    # Under the limit the workbook is read.
    try:
        run(xlsx_shared_strings_bomb(1 << 20), "l.xlsx")
    except IncidentFileError as exc:
        assert "MB of text" not in str(exc)


def test_xlsx_with_a_huge_zip_directory_is_refused_unread(place):
    """A workbook is a zip: 10^4 entries are refused from the end record, before zipfile builds an
    entry object for each (the same check as zipped shapefiles)."""
    from tests.hostile.corpus import many_members_zip

    with pytest.raises(IncidentFileError, match=r"holds 10003 entries \(at most 1000\)"):
        run(many_members_zip(10_000), "l.xlsx")
    assert Incident.objects.count() == 0
