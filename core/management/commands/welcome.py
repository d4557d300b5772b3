"""Print the addresses of the main pages and the API before the server starts."""

from django.core.management.base import BaseCommand
from django.urls import NoReverseMatch, reverse

PAGES = [
    ("core:home", "Trang chủ / Home"),
    ("maps:index", "Bản đồ rủi ro / Risk maps"),
    ("places:site-list-page", "Địa điểm / Sites"),
    ("inspections:index", "Kiểm tra / Inspections"),
    ("incidents:index", "Sự cố / Incidents"),
    ("planning:index", "Khu vui chơi / Play areas"),
    ("reports:index", "Báo cáo / Reports"),
    ("admin:index", "Quản trị / Admin"),
    ("swagger-ui", "API docs (OpenAPI)"),
    ("schema", "OpenAPI schema"),
    ("api-root", "API v1"),
    ("site-list", "API: địa điểm / sites (GeoJSON)"),
    ("admin-unit-list", "API: đơn vị hành chính / admin units"),
    ("healthz", "Health check"),
]


class Command(BaseCommand):
    help = "Print the URLs of the main pages and the API."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args, host, port, **options):
        base = f"http://{host}:{port}"
        self.stdout.write(self.style.SUCCESS(f"ChildSafe Map is starting on {base}"))
        for name, label in PAGES:
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            self.stdout.write(f"  {label:<32} {base}{url}")
        from inspections.demo import demo_password

        if demo_password():
            self.stdout.write(
                "Demo logins (password: DEMO_PASSWORD, 'childsafe-demo' in development): "
                "demo-coordinator, demo-xd-manager, demo-xd-inspector, demo-commune-leader, demo-planner, "
                "demo-admin"
            )
