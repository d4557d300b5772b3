from django.core.management.base import BaseCommand

from places.reference import load_lai_chau


class Command(BaseCommand):
    help = (
        "Load the Lai Châu units of both structures, the 2025 crosswalk "
        "and the real 2026–2030 flags (idempotent)."
    )

    def handle(self, *args, **options):
        s = load_lai_chau()
        self.stdout.write(
            f"Lai Châu: 1 province, {s.districts} districts + {s.communes_old} communes until 30/06/2025, "
            f"{s.communes_new} communes from 01/07/2025, {s.crosswalk} crosswalk links"
        )
        for name, code in s.absorbed.items():
            self.stdout.write(f"  {name} (no GSO code) absorbed into commune {code}")
