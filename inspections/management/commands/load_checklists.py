from django.core.management.base import BaseCommand, CommandError

from inspections.checklists import ChecklistFileError, load_checklists


class Command(BaseCommand):
    help = "Load checklist templates from fixtures/checklists.json (idempotent; answered ones frozen)."

    def handle(self, *args, **options):
        try:
            loaded = load_checklists()
        except ChecklistFileError as exc:
            raise CommandError(str(exc)) from exc
        for name, count in loaded.items():
            self.stdout.write(f"{name}: {count} items")
