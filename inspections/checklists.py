"""Load checklist templates (fixtures/checklists.json) and keep their versions honest.

A version, once answered by an inspection, never changes: a changed template must
come as a new version, which becomes the current one. Idempotent.
"""

import json
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import transaction

from places.kinds import KINDS

from .models import ChecklistItem, ChecklistTemplate, Severity

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "checklists.json"
ITEM_FIELDS = ("question", "question_en", "severity", "photo_required_on_fail")


class ChecklistFileError(Exception):
    pass


def _check(data: dict) -> None:
    for t in data["templates"]:
        where = f"{t.get('site_kind')} v{t.get('version')}"
        if t.get("site_kind") not in KINDS:
            raise ChecklistFileError(f"{where}: unknown site kind")
        codes = [i["code"] for i in t["items"]]
        if len(codes) != len(set(codes)):
            raise ChecklistFileError(f"{where}: duplicate item codes")
        for i in t["items"]:
            if i.get("severity") not in Severity.values:
                raise ChecklistFileError(f"{where} {i.get('code')}: unknown severity {i.get('severity')!r}")
            missing = [f for f in ITEM_FIELDS if f not in i]
            if missing:
                raise ChecklistFileError(f"{where} {i['code']}: missing {', '.join(missing)}")


@transaction.atomic
def load_checklists(path: Path = FIXTURE) -> dict[str, int]:
    data = json.loads(path.read_text(encoding="utf-8"))
    _check(data)
    loaded = {}
    latest = {}
    for t in data["templates"]:
        latest[t["site_kind"]] = max(latest.get(t["site_kind"], 0), t["version"])
    for t in data["templates"]:
        template = ChecklistTemplate.objects.filter(site_kind=t["site_kind"], version=t["version"]).first()
        items = {i["code"]: i for i in t["items"]}
        if template is not None and template.inspections.exists():
            stored = {i.code: {f: getattr(i, f) for f in ITEM_FIELDS} for i in template.items.all()}
            wanted = {code: {f: i[f] for f in ITEM_FIELDS} for code, i in items.items()}
            if stored != wanted:
                raise ChecklistFileError(
                    f"{t['site_kind']} v{t['version']} has been answered and cannot change: "
                    "publish a new version"
                )
            continue
        is_current = t["version"] == latest[t["site_kind"]]
        if is_current:
            ChecklistTemplate.objects.filter(site_kind=t["site_kind"], is_current=True).exclude(
                version=t["version"]
            ).update(is_current=False)
        template, _ = ChecklistTemplate.objects.update_or_create(
            site_kind=t["site_kind"],
            version=t["version"],
            defaults={
                "title": t["title"],
                "title_en": t["title_en"],
                "basis": t.get("basis", ""),
                "valid_from": date.fromisoformat(t["valid_from"]),
                "is_current": is_current,
            },
        )
        template.items.exclude(code__in=items).delete()
        for order, (code, i) in enumerate(items.items(), start=1):
            ChecklistItem.objects.update_or_create(
                template=template, code=code, defaults={**{f: i[f] for f in ITEM_FIELDS}, "order": order}
            )
        loaded[f"{t['site_kind']} v{t['version']}"] = len(items)
    return loaded
