from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from places.importer import ImportFileError
from planning.models import PathKind
from planning.paths import DEFAULT_SNAP_M, import_paths


class Command(BaseCommand):
    help = (
        "Load a road/path network (GeoJSON, GeoPackage, zipped Shapefile or CSV with wkt; lines) and rebuild "
        "the routable topology. From then on play-area access is measured along the network. Print the "
        "counts and every rejected row; exit code 1 when the file cannot be read at all."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--source",
            help="name of the data source; re-imports of one source replace it (default: file name)",
        )
        parser.add_argument(
            "--kind", choices=PathKind.values, help="kind of every line when the file has no kind column"
        )
        parser.add_argument(
            "--snap-m",
            type=float,
            default=DEFAULT_SNAP_M,
            help=f"join line ends this close (m) to another line or end (default {DEFAULT_SNAP_M})",
        )

    def handle(self, *args, file: Path, source: str | None, kind: str | None, snap_m: float, **options):
        if not file.is_file():
            raise CommandError(_("no such file: %(path)s") % {"path": file})
        try:
            report = import_paths(
                path=file, filename=file.name, source=source or file.name, default_kind=kind, snap_m=snap_m
            )
        except ImportFileError as exc:
            raise CommandError(f"{file.name}: {exc}") from exc
        self.stdout.write(
            _(
                "%(file)s (%(format)s): %(total)d rows, %(created)d lines created, %(updated)d updated, "
                "%(unchanged)d unchanged, %(deleted)d deleted, %(rejected)d rows rejected"
            )
            % {
                "file": file.name,
                "format": report.format,
                "total": report.total,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "deleted": report.deleted,
                "rejected": report.rejected_rows,
            }
        )
        self.stdout.write(
            _("network: %(vertices)d vertices, %(segments)d segments (snap tolerance %(snap)s m)")
            % {"vertices": report.vertices, "segments": report.segments, "snap": snap_m}
        )
        if report.rejected:
            numbering = (
                _("row = line of the file, the header being line 1")
                if report.row_numbering == "line"
                else _("row = feature number, 1 for the first")
            )
            self.stdout.write(_("rejected rows (%(numbering)s):") % {"numbering": numbering})
            for error in report.rejected:
                self.stdout.write(f"  {error.row}\t{error.field}: {error.reason}")
