"""Writes of incidents: resolve the communes (as recorded and today's) and the linked
site once, in PostGIS; refuse anything that could identify a child."""

from dataclasses import dataclass
from datetime import date, time

from django.contrib.gis.geos import Point
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from core.exceptions import DomainError
from places.models import AdminLevel, AdminUnit, CrosswalkLink, Site
from places.selectors import today, unit_ids_at

from .models import LINK_RADIUS_M, LINKABLE_SITE_KINDS, AgeBand, Incident, IncidentKind, Outcome, Sex
from .privacy import circumstances_problems

EARLIEST = date(1990, 1, 1)


class IncidentInvalid(DomainError):
    status = 400


def nearest_site_id(*, kind: str, location: Point | None) -> int | None:
    """The nearest active site of a kind matching the incident within 300 m (metres on the spheroid)."""
    site_kinds = LINKABLE_SITE_KINDS.get(kind)
    if location is None or not site_kinds:
        return None
    with connection.cursor() as cur:
        cur.execute(
            """SELECT id FROM places_site
                WHERE kind = ANY(%s) AND status = 'active'
                  AND ST_DWithin(geom::geography, ST_GeomFromEWKB(%s)::geography, %s)
                ORDER BY ST_Distance(geom::geography, ST_GeomFromEWKB(%s)::geography), id
                LIMIT 1""",
            [site_kinds, bytes(location.ewkb), LINK_RADIUS_M, bytes(location.ewkb)],
        )
        row = cur.fetchone()
    return row[0] if row else None


def _communes(*, location: Point | None, commune_code: str | None, day: date) -> tuple[int, int]:
    """(commune in force on `day`, today's commune); from the point when there is one."""
    if location is not None:
        as_recorded, current = (unit_ids_at(geoms=[location], on=day)[0], unit_ids_at(geoms=[location])[0])
        if as_recorded is None or current is None:
            raise IncidentInvalid({"location": [_("outside the province")]})
        if commune_code:
            given = AdminUnit.objects.filter(pk__in=[as_recorded, current], code=commune_code).exists()
            if not given:
                found = AdminUnit.objects.get(pk=as_recorded)
                raise IncidentInvalid(
                    {
                        "commune": [
                            _("the location lies in %(found)s (%(code)s), not in commune %(given)s")
                            % {"found": found.name, "code": found.code, "given": commune_code}
                        ]
                    }
                )
        return as_recorded, current
    if not commune_code:
        raise IncidentInvalid({"commune": [_("give the location or the commune's GSO code")]})
    unit = AdminUnit.objects.valid_on(day).filter(level=AdminLevel.COMMUNE, code=commune_code).first()
    if unit is None:
        raise IncidentInvalid(
            {
                "commune": [
                    _("no commune with code '%(code)s' in force on %(day)s")
                    % {"code": commune_code, "day": day.isoformat()}
                ]
            }
        )
    if unit.valid_to is None:
        return unit.id, unit.id
    link = CrosswalkLink.objects.filter(old_unit=unit).first()
    return unit.id, (link.new_unit_id if link else unit.id)


@dataclass
class Recorded:
    incident: Incident
    created: bool


def _check(*, kind, day, age_band, sex, outcome, circumstances, source, reference) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, value, choices in (
        ("kind", kind, IncidentKind),
        ("age_band", age_band, AgeBand),
        ("sex", sex, Sex),
        ("outcome", outcome, Outcome),
    ):
        if value not in choices.values:
            errors[field] = [
                _("'%(value)s' is not one of: %(choices)s")
                % {"value": value, "choices": ", ".join(choices.values)}
            ]
    if day is None:
        errors["date"] = [_("required")]
    elif day > today():
        errors["date"] = [_("in the future")]
    elif day < EARLIEST:
        errors["date"] = [_("before %(day)s: check the year") % {"day": EARLIEST.isoformat()}]
    for field, value, limit in (
        ("circumstances", circumstances, 500),
        ("source", source, 150),
        ("reference", reference, 100),
    ):
        if len(value or "") > limit:
            errors[field] = [_("at most %(n)s characters") % {"n": limit}]
        elif "\x00" in (value or ""):
            errors[field] = [_("contains a NUL character")]
    problems = circumstances_problems(circumstances or "")
    if problems:
        errors["circumstances"] = [
            _("remove what could identify the child: %(problems)s") % {"problems": "; ".join(problems)}
        ]
    if not (source or "").strip():
        errors["source"] = [_("required: the office that reported it")]
    return errors


@transaction.atomic
def incident_record(
    *,
    user=None,
    kind: str,
    day: date,
    age_band: str,
    sex: str,
    outcome: str,
    source: str,
    reference: str = "",
    time_of_day: time | None = None,
    location: Point | None = None,
    commune_code: str | None = None,
    circumstances: str = "",
    linked_site_id: int | None = None,
    synthetic: bool = False,
) -> Recorded:
    """Record (or, for the same source and report number, update) an incident."""
    errors = _check(
        kind=kind,
        day=day,
        age_band=age_band,
        sex=sex,
        outcome=outcome,
        circumstances=circumstances,
        source=source,
        reference=reference,
    )
    if errors:
        raise IncidentInvalid(errors)
    commune_id, current_id = _communes(location=location, commune_code=commune_code, day=day)
    manual = linked_site_id is not None
    if manual and not Site.objects.filter(pk=linked_site_id).exists():
        raise IncidentInvalid({"linked_site": [_("no such site")]})
    fields = {
        "kind": kind,
        "date": day,
        "time": time_of_day,
        "location": location,
        "commune_id": commune_id,
        "current_commune_id": current_id,
        "age_band": age_band,
        "sex": sex,
        "outcome": outcome,
        "circumstances": (circumstances or "").strip(),
        "source": source.strip(),
        "linked_site_id": linked_site_id if manual else nearest_site_id(kind=kind, location=location),
        "linked_site_manual": manual,
        "synthetic": synthetic,
    }
    reference = (reference or "").strip()
    existing = (
        Incident.objects.select_for_update().filter(source=fields["source"], reference=reference).first()
        if reference
        else None
    )
    if existing is not None:
        return Recorded(incident=_update(existing, fields, manual=manual, user=user), created=False)
    incident = Incident(reference=reference, created_by=user, **fields)
    incident._history_user = user
    try:
        with transaction.atomic():
            incident.save()
    except IntegrityError:
        # The same report sent twice at once: the other request stored it first.
        existing = Incident.objects.select_for_update().get(source=fields["source"], reference=reference)
        return Recorded(incident=_update(existing, fields, manual=manual, user=user), created=False)
    return Recorded(incident=incident, created=True)


def _update(existing: Incident, fields: dict, *, manual: bool, user) -> Incident:
    """Apply a re-sent report; nothing is written (no history row) when nothing changed."""
    if existing.linked_site_manual and not manual:
        fields = {**fields, "linked_site_id": existing.linked_site_id, "linked_site_manual": True}
    changed = {name: value for name, value in fields.items() if getattr(existing, name) != value}
    if not changed:
        return existing
    for name, value in changed.items():
        setattr(existing, name, value)
    existing._history_user = user
    existing.save()
    return existing


@transaction.atomic
def incident_link_site(*, user, incident: Incident, site_id: int | None) -> Incident:
    """Correct the linked site by hand (None: back to the automatic nearest site)."""
    if site_id is None:
        incident.linked_site_id = nearest_site_id(kind=incident.kind, location=incident.location)
        incident.linked_site_manual = False
    else:
        if not Site.objects.filter(pk=site_id).exists():
            raise IncidentInvalid({"linked_site": [_("no such site")]})
        incident.linked_site_id, incident.linked_site_manual = site_id, True
    incident._history_user = user
    incident.save(update_fields=["linked_site", "linked_site_manual", "updated_at"])
    return incident
