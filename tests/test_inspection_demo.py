"""The demo inspection work: every state the maps and reports need, made by the real services."""

import pytest

from inspections.demo import inspection_demo_generate
from inspections.models import ActionStatus, Assignment, CorrectiveAction, Inspection, Profile, Role
from places.demo import demo_generate


@pytest.fixture
def demo(lai_chau, settings):
    settings.DEBUG = True  # demo users exist only in development or with DEMO_PASSWORD
    demo_generate(scale=1)
    return inspection_demo_generate()


def test_demo_has_every_state(demo):
    assert not demo.skipped
    assert demo.assignments >= 40 and demo.inspections >= 30
    for status in ActionStatus.values:
        assert CorrectiveAction.objects.filter(status=status).exists(), status
    assert demo.actions["overdue"] > 0 and demo.actions["assignments_overdue"] > 0
    assert Inspection.objects.filter(location_flagged=True).exists()
    assert (
        Inspection.objects.filter(result="fail").exists()
        and Inspection.objects.filter(result="pass").exists()
    )
    assert {p.role for p in Profile.objects.all()} == set(Role.values)
    assert (
        Assignment.objects.filter(status="done").exists()
        and Assignment.objects.filter(status="assigned").exists()
    )
    # Everything came through the services: each inspection's agency answers for its site or assigned it.
    assert all(i.findings.endswith("(synthetic demo)") for i in Inspection.objects.all())


def test_demo_runs_twice_without_adding_anything(demo):
    counts = (Assignment.objects.count(), Inspection.objects.count(), CorrectiveAction.objects.count())
    again = inspection_demo_generate()
    assert again.skipped == "already present"
    assert (
        Assignment.objects.count(),
        Inspection.objects.count(),
        CorrectiveAction.objects.count(),
    ) == counts


def test_no_demo_users_in_production_without_a_password(lai_chau, settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    assert "DEMO_PASSWORD" in inspection_demo_generate().skipped
    assert not Profile.objects.exists()
