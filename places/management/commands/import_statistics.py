from django.core.management.base import BaseCommand, CommandError

from places.statistics import StatFileError, statistics_import_csv


class Command(BaseCommand):
    help = (
        "Import per-unit statistics from a CSV keyed by GSO code (see places/statistics.py for the columns)."
    )

    def add_arguments(self, parser):
        parser.add_argument("csv_file")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, csv_file, dry_run, **options):
        try:
            with open(csv_file, "rb") as f:
                report = statistics_import_csv(data=f.read(), dry_run=dry_run)
        except (OSError, StatFileError) as exc:
            raise CommandError(f"{csv_file}: {exc}") from exc
        verb = "would store" if dry_run else "stored"
        self.stdout.write(f"{verb} {report.stored} values; {len(report.rejected)} rejected")
        for r in report.rejected:
            self.stdout.write(f"  row {r['row']} [{r['field']}]: {r['reason']}")
        if report.rejected:
            raise CommandError(f"{len(report.rejected)} row(s) rejected")
