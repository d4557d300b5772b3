import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, env: dict | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process (own settings, own environment)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def manage():
    return run_manage


def _ensure_reference_data():
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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the reference data once per test database, committed, outside any test's transaction."""
    with django_db_blocker.unblock():
        _ensure_reference_data()


@pytest.fixture
def lai_chau(db):
    """The real Lai Châu units of both structures (re-loaded if a transactional test flushed them)."""
    from places.models import AdminUnit

    _ensure_reference_data()
    return AdminUnit.objects


@pytest.fixture
def playgrounds(lai_chau):
    """Four public playgrounds in a row in Xã Sìn Hồ (1 km apart), so that features and tiles exist."""
    from django.contrib.gis.geos import Point

    from places.services import site_create

    return [
        site_create(
            kind="playground",
            name=f"Sân chơi {i}",
            geom=Point(103.2411 + i / 100, 22.3606, srid=4326),
            attributes={"access": "public"},
        )
        for i in range(4)
    ]


@pytest.fixture
def user(db, django_user_model):
    """A provincial coordinator: may map and edit sites anywhere."""
    from inspections.models import Profile, Role

    editor = django_user_model.objects.create_user("coordinator1", password="pw-coordinator-1")
    Profile.objects.create(user=editor, role=Role.COORDINATOR)
    return editor


@pytest.fixture
def api(client):
    """A Django test client; tests log in with client.force_login when they need to."""
    return client
