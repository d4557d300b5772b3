"""What must never be stored about a child, and who may read single incident records.

The plan makes the head of the local authority answer for child deaths from accidents:
single records and exact places go to the provincial coordinator (and administrators)
and to the leaders of the area; everyone else sees suppressed aggregates only.
"""

import re
import unicodedata

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from inspections.models import Role
from inspections.scoping import profile_of, sees_everything
from places.models import AdminLevel


def fold(text: str) -> str:
    """Lower case without diacritics, đ → d: 'Họ tên' and 'ho_ten' compare equal."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return re.sub(r"[^a-z0-9]+", "_", "".join(c for c in text if not unicodedata.combining(c))).strip("_")


# Column names (folded) that identify a child or the family: refused on import.
IDENTIFYING_COLUMNS = {
    "name",
    "full_name",
    "first_name",
    "last_name",
    "child_name",
    "ho_ten",
    "ho_va_ten",
    "ten",
    "ten_tre",
    "ten_chau",
    "ho_ten_tre",
    "ho_ten_chau",
    "birth_date",
    "date_of_birth",
    "dob",
    "birthday",
    "ngay_sinh",
    "ngay_thang_nam_sinh",
    "nam_sinh",
    "address",
    "home_address",
    "dia_chi",
    "noi_o",
    "cho_o",
    "que_quan",
    "thuong_tru",
    "phone",
    "phone_number",
    "telephone",
    "mobile",
    "so_dien_thoai",
    "dien_thoai",
    "sdt",
    "id_number",
    "national_id",
    "cccd",
    "cmnd",
    "so_cccd",
    "so_cmnd",
    "ma_dinh_danh",
    "so_dinh_danh",
    "passport",
    "ho_chieu",
    "father",
    "mother",
    "parent",
    "parent_name",
    "guardian",
    "ten_bo",
    "ten_me",
    "ho_ten_bo",
    "ho_ten_me",
    "nguoi_giam_ho",
    "cha",
    "me",
    "email",
    "ma_hoc_sinh",
    "student_id",
}


# Parts of a (folded) header that identify a person wherever they appear:
# "Họ và tên trẻ", "Tên học sinh", "CCCD/CMND", "Điện thoại liên hệ", "Nơi ở hiện nay" ...
IDENTIFYING_PARTS = (
    ("ho", "ten"),
    ("ho", "va", "ten"),
    ("ten",),
    ("name",),
    ("ngay", "sinh"),
    ("nam", "sinh"),
    ("sinh", "ngay"),
    ("birth",),
    ("dob",),
    ("dia", "chi"),
    ("address",),
    ("noi", "o"),
    ("cho", "o"),
    ("que", "quan"),
    ("thuong", "tru"),
    ("tam", "tru"),
    ("dien", "thoai"),
    ("phone",),
    ("sdt",),
    ("mobile",),
    ("cccd",),
    ("cmnd",),
    ("dinh", "danh"),
    ("passport",),
    ("ho", "chieu"),
    ("giam", "ho"),
    ("guardian",),
    ("parent",),
    ("email",),
    ("ma", "hoc", "sinh"),
    ("student", "id"),
)


def identifying_column(header: str) -> bool:
    folded = fold(header)
    if folded in IDENTIFYING_COLUMNS:
        return True
    tokens = folded.split("_")
    return any(
        tokens[k : k + len(part)] == list(part) for part in IDENTIFYING_PARTS for k in range(len(tokens))
    )


PHONE_OR_ID = re.compile(r"(?<!\d)(?:\+?84|0)?\d(?:[ .-]?\d){8,11}(?!\d)")
# "ngày sinh 3/5/2015", "sinh năm 2016", but not "học sinh lớp 8" or "12 tuổi".
BIRTH_DATE = re.compile(
    r"(?i:\b(?:ngày sinh|năm sinh|sinh ngày|sinh năm|sinh tháng|born|date of birth|dob)\b)[^.;,]{0,20}\d{1,4}"
)
# A cue followed by a capitalised word: "tên là Lò Văn A", "họ tên: Vàng A Páo", "named Mai";
# not "không rõ tên đường".
NAME_CUE = re.compile(
    r"(?i:\b(?:tên là|tên:|họ tên|họ và tên|tên cháu là|tên em là|named|name:))\s*:?\s*[A-ZÀ-Ỹ]"
)


def circumstances_problems(text: str) -> list[str]:
    """Reasons the free text may identify a child (the form's guidance, enforced)."""
    problems = []
    if PHONE_OR_ID.search(text):
        problems.append(_("it contains a phone or identity number"))
    if BIRTH_DATE.search(text):
        problems.append(_("it contains a birth date or year"))
    if NAME_CUE.search(text):
        problems.append(_("it seems to contain a person's name"))
    return problems


def reads_single_records(user) -> bool:
    profile = profile_of(user)
    return sees_everything(user) or bool(profile and profile.role == Role.AREA_LEADER)


def scope_incidents(qs: QuerySet, user) -> QuerySet:
    """Single records: the coordinator (and administrators) all; an area leader his area; nobody else."""
    if sees_everything(user):
        return qs
    profile = profile_of(user)
    if profile is None or profile.role != Role.AREA_LEADER:
        return qs.none()
    area = profile.area
    if area.level == AdminLevel.COMMUNE and area.valid_to is None:
        return qs.filter(current_commune=area)
    if area.level == AdminLevel.COMMUNE:
        return qs.filter(Q(commune=area) | Q(location__intersects=area.geom))
    if area.level == AdminLevel.DISTRICT:
        return qs.filter(Q(commune__parent=area) | Q(location__intersects=area.geom))
    return qs
