"""Vietnamese-first field selection for bilingual records (name / name_en, question / question_en)."""

from django.utils.translation import get_language


def english() -> bool:
    return (get_language() or "vi").startswith("en")


def localized(obj, field: str) -> str:
    """`field` in Vietnamese, or its `<field>_en` twin when the page is in English (if filled)."""
    if obj is None:
        return ""
    if english():
        return getattr(obj, f"{field}_en", "") or getattr(obj, field)
    return getattr(obj, field)
