"""Load the Lai Châu agencies and routing rules (fixtures/agencies_lai_chau.json).

The committees are derived from the administrative units: one people's committee per
district until 30/06/2025 and per commune from 01/07/2025. Idempotent (keyed by
agency code; the rules are replaced as a set), and re-routes every site afterwards.
"""

import json
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import transaction

from places.models import AdminLevel, AdminUnit

from .models import Agency, AgencyKind, RoutingRule
from .routing import sites_reroute

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "agencies_lai_chau.json"


def _date(text):
    return date.fromisoformat(text) if text else None


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


@transaction.atomic
def load_agencies(path: Path = FIXTURE) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    for d in data["departments"]:
        Agency.objects.update_or_create(
            code=d["code"],
            defaults={
                "name": d["name"],
                "name_en": d["name_en"],
                "kind": d["kind"],
                "area": None,
                "valid_from": _date(d.get("valid_from")),
                "valid_to": _date(d.get("valid_to")),
            },
        )
    committees = 0
    for c in data["committees"]:
        valid_from, valid_to = _date(c.get("valid_from")), _date(c.get("valid_to"))
        day = valid_from or valid_to
        kind = (
            AgencyKind.DISTRICT_COMMITTEE
            if c["level"] == AdminLevel.DISTRICT
            else AgencyKind.COMMUNE_COMMITTEE
        )
        for unit in AdminUnit.objects.valid_on(day).filter(level=c["level"]):
            Agency.objects.update_or_create(
                code=f"{c['code_prefix']}{unit.code}",
                defaults={
                    "name": f"Ủy ban nhân dân {_lower_first(unit.name)}",
                    "name_en": f"People's Committee of {unit.name_en}",
                    "kind": kind,
                    "area": unit,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                },
            )
            committees += 1
    RoutingRule.objects.all().delete()
    agencies = {a.code: a for a in Agency.objects.all()}
    rules = [
        RoutingRule(
            site_kind=r["site_kind"],
            agency=agencies[r["agency"]] if r.get("agency") else None,
            area_level=r.get("area_level", ""),
            valid_from=_date(r.get("valid_from")),
            valid_to=_date(r.get("valid_to")),
            basis=r.get("basis", ""),
        )
        for r in data["rules"]
    ]
    RoutingRule.objects.bulk_create(rules)
    rerouted = sites_reroute()
    return {
        "departments": len(data["departments"]),
        "committees": committees,
        "rules": len(rules),
        "sites_rerouted": rerouted,
    }
