from django.core.management.base import BaseCommand, CommandError

from core.db import analyze
from places.demo import DEFAULT_SEED, MAX_SCALE, demo_generate, demo_prefix, demo_purge


class Command(BaseCommand):
    help = (
        "Generate the synthetic demo sites (and, at scale 1, statistics) on the Lai Châu geography; "
        "idempotent, deterministic for a given scale and seed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=int,
            default=1,
            help=f"1 = the demo (~1,950 sites); 100 ≈ 200,000; 1000 ≈ 2 million (1–{MAX_SCALE})",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default {DEFAULT_SEED}")
        parser.add_argument("--purge", action="store_true", help="delete the demo rows of this scale instead")

    def handle(self, *args, scale, seed, purge, **options):
        try:
            if purge:
                deleted = demo_purge(scale=scale)
                self.stdout.write(f"Deleted {deleted} demo sites ({demo_prefix(scale)}*)")
                return
            s = demo_generate(scale=scale, seed=seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        analyze("places_site", "places_unitstatistic")
        self.stdout.write(f"Demo data, scale {s.scale}, seed {s.seed} ({demo_prefix(s.scale)}*):")
        for kind, count in s.counts.items():
            self.stdout.write(f"  {kind:<18} {count:>9}")
        self.stdout.write(
            f"  {'total':<18} {s.total:>9}\n"
            f"{s.inserted} inserted, {s.updated} updated, {s.removed} removed; "
            f"{s.statistics} statistics written; {s.seconds:.1f} s"
        )
