from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from incidents.importer import IncidentFileError, import_incidents


class Command(BaseCommand):
    help = (
        "Import child injury incidents from a CSV or XLSX file of a social-affairs office; print the counts "
        "and every rejected row. Exit code 1 when the file cannot be used at all (nothing is stored then)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="validate and count, store nothing")
        parser.add_argument(
            "--source", help="reporting office of the rows whose don_vi_bao_cao/source cell is blank"
        )

    def handle(self, *args, file: Path, dry_run: bool, source: str | None, **options):
        if not file.is_file():
            raise CommandError(_("no such file: %(path)s") % {"path": file})
        try:
            report = import_incidents(
                data=file.read_bytes(), filename=file.name, dry_run=dry_run, default_source=source
            )
        except IncidentFileError as exc:
            raise CommandError(f"{file.name}: {exc}") from exc
        self.stdout.write(
            _(
                "%(file)s (%(format)s): %(total)d rows, %(created)d created, %(updated)d updated, "
                "%(unchanged)d unchanged, %(rejected)d rejected"
            )
            % {
                "file": file.name,
                "format": report.format,
                "total": report.total,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": report.rejected_rows,
            }
        )
        if report.dry_run:
            self.stdout.write(_("dry run: nothing was stored"))
        if report.rejected:
            self.stdout.write(_("rejected rows (line of the file, the header being line 1):"))
            for error in report.rejected:
                self.stdout.write(f"  {error.row}\t{error.field}: {error.reason}")
