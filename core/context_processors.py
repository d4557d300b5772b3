"""Template context shared by every page."""

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

# The areas of the product, in the order of the navigation bar. An entry shows
# only once its app has registered the URL name, so the bar grows as apps land.
NAVIGATION = [
    ("core:home", _("Home")),
    ("maps:index", _("Risk maps")),
    ("places:site-list-page", _("Sites")),
    ("inspections:index", _("Inspections")),
    ("incidents:index", _("Incidents")),
    ("planning:index", _("Play areas")),
    ("reports:index", _("Reports")),
    ("swagger-ui", _("API")),
]


def _language_choices() -> list[tuple[str, str]]:
    # Each language named in itself ("Tiếng Việt", "English"), from our own catalogue
    # (Django's name_local for vi is in decomposed Unicode).
    choices = []
    for code, name in settings.LANGUAGES:
        with translation.override(code):
            choices.append((code, str(name)))
    return choices


def navigation(request):
    items = []
    for name, label in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        active = request.path == url if name == "core:home" else request.path.startswith(url)
        items.append({"url": url, "label": label, "active": active})
    return {"nav_items": items, "language_choices": _language_choices()}
