"""Export any map as one standalone HTML file (Leaflet inlined: it opens offline).

    manage.py export_map OUT.html --indicator risk --level district [--from D --to D]
        [--kind K] [--agency CODE] [--area CODE] [--old-units] [--classes M --k N --breaks a,b]
        [--user USERNAME] [--max-sites N]

Data are embedded (no API behind a file): the sites the user may see (at most --max-sites,
default 5,000) and, for a user who may see single incident records, the incidents' places.
Without --user the map is the public's (sites in force, suppressed incident numbers).
"""

import json
from datetime import date

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from core.exceptions import DomainError
from incidents.privacy import reads_single_records
from incidents.selectors import incident_list
from places.geojson import site_features_json
from places.selectors import site_list

from ...builders import builder_for, tiles_setting
from ...classify import METHODS, ClassificationError
from ...indicators import INDICATORS, LEVELS
from ...layers import choropleth, upper_boundaries
from ...params import parse_breaks


class Command(BaseCommand):
    help = "Export a map (any indicator, level, period) as a standalone HTML file."

    def add_arguments(self, parser):
        parser.add_argument("out")
        parser.add_argument("--indicator", default="risk", choices=list(INDICATORS))
        parser.add_argument("--level", default="district", choices=list(LEVELS))
        parser.add_argument("--from", dest="date_from")
        parser.add_argument("--to", dest="date_to")
        parser.add_argument("--kind")
        parser.add_argument("--agency")
        parser.add_argument("--area")
        parser.add_argument(
            "--old-units", action="store_true", help="periods before 01/07/2025 on the old units"
        )
        parser.add_argument("--classes", default="quantiles", choices=list(METHODS))
        parser.add_argument("--k", type=int, default=5)
        parser.add_argument("--breaks")
        parser.add_argument("--user", help="whose view of the data (default: the public)")
        parser.add_argument("--max-sites", type=int, default=5000)
        parser.add_argument("--language", default="vi", choices=["vi", "en"])

    def handle(self, *args, **o):
        user = None
        if o["user"]:
            user = get_user_model().objects.filter(username=o["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user '{o['user']}'")
        try:
            date_from = date.fromisoformat(o["date_from"]) if o["date_from"] else None
            date_to = date.fromisoformat(o["date_to"]) if o["date_to"] else None
        except ValueError as exc:
            raise CommandError(f"--from/--to: {exc}") from None
        with translation.override(o["language"]):
            try:
                ch = choropleth(
                    o["indicator"],
                    level=o["level"],
                    date_from=date_from,
                    date_to=date_to,
                    user=user,
                    kind=o["kind"],
                    agency=o["agency"],
                    area=o["area"],
                    restate=not o["old_units"],
                    method=o["classes"],
                    k=o["k"],
                    breaks=parse_breaks(o["breaks"]) if o["breaks"] else None,
                )
            except ClassificationError as exc:
                raise CommandError(f"--{exc.field}: {exc}") from None
            except DomainError as exc:
                raise CommandError(str(exc)) from None
            ids = list(site_list(user=user).values_list("id", flat=True).order_by("id")[: o["max_sites"]])
            sites = {"type": "FeatureCollection", "features": json.loads(site_features_json(ids))}
            incidents = None
            if user is not None and reads_single_records(user):
                incidents = [
                    [p.x, p.y]
                    for p in incident_list(user=user, date_from=ch.date_from, date_to=ch.date_to)
                    .exclude(location=None)
                    .values_list("location", flat=True)
                ]
            builder = builder_for(o["indicator"])
            kwargs = {"boundaries": upper_boundaries(ch.level, ch.structure), "sites": sites}
            if builder.__name__ != "coverage_map":
                kwargs["incidents"] = incidents
            m = builder(ch, tiles=tiles_setting(), assets="inline", **kwargs)
            m.save(o["out"])
        self.stdout.write(f"{o['out']}: {len(ch.collection['features'])} units, {len(ids)} sites")
