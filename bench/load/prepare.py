"""Prepare a private database for a load run (one Django process, every step in it).

Run with DB_NAME=<private database> (and DJANGO_DEBUG=1). Steps:
  --full       ensure_database, migrate, load_lai_chau, load_agencies, load_checklists,
               generate_demo, generate_inspection_demo (the demo province, as in production use)
  --migrate    ensure_database, migrate and the reference data only
  --reference  only ensure the reference data (units, agencies, checklists) are there
Then it always adds the load run's own people and places: N inspectors of Sở Xây dựng
("load-inspector-NN", one password) and M construction sites around the city centre, and prints
JSON for the load client: users, sites (id, lon, lat) and the checklist item codes.
"""

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CITY = (103.4571, 22.3964)  # Phường Đoàn Kết: construction sites here are routed to Sở Xây dựng
AGENCY = "so-xay-dung"
KIND = "construction_site"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--reference", action="store_true")
    parser.add_argument("--migrate", action="store_true", help="ensure_database and migrate first")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--password", required=True)
    parser.add_argument(
        "--sessions", action="store_true", help="also open a logged-in session per user (as force_login)"
    )
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "childsafe.settings")
    import django

    django.setup()
    from django.core.management import call_command

    if args.full or args.migrate:
        call_command("ensure_database")
        call_command("migrate", interactive=False, verbosity=0)
    if args.full:
        for step in ("load_lai_chau", "load_agencies", "load_checklists", "generate_demo"):
            call_command(step, verbosity=0)
        call_command("generate_inspection_demo", verbosity=0)
    if args.reference or args.migrate or args.full:
        _ensure_reference_data()
    world = _people_and_places(args.users, args.sites, args.password)
    if args.sessions:
        world["sessions"] = _sessions(world["users"])
    print(json.dumps(world))


def _ensure_reference_data() -> None:
    from inspections.checklists import load_checklists
    from inspections.models import ChecklistTemplate, RoutingRule
    from inspections.reference import load_agencies
    from places.models import AdminUnit
    from places.reference import load_lai_chau

    if AdminUnit.objects.count() != 153:
        load_lai_chau()
    if not RoutingRule.objects.exists():
        load_agencies()
    if ChecklistTemplate.objects.count() < 4:
        load_checklists()


def _people_and_places(n_users: int, n_sites: int, password: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.gis.geos import Point
    from django.db import transaction

    from inspections.models import Agency, ChecklistTemplate, Profile, Role
    from places.models import Site
    from places.services import site_create

    agency = Agency.objects.get(code=AGENCY)
    User = get_user_model()
    hashed = make_password(password)  # one hash for all: 50 PBKDF2 runs would cost half a minute
    with transaction.atomic():
        users = []
        for i in range(1, n_users + 1):
            user, _ = User.objects.update_or_create(
                username=f"load-inspector-{i:02d}",
                defaults={"password": hashed, "first_name": f"Load inspector {i}", "is_active": True},
            )
            Profile.objects.update_or_create(
                user=user, defaults={"role": Role.INSPECTOR, "agency": agency, "area": None}
            )
            users.append(user.username)
        sites = list(Site.objects.filter(source="load test", agency=agency).order_by("id")[:n_sites])
        for i in range(len(sites), n_sites):
            # A grid of points about 100 m apart around the city centre.
            lon, lat = CITY[0] + (i % 8) * 0.001 - 0.004, CITY[1] + (i // 8) * 0.001 - 0.002
            sites.append(
                site_create(
                    kind=KIND,
                    name=f"Công trình thử tải {i + 1}",
                    geom=Point(lon, lat, srid=4326),
                    attributes={"permit_number": f"GP-LOAD-{i + 1}", "contractor": "Công ty thử tải"},
                    source="load test",
                )
            )
    wrong = [s.pk for s in sites if s.agency_id != agency.id]
    if wrong:
        raise SystemExit(f"load sites not routed to {AGENCY}: {wrong}")
    template = ChecklistTemplate.objects.get(site_kind=KIND, is_current=True)
    return {
        "users": users,
        "sites": [
            {"id": s.pk, "lon": s.geom.point_on_surface.x, "lat": s.geom.point_on_surface.y} for s in sites
        ],
        "items": [item.code for item in template.items.all()],
    }


def _sessions(usernames: list[str]) -> dict[str, str]:
    """A logged-in session per user, made as Django's test client's force_login makes them:
    the log-in form would cost a full password hash per user, seconds each on a busy machine."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model

    store = import_module(settings.SESSION_ENGINE).SessionStore
    out = {}
    for user in get_user_model().objects.filter(username__in=usernames):
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        out[user.username] = session.session_key
    return out


if __name__ == "__main__":
    main()
