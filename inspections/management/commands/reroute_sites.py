from datetime import date

from django.core.management.base import BaseCommand, CommandError

from inspections.routing import sites_reroute


class Command(BaseCommand):
    help = "Re-resolve every site's responsible agency from the routing rules (after the rules change)."

    def add_arguments(self, parser):
        parser.add_argument("--on", help="date YYYY-MM-DD (default: today)")

    def handle(self, *args, on=None, **options):
        try:
            day = date.fromisoformat(on) if on else None
        except ValueError as exc:
            raise CommandError(f"--on: expected YYYY-MM-DD, got {on!r}") from exc
        self.stdout.write(f"{sites_reroute(on=day)} sites changed agency")
