"""Fill Vietnamese msgstr entries in locale/vi/LC_MESSAGES/django.po from a JSON table.

Usage: python scripts/po_fill.py
Run `manage.py makemessages -l vi` first. The tables are the JSON files in
locale/vi/translations/ (one per area, {"English msgid": "Vietnamese"}). Translations already in the .po are
kept; fuzzy guesses made by msgmerge are dropped; the script lists msgids still
untranslated and exits 1 if any remain.
"""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale/vi/LC_MESSAGES/django.po"
TABLES = ROOT / "locale/vi/translations"


def parse(text: str) -> list[dict]:
    """Split a .po file into entries: comments, msgid, msgid_plural, msgstr[...]."""
    entries, cur, key = [], None, None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                entries.append(cur)
            cur, key = None, None
            continue
        starts_entry = line.startswith(("#", "msgctxt ", "msgid "))
        if cur and starts_entry and any(k.startswith("msgstr") for k in cur["fields"]):
            entries.append(cur)  # msgmerge sometimes omits the blank line after the header
            cur = None
        cur = cur or {"comments": [], "fields": {}}
        if line.startswith("#"):
            cur["comments"].append(line)
        elif line.startswith('"'):
            cur["fields"][key] += json.loads(line)
        else:
            key, _, rest = line.partition(" ")
            cur["fields"][key] = json.loads(rest)
    if cur:
        entries.append(cur)
    return entries


def render(entries: list[dict]) -> str:
    blocks = []
    for e in entries:
        lines = list(e["comments"])
        for key, value in e["fields"].items():
            lines.append(f"{key} {json.dumps(value, ensure_ascii=False)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def main() -> int:
    table = {}
    for path in sorted(TABLES.glob("*.json")):
        table.update(json.loads(path.read_text(encoding="utf-8")))
    # Obsolete entries ("#~ msgid ...", left by msgmerge for removed strings) are only comments
    # to this parser: drop them (keeping them once wrote a stray msgstr that broke msgmerge).
    entries = [e for e in parse(PO.read_text(encoding="utf-8")) if e["fields"]]
    missing = []
    for e in entries:
        f = e["fields"]
        if f.get("msgid", "") == "":
            f["msgstr"] = f.get("msgstr", "").replace("Language: \n", "Language: vi\n")
            continue
        if any(c.startswith("#, fuzzy") for c in e["comments"]):
            e["comments"] = [
                c for c in e["comments"] if not c.startswith("#, fuzzy") and not c.startswith("#| ")
            ]
            for k in f:
                if k.startswith("msgstr"):
                    f[k] = ""
        msgid = f["msgid"]
        if "msgid_plural" in f:
            if not f.get("msgstr[0]"):
                if msgid in table:
                    f["msgstr[0]"] = table[msgid]
                else:
                    missing.append(msgid)
            continue
        if not f.get("msgstr"):
            if msgid in table:
                f["msgstr"] = table[msgid]
            else:
                missing.append(msgid)
    PO.write_text(render(entries), encoding="utf-8")
    for msgid in missing:
        print("untranslated:", json.dumps(msgid, ensure_ascii=False))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
