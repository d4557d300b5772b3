from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core.db import analyze
from places.importer import ImportFileError, import_sites


class Command(BaseCommand):
    help = (
        "Import sites from a GeoJSON, GeoPackage, zipped Shapefile or CSV file; print the counts and every "
        "rejected row. Exit code 1 when the file cannot be read at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--source",
            help="name of the data source; re-imports of one source update (default: the file name)",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate and count, store nothing")
        parser.add_argument(
            "--make-valid", action="store_true", help="repair invalid geometries with MakeValid"
        )
        parser.add_argument("--kind", help="kind of every site when the file has no kind column")

    def handle(
        self,
        *args,
        file: Path,
        source: str | None,
        dry_run: bool,
        make_valid: bool,
        kind: str | None,
        **options,
    ):
        if not file.is_file():
            raise CommandError(_("no such file: %(path)s") % {"path": file})
        try:
            report = import_sites(
                path=file,
                filename=file.name,
                source=source or file.name,
                dry_run=dry_run,
                make_valid=make_valid,
                default_kind=kind,
            )
        except ImportFileError as exc:
            raise CommandError(f"{file.name}: {exc}") from exc
        if not dry_run and report.created + report.updated:
            analyze("places_site")
        summary = _(
            "%(file)s (%(format)s): %(total)d rows, %(created)d created, %(updated)d updated, "
            "%(unchanged)d unchanged, %(rejected)d rejected"
        ) % {
            "file": file.name,
            "format": report.format,
            "total": report.total,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": report.rejected_rows,
        }
        self.stdout.write(summary)
        if report.dry_run:
            self.stdout.write(_("dry run: nothing was stored"))
        if report.rejected:
            numbering = (
                _("row = line of the file, the header being line 1")
                if report.row_numbering == "line"
                else _("row = feature number, 1 for the first")
            )
            self.stdout.write(_("rejected rows (%(numbering)s):") % {"numbering": numbering})
            for error in report.rejected:
                self.stdout.write(f"  {error.row}\t{error.field}: {error.reason}")
