from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from incidents.demo import DEFAULT_SEED, DEMO_SOURCE, incident_demo_generate, incident_demo_purge


class Command(BaseCommand):
    help = (
        "Generate about 250 synthetic child injury incidents on the demo sites (run generate_demo first); "
        "idempotent, deterministic for a given seed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"default {DEFAULT_SEED}")
        parser.add_argument("--purge", action="store_true", help="delete the demo incidents instead")

    def handle(self, *args, seed: int, purge: bool, **options):
        if purge:
            deleted = incident_demo_purge()
            self.stdout.write(
                _("Deleted %(count)d demo incidents (%(source)s)") % {"count": deleted, "source": DEMO_SOURCE}
            )
            return
        try:
            s = incident_demo_generate(seed=seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _("Demo incidents, seed %(seed)d (%(source)s):") % {"seed": s["seed"], "source": DEMO_SOURCE}
        )
        for kind, count in s["by_kind"].items():
            self.stdout.write(f"  {kind:<18} {count:>5}")
        self.stdout.write(
            _(
                "%(total)d incidents (%(without)d with the commune only): %(created)d created, "
                "%(updated)d updated, %(unchanged)d unchanged, %(removed)d removed"
            )
            % {
                "total": s["total"],
                "without": s["without_location"],
                "created": s["created"],
                "updated": s["updated"],
                "unchanged": s["unchanged"],
                "removed": s["removed"],
            }
        )
        self.stdout.write(
            _("suggested hotspots to find: %(clusters)s; not a hotspot: %(near_miss)s")
            % {
                "clusters": "; ".join(", ".join(c) for c in s["suggested_clusters"]),
                "near_miss": ", ".join(s["near_miss"]),
            }
        )
