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


def _fold(text: str) -> str:
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


def identifying_column(header: str) -> bool:
    folded = _fold(header)
    return folded in IDENTIFYING_COLUMNS or any(
        folded.startswith(prefix)
        for prefix in ("ho_ten", "ngay_sinh", "so_dien_thoai", "dia_chi", "full_name")
    )


PHONE_OR_ID = re.compile(r"(?<!\d)(?:\+?84|0)?\d(?:[ .-]?\d){8,11}(?!\d)")
BIRTH_DATE = re.compile(r"\b(?:sinh|born|dob)\b[^.;,]{0,20}\d{1,4}", re.IGNORECASE)
NAME_CUE = re.compile(
    r"\b(?:tên|họ tên|họ và tên|name|named|tên là|cháu tên|em tên)\s*(?:là|:)?\s*[A-ZÀ-Ỹ]", re.IGNORECASE
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
