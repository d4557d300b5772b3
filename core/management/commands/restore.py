"""manage.py restore FOLDER — put a backup back into the configured database and MEDIA_ROOT."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, database_is_empty, describe, read_manifest, restore


class Command(BaseCommand):
    help = (
        "Restore a folder written by `manage.py backup` into the configured database and MEDIA_ROOT, "
        "then check row counts and media checksums against its manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="allow replacing a database that already holds data (its tables are dropped first)",
        )

    def handle(self, *args, **options):
        try:
            read_manifest(options["folder"])  # refuse a damaged backup before touching anything
            if not options["replace"] and not database_is_empty():
                raise CommandError(
                    f"database {settings.DATABASES['default']['NAME']} already holds data; "
                    "pass --replace to overwrite it"
                )
            result = restore(options["folder"])
        except (BackupError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored and checked: {describe(result)}")
