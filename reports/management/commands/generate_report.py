"""manage.py generate_report --year 2026 [--scope agency --agency so-xay-dung | --scope area --area 105]
[--from D --to D] [--format html|xlsx|csv|pdf] [--lang vi|en] [--exact] [--user NAME] OUT

Computes and freezes a report (stored like one made on the page or by the API) and writes one format."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from reports.render import FORMATS, render
from reports.services import parse_params, report_create


class Command(BaseCommand):
    help = "Generate (and freeze) a report for any scope and period and write it to a file."

    def add_arguments(self, parser):
        parser.add_argument("out", help="output file")
        parser.add_argument("--scope", default="province", choices=["agency", "area", "province"])
        parser.add_argument("--agency", help="agency code (scope agency)")
        parser.add_argument("--area", help="GSO code of a district or commune (scope area)")
        parser.add_argument("--year")
        parser.add_argument("--from", dest="date_from")
        parser.add_argument("--to", dest="date_to")
        parser.add_argument("--format", default="html", choices=FORMATS)
        parser.add_argument("--lang", default="vi", choices=["vi", "en"])
        parser.add_argument("--table", help="one table as CSV (format csv)")
        parser.add_argument("--exact", action="store_true", help="do not hide small incident numbers")
        parser.add_argument("--user", help="the user the report is generated as (default: a superuser)")

    def handle(self, *args, **opts):
        users = get_user_model().objects
        if opts["user"]:
            user = users.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user '{opts['user']}'")
        else:
            user = users.filter(is_superuser=True, is_active=True).order_by("pk").first()
            if user is None:
                raise CommandError("--user: no superuser exists; name a coordinator, manager or leader")
        params = {
            "scope": opts["scope"],
            "agency": opts["agency"],
            "area": opts["area"],
            "year": opts["year"],
            "from": opts["date_from"],
            "to": opts["date_to"],
            "suppressed": "false" if opts["exact"] else "true",
        }
        try:
            scope, period, suppressed = parse_params({k: v for k, v in params.items() if v is not None})
            report = report_create(user=user, scope=scope, period=period, suppressed=suppressed)
            content, _type = render(
                report.data, opts["format"], opts["lang"], checksum=report.checksum, table=opts["table"]
            )
        except DomainError as exc:
            raise CommandError(
                "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in exc.errors.items())
            ) from exc
        except StopIteration:
            raise CommandError(f"--table: no table '{opts['table']}'") from None
        Path(opts["out"]).write_bytes(content)
        number = report.data["header"]["number"]
        self.stdout.write(f"report {report.pk} ({number}), checksum {report.checksum} → {opts['out']}")
