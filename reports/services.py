"""Generating, freezing and submitting reports; who may do what.

- agency managers generate and submit their own agency's reports; area leaders their own area's;
- the coordinator and administrators generate any report (the provincial one included) and see all;
- everyone else: 403.
Incident numbers are exact (not suppressed) only when asked for and the user reads single records of
the scope (incidents.privacy): the coordinator, administrators, an area leader for his own area.
"""

import hashlib
import json
from datetime import date

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError
from core.params import plain_digits
from inspections.models import Agency, AgencyKind, Role
from inspections.scoping import profile_of, sees_everything
from places.models import AdminLevel, AdminUnit

from .compute import Period, ReportScope, both, compute_report, province
from .models import Report, Scope

SNAPSHOT_VERSION = 1
MAX_PERIOD_DAYS = 366 * 5
EARLIEST = date(2000, 1, 1)


class ReportError(DomainError):
    status = 400


class ReportForbidden(DomainError):
    status = 403


class ReportNotFound(DomainError):
    status = 404


class ReportUnavailable(DomainError):
    status = 503


# --- parameters ---------------------------------------------------------------------------------------


def _text(data, name: str) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ReportError({name: [_("expected text")]})
    if "\x00" in str(value):
        raise ReportError({name: [_("contains a NUL character")]})
    return str(value).strip()


def _date(data, name: str) -> date | None:
    text = _text(data, name)
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReportError(
            {name: [_("expected a date YYYY-MM-DD, got '%(value)s'") % {"value": text}]}
        ) from None


def _bool(data, name: str, default: bool) -> bool:
    value = data.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() in {"1", "true", "yes", "on"}:
        return True
    if str(value).lower() in {"0", "false", "no", "off"}:
        return False
    raise ReportError({name: [_("expected true or false, got '%(text)s'") % {"text": value}]})


PARAMS = {"scope", "agency", "area", "year", "from", "to", "suppressed"}


def parse_period(data) -> Period:
    errors: dict[str, list[str]] = {}
    year_text = _text(data, "year")
    date_from, date_to = _date(data, "from"), _date(data, "to")
    if year_text is not None:
        if date_from or date_to:
            errors["year"] = [_("give either a year or from/to, not both")]
        elif not (
            plain_digits(year_text) and EARLIEST.year <= int(year_text) <= timezone.localdate().year + 1
        ):
            errors["year"] = [
                _("expected a year between %(a)s and %(b)s")
                % {"a": EARLIEST.year, "b": timezone.localdate().year + 1}
            ]
        else:
            date_from, date_to = date(int(year_text), 1, 1), date(int(year_text), 12, 31)
    elif date_from is None and date_to is None:
        errors["year"] = [_("give a year or a period (from and to)")]
    else:
        if date_from is None:
            errors["from"] = [_("required with 'to'")]
        if date_to is None:
            errors["to"] = [_("required with 'from'")]
    if not errors:
        if date_to < date_from:
            errors["to"] = [_("must not be before 'from'")]
        elif (date_to - date_from).days + 1 > MAX_PERIOD_DAYS:
            errors["to"] = [_("a period is at most %(n)s days") % {"n": MAX_PERIOD_DAYS}]
        elif date_from < EARLIEST:
            errors["from"] = [_("must not be before %(d)s") % {"d": EARLIEST.isoformat()}]
    if errors:
        raise ReportError(errors)
    return Period(date_from, date_to)


def find_area(code: str, on: date) -> AdminUnit | None:
    """A district or commune by GSO code; a code used by both structures gives the unit in force on `on`."""
    units = AdminUnit.objects.filter(code=code, level__in=[AdminLevel.DISTRICT, AdminLevel.COMMUNE])
    return units.valid_on(on).order_by("level").first() or units.order_by("-valid_from", "level").first()


def parse_params(data) -> tuple[ReportScope, Period, bool]:
    """(scope, period, suppressed) from a query dict or JSON body; every bad parameter is named."""
    unknown = sorted(set(data) - PARAMS)
    if unknown:
        raise ReportError(
            {
                name: [_("unknown parameter (allowed: %(a)s)") % {"a": ", ".join(sorted(PARAMS))}]
                for name in unknown
            }
        )
    period = parse_period(data)
    scope_name = _text(data, "scope") or Scope.PROVINCE
    if scope_name not in Scope.values:
        raise ReportError(
            {
                "scope": [
                    _("unknown value '%(v)s' (expected: %(allowed)s)")
                    % {"v": scope_name, "allowed": ", ".join(Scope.values)}
                ]
            }
        )
    agency_code, area_code = _text(data, "agency"), _text(data, "area")
    suppressed = _bool(data, "suppressed", True)
    if scope_name == Scope.AGENCY:
        if area_code:
            raise ReportError({"area": [_("not allowed with scope=agency")]})
        if not agency_code:
            raise ReportError({"agency": [_("required with scope=agency (an agency code)")]})
        agency = Agency.objects.filter(code=agency_code).first()
        if agency is None:
            raise ReportError({"agency": [_("no agency with code '%(c)s'") % {"c": agency_code}]})
        return ReportScope(Scope.AGENCY, agency=agency), period, suppressed
    if scope_name == Scope.AREA:
        if agency_code:
            raise ReportError({"agency": [_("not allowed with scope=area")]})
        if not area_code:
            raise ReportError(
                {"area": [_("required with scope=area (the GSO code of a district or commune)")]}
            )
        area = find_area(area_code, period.date_to)
        if area is None:
            raise ReportError({"area": [_("no district or commune with code '%(c)s'") % {"c": area_code}]})
        if area.level == AdminLevel.DISTRICT and area.valid_to and period.date_from > area.valid_to:
            raise ReportError(
                {
                    "area": [
                        _("this district ended on %(d)s, before the period")
                        % {"d": area.valid_to.strftime("%d/%m/%Y")}
                    ]
                }
            )
        if area.level == AdminLevel.COMMUNE and area.valid_to is not None:
            raise ReportError(
                {"area": [_("a commune of before 01/07/2025: choose its district or today's commune")]}
            )
        return ReportScope(Scope.AREA, area=area), period, suppressed
    for name, value in (("agency", agency_code), ("area", area_code)):
        if value:
            raise ReportError({name: [_("not allowed with scope=province")]})
    return ReportScope(Scope.PROVINCE), period, suppressed


# --- permissions --------------------------------------------------------------------------------------


def _is_own(user, scope: ReportScope) -> bool:
    profile = profile_of(user)
    if profile is None:
        return False
    if profile.role == Role.AGENCY_MANAGER and scope.scope == Scope.AGENCY:
        return scope.agency == profile.agency
    if profile.role == Role.AREA_LEADER and scope.scope == Scope.AREA:
        return scope.area == profile.area
    return False


def may_generate(user, scope: ReportScope) -> bool:
    return sees_everything(user) or _is_own(user, scope)


def may_read_exact(user, scope: ReportScope) -> bool:
    """Single-record readers of the scope: the coordinator and administrators; an area leader for his area."""
    if sees_everything(user):
        return True
    profile = profile_of(user)
    return bool(
        profile
        and profile.role == Role.AREA_LEADER
        and scope.scope == Scope.AREA
        and scope.area == profile.area
    )


def may_use_reports(user) -> bool:
    profile = profile_of(user)
    return sees_everything(user) or bool(profile and profile.role in (Role.AGENCY_MANAGER, Role.AREA_LEADER))


def report_list(*, user) -> QuerySet[Report]:
    """The reports a user may see: all for the coordinator; his agency's or area's for the others."""
    qs = Report.objects.select_related("agency", "area", "generated_by", "submitted_by")
    if sees_everything(user):
        return qs
    profile = profile_of(user)
    if profile is None:
        return qs.none()
    if profile.role == Role.AGENCY_MANAGER:
        return qs.filter(scope=Scope.AGENCY, agency=profile.agency)
    if profile.role == Role.AREA_LEADER:
        return qs.filter(scope=Scope.AREA, area=profile.area)
    return qs.none()


def scope_of(report: Report) -> ReportScope:
    return ReportScope(report.scope, agency=report.agency, area=report.area)


# --- the frozen snapshot ------------------------------------------------------------------------------


def checksum_of(data: dict) -> str:
    """SHA-256 of the canonical JSON (sorted keys), so the database's key order does not matter."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _symbol(agency: Agency | None) -> str:
    if agency is None or agency.kind in (AgencyKind.DISTRICT_COMMITTEE, AgencyKind.COMMUNE_COMMITTEE):
        return "UBND"
    # Initials of the code's words; a word without vowels is an abbreviation already ("tbxh").
    return "".join(
        part.upper() if not set(part) & set("aeiouy") else part[0].upper() for part in agency.code.split("-")
    )


def _committee_of(area: AdminUnit) -> Agency | None:
    return (
        Agency.objects.filter(
            area=area, kind__in=[AgencyKind.DISTRICT_COMMITTEE, AgencyKind.COMMUNE_COMMITTEE]
        )
        .order_by("code")
        .first()
    )


def _coordinator() -> Agency | None:
    return Agency.objects.filter(kind=AgencyKind.COORDINATOR).order_by("code").first()


def _names(obj) -> dict:
    return {"vi": obj.name, "en": obj.name_en or obj.name}


def _inner(obj) -> dict:
    """A unit's name inside a phrase: 'Ủy ban nhân dân tỉnh Lai Châu'."""
    return {"vi": obj.name[:1].lower() + obj.name[1:], "en": obj.name_en or obj.name}


PROVINCE_COMMITTEE = gettext_lazy("People's Committee of %(province)s")
AREA_COMMITTEE = gettext_lazy("People's Committee of %(area)s")
MINISTRY = gettext_lazy("Ministry of Labour, Invalids and Social Affairs")
TITLE_YEAR = gettext_lazy("Results of preventing accidents and injuries of children in %(year)s")
TITLE_PERIOD = gettext_lazy("Results of preventing accidents and injuries of children from %(a)s to %(b)s")
FILED = gettext_lazy("Filed: office archive")
AS_ABOVE = gettext_lazy("As above")


def _lazy_both(message, **values) -> dict:
    out = {}
    for lang in ("vi", "en"):
        with translation.override(lang):
            out[lang] = str(message) % {k: (v[lang] if isinstance(v, dict) else v) for k, v in values.items()}
    return out


def _header(scope: ReportScope, period: Period, number: int, generated_on: date) -> dict:
    prov = province()
    prov_names = _names(prov)
    coordinator = _coordinator()
    if scope.scope == Scope.AGENCY:
        sender_agency = scope.agency
        sender = _names(scope.agency)
        subject = _names(scope.agency)
    elif scope.scope == Scope.AREA:
        sender_agency = _committee_of(scope.area)
        sender = (
            _names(sender_agency) if sender_agency else _lazy_both(AREA_COMMITTEE, area=_inner(scope.area))
        )
        subject = _inner(scope.area)
    else:
        sender_agency = coordinator
        sender = _names(coordinator) if coordinator else _lazy_both(PROVINCE_COMMITTEE, province=_inner(prov))
        subject = _inner(prov)
    if scope.scope == Scope.PROVINCE:
        recipients = [_lazy_both(PROVINCE_COMMITTEE, province=_inner(prov)), both(MINISTRY)]
    else:
        recipients = (
            [_names(coordinator)] if coordinator else [_lazy_both(PROVINCE_COMMITTEE, province=_inner(prov))]
        )
    full_year = period.date_from == date(period.date_from.year, 1, 1) and period.date_to == date(
        period.date_from.year, 12, 31
    )
    if full_year:
        title = _lazy_both(TITLE_YEAR, year=str(period.date_from.year))
    else:
        title = _lazy_both(
            TITLE_PERIOD, a=period.date_from.strftime("%d/%m/%Y"), b=period.date_to.strftime("%d/%m/%Y")
        )
    place = prov_names["vi"].removeprefix("Tỉnh ").strip()
    place_en = prov_names["en"].removesuffix(" Province").strip()
    with translation.override("en"):
        date_en = formats.date_format(generated_on, "j F Y")
    department = sender_agency is not None and sender_agency.kind in (
        AgencyKind.DEPARTMENT,
        AgencyKind.COORDINATOR,
    )
    return {
        "superior": _lazy_both(PROVINCE_COMMITTEE, province=_inner(prov)) if department else None,
        "sender": sender,
        "subject": subject,
        "number": f"{number}/BC-{_symbol(sender_agency)}",
        "date_from": period.date_from.strftime("%d/%m/%Y"),
        "date_to": period.date_to.strftime("%d/%m/%Y"),
        "place_date": {
            "vi": f"{place}, ngày {generated_on:%d} tháng {generated_on:%m} năm {generated_on:%Y}",
            "en": f"{place_en}, {date_en}",
        },
        "title": title,
        "recipients": recipients,
        "copies": [both(AS_ABOVE), both(FILED)],
    }


@transaction.atomic
def report_create(*, user, scope: ReportScope, period: Period, suppressed: bool = True) -> Report:
    """Compute every section now and freeze it: the report's numbers never change afterwards."""
    if not may_generate(user, scope):
        raise ReportForbidden(_("you may generate reports of your own agency or area only"))
    if not suppressed and not may_read_exact(user, scope):
        raise ReportForbidden(
            {"suppressed": [_("only readers of single incident records may have exact numbers")]}
        )
    now = timezone.now()
    report = Report.objects.create(
        scope=scope.scope,
        agency=scope.agency,
        area=scope.area,
        date_from=period.date_from,
        date_to=period.date_to,
        suppressed=suppressed,
        generated_at=now,
        generated_by=user if user and user.is_authenticated else None,
        data={},
        checksum="",
    )
    body = compute_report(scope, period, user=user, suppressed=suppressed)
    report.data = {
        "version": SNAPSHOT_VERSION,
        "params": {
            "scope": scope.scope,
            "agency": scope.agency.code if scope.agency else None,
            "area": scope.area.code if scope.area else None,
            "from": period.date_from.isoformat(),
            "to": period.date_to.isoformat(),
            "suppressed": suppressed,
        },
        "generated_at": now.isoformat(),
        "generated_by": user.get_username() if user and user.is_authenticated else None,
        "header": _header(scope, period, report.pk, timezone.localtime(now).date()),
        **body,
    }
    report.checksum = checksum_of(report.data)
    report.save(update_fields=["data", "checksum"])
    return report


def report_submit(*, user, report: Report) -> Report:
    """The agency or area sends its report to the coordinator (the plan's section V)."""
    scope = scope_of(report)
    if scope.scope == Scope.PROVINCE:
        raise ReportError({"scope": [_("the provincial report is compiled, not submitted")]})
    if not (_is_own(user, scope) or sees_everything(user)):
        raise ReportForbidden(_("only the agency or area of the report submits it"))
    if report.submitted_at is None:
        report.submitted_at = timezone.now()
        report.submitted_by = user
        report.save(update_fields=["submitted_at", "submitted_by"])
    return report


def report_get(*, user, pk) -> Report:
    report = report_list(user=user).filter(pk=pk).first()
    if report is None:
        raise ReportNotFound(_("no such report"))
    if not report.suppressed and not may_read_exact(user, scope_of(report)):
        raise ReportNotFound(_("no such report"))
    return report


def submissions(period: Period) -> list[dict]:
    """Every agency and area that must report for the period, and its latest submitted report.

    Agencies in force during the period (departments and committees), and the districts (until
    30/06/2025) or communes (from 01/07/2025) in force during it.
    """
    overlaps = (Q(valid_from__isnull=True) | Q(valid_from__lte=period.date_to)) & (
        Q(valid_to__isnull=True) | Q(valid_to__gte=period.date_from)
    )
    submitted = Report.objects.filter(
        date_from=period.date_from, date_to=period.date_to, submitted_at__isnull=False
    ).order_by("submitted_at", "id")
    latest_agency = {r.agency_id: r for r in submitted.filter(scope=Scope.AGENCY)}
    latest_area = {r.area_id: r for r in submitted.filter(scope=Scope.AREA)}
    rows = []
    for agency in (
        Agency.objects.filter(overlaps).exclude(kind=AgencyKind.COORDINATOR).order_by("kind", "code")
    ):
        rows.append(
            {
                "scope": Scope.AGENCY,
                "code": agency.code,
                "name": agency.name,
                "name_en": agency.name_en,
                "report": latest_agency.get(agency.pk),
            }
        )
    units = AdminUnit.objects.filter(overlaps).filter(
        Q(level=AdminLevel.DISTRICT) | Q(level=AdminLevel.COMMUNE, valid_from__isnull=False)
    )
    for unit in units.order_by("level", "code"):
        rows.append(
            {
                "scope": Scope.AREA,
                "code": unit.code,
                "name": unit.name,
                "name_en": unit.name_en,
                "report": latest_area.get(unit.pk),
            }
        )
    return rows
