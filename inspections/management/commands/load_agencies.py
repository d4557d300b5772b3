from django.core.management.base import BaseCommand

from core.db import analyze
from inspections.reference import load_agencies


class Command(BaseCommand):
    help = "Load the Lai Châu agencies (departments, district and commune committees) and routing rules."

    def handle(self, *args, **options):
        s = load_agencies()
        analyze("places_site")
        self.stdout.write(
            f"{s['departments']} departments, {s['committees']} committees, {s['rules']} routing rules; "
            f"{s['sites_rerouted']} sites re-routed"
        )
