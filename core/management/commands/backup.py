"""manage.py backup DIR — the database and uploaded files into a new folder under DIR."""

from django.core.management.base import BaseCommand, CommandError

from core.backup import BackupError, backup, read_manifest


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and MEDIA_ROOT into a new folder under DIR, with a manifest."

    def add_arguments(self, parser):
        parser.add_argument("directory")

    def handle(self, *args, **options):
        try:
            folder = backup(options["directory"])
            manifest = read_manifest(folder)
        except (BackupError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(manifest["tables"].values())
        self.stdout.write(
            f"{folder}: {len(manifest['tables'])} tables, {rows} rows, {len(manifest['media'])} media files"
        )
