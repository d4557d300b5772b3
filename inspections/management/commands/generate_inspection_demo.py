from django.core.management.base import BaseCommand

from inspections.demo import inspection_demo_generate


class Command(BaseCommand):
    help = "Demo users of every role, assignments, inspections and corrective actions on the demo sites."

    def handle(self, *args, **options):
        s = inspection_demo_generate()
        if s.skipped:
            self.stdout.write(f"inspection demo: {s.skipped}")
            return
        self.stdout.write(
            f"inspection demo: {s.assignments} assignments, {s.inspections} inspections; "
            f"corrective actions {s.actions}"
        )
        self.stdout.write(
            "demo users (password: $DEMO_PASSWORD, 'childsafe-demo' in development): " + ", ".join(s.users)
        )
