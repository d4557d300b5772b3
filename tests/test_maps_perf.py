"""maps: the per-site inspection state behind the fast coverage indicator
(maps_site_inspection_state, kept by triggers: maps/migrations/0001_site_inspection_state.py).

Every write path to sites and inspections must leave the state equal to a recomputation from
scratch, and the coverage read from it must equal the coverage computed from the inspections
themselves (maps.indicators.coverage_query_joined) for periods ending today, in the past (sites
inspected after the period) and in the future.
"""

import random
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, connection, transaction

from inspections.models import ChecklistTemplate, Inspection, Profile, Role
from maps.indicators import (
    HAZARD_KINDS,
    _local_start,
    coverage_query_joined,
    indicator_table,
    inspection_rules,
)
from places.models import AdminUnit, Site
from places.services import site_create

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TZ)


def state(site_id):
    with connection.cursor() as cur:
        cur.execute(
            "SELECT commune_id, kind, status, agency_id, last_at, last_pass_at"
            " FROM maps_site_inspection_state WHERE site_id = %s",
            [site_id],
        )
        return cur.fetchone()


def times(site_id):
    row = state(site_id)
    return None if row is None else (row[4], row[5])


def recomputed() -> list[tuple]:
    """The state as the migration's backfill would compute it now."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT s.id, s.commune_id, s.kind, s.status, s.agency_id, max(i.performed_at),
                   max(i.performed_at) FILTER (WHERE i.result = 'pass')
              FROM places_site s LEFT JOIN inspections_inspection i ON i.site_id = s.id
             GROUP BY s.id ORDER BY s.id"""
        )
        return cur.fetchall()


def stored() -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT site_id, commune_id, kind, status, agency_id, last_at, last_pass_at"
            " FROM maps_site_inspection_state ORDER BY site_id"
        )
        return cur.fetchall()


@pytest.fixture
def place(lai_chau, django_user_model):
    commune = AdminUnit.objects.filter(level="commune", valid_from__isnull=False).order_by("code").first()
    other = AdminUnit.objects.filter(level="commune", valid_from__isnull=False).order_by("-code").first()
    user = django_user_model.objects.create_user("perf-coord", password="pw-perf")
    Profile.objects.create(user=user, role=Role.COORDINATOR)

    def site(kind="construction_site", where=commune, name=None):
        attributes = {
            "construction_site": {"permit_number": "GP-1", "contractor": "Công ty XD"},
            "drowning_hotspot": {"water_type": "pond"},
        }.get(kind, {})
        return site_create(
            kind=kind,
            name=name or f"{kind}-{uuid.uuid4().hex[:6]}",
            geom=where.geom.point_on_surface,
            attributes=attributes,
        )

    def inspect(s, when, result="pass", client_uuid=None):
        return Inspection.objects.create(
            client_uuid=client_uuid or uuid.uuid4(),
            content_hash="x",
            site=s,
            template=ChecklistTemplate.objects.get(site_kind=s.kind, is_current=True),
            inspector=user,
            agency=s.agency,
            performed_at=when,
            result=result,
            risk_level="none",
        )

    return {"commune": commune, "other": other, "user": user, "site": site, "inspect": inspect}


@pytest.mark.django_db
def test_site_writes_are_copied(place):
    s = place["site"]()
    assert state(s.pk) == (s.commune_id, "construction_site", "active", s.agency_id, None, None)
    Site.objects.filter(pk=s.pk).update(status="closed")
    assert state(s.pk)[2] == "closed"
    s.refresh_from_db()
    s.geom = place["other"].geom.point_on_surface
    s.commune = place["other"]
    s.save()
    assert state(s.pk)[0] == place["other"].pk
    pk = s.pk
    s.delete()
    assert state(pk) is None
    assert stored() == recomputed()


@pytest.mark.django_db
def test_inspections_raise_the_latest_times_and_failures_do_not_count_as_passing(place):
    s, inspect = place["site"](), place["inspect"]
    t1, t2, t0 = at(date(2026, 3, 1)), at(date(2026, 4, 1)), at(date(2026, 1, 1))
    inspect(s, t1)
    assert times(s.pk) == (t1, t1)
    inspect(s, t2, result="fail")
    assert times(s.pk) == (t2, t1)
    inspect(s, t0)  # an older inspection arriving late changes nothing
    assert times(s.pk) == (t2, t1)
    assert stored() == recomputed()


@pytest.mark.django_db
def test_a_replayed_inspection_changes_nothing(place):
    s, inspect = place["site"](), place["inspect"]
    key = uuid.uuid4()
    t1 = at(date(2026, 3, 1))
    inspect(s, t1, client_uuid=key)
    # The same client UUID sent again (later time in the resend): refused by UNIQUE(client_uuid),
    # its savepoint rolled back with the trigger's work.
    with pytest.raises(IntegrityError), transaction.atomic():
        inspect(s, at(date(2026, 5, 1)), client_uuid=key)
    assert times(s.pk) == (t1, t1)
    assert Inspection.objects.filter(site=s).count() == 1


@pytest.mark.django_db
def test_updates_and_deletions_recompute(place):
    s, other, inspect = place["site"](), place["site"](), place["inspect"]
    t1, t2, t3 = at(date(2026, 1, 1)), at(date(2026, 2, 1)), at(date(2026, 3, 1))
    inspect(s, t1)
    middle = inspect(s, t2, result="fail")
    latest = inspect(s, t3)
    assert times(s.pk) == (t3, t3)
    latest.delete()
    assert times(s.pk) == (t2, t1)
    Inspection.objects.filter(pk=middle.pk).update(result="pass")
    assert times(s.pk) == (t2, t2)
    Inspection.objects.filter(pk=middle.pk).update(performed_at=t3)
    assert times(s.pk) == (t3, t3)
    Inspection.objects.filter(pk=middle.pk).update(site=other)  # moved to another site
    assert times(s.pk) == (t1, t1) and times(other.pk) == (t3, t3)
    Inspection.objects.filter(site=s).delete()
    assert times(s.pk) == (None, None)
    assert stored() == recomputed()


@pytest.mark.django_db
def test_bulk_and_raw_writes(place):
    s1, s2, inspect = place["site"](), place["site"]("drowning_hotspot"), place["inspect"]
    first = inspect(s1, at(date(2025, 1, 1)))
    rows = [
        Inspection(
            client_uuid=uuid.uuid4(),
            content_hash="x",
            site=site,
            template=first.template
            if site == s1
            else ChecklistTemplate.objects.get(site_kind=site.kind, is_current=True),
            inspector=place["user"],
            agency=site.agency,
            performed_at=at(date(2026, 1, day)),
            result="pass" if day % 2 else "fail",
            risk_level="none",
        )
        for site in (s1, s2)
        for day in range(1, 11)
    ]
    Inspection.objects.bulk_create(rows)  # one INSERT of 20 rows on two sites
    assert times(s1.pk) == (at(date(2026, 1, 10)), at(date(2026, 1, 9)))
    assert times(s2.pk) == (at(date(2026, 1, 10)), at(date(2026, 1, 9)))
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE inspections_inspection SET performed_at = performed_at - interval '1 year'"
            " WHERE site_id = %s",
            [s2.pk],
        )
    assert times(s2.pk) == (at(date(2025, 1, 10)), at(date(2025, 1, 9)))
    assert stored() == recomputed()


@pytest.mark.django_db
def test_the_backfill_gives_what_the_triggers_keep(place):
    from importlib import import_module

    backfill = import_module("maps.migrations.0001_site_inspection_state").BACKFILL
    s, inspect = place["site"](), place["inspect"]
    inspect(s, at(date(2026, 1, 1)))
    inspect(s, at(date(2026, 2, 1)), result="fail")
    kept = stored()
    assert len(kept) == Site.objects.count() > 0
    with connection.cursor() as cur:
        cur.execute("DELETE FROM maps_site_inspection_state")
        cur.execute(backfill)
    assert stored() == kept == recomputed()


def _coverage_from_inspections(day: date) -> dict[int, tuple[int, int, int]]:
    """Per today's commune: the coverage computed from the inspections themselves."""
    rules = inspection_rules()
    windows = {k: _local_start(rule.window_start(day)) for k, rule in rules.items() if k in HAZARD_KINDS}
    sites_sql = (
        "SELECT id, commune_id, geom, kind FROM places_site WHERE status = 'active' AND kind = ANY(%s)"
    )
    sql, params = coverage_query_joined(
        sites_sql, [list(HAZARD_KINDS)], "k.commune_id", windows, _local_start(day + timedelta(days=1))
    )
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return {u: (n, i, p) for u, n, i, p in cur.fetchall()}


@pytest.mark.django_db
def test_coverage_from_the_state_equals_coverage_from_the_inspections(place, django_user_model):
    """Random inspections over two years on sites of every hazard kind in two communes; the
    coverage for periods ending before, inside and after them must match exactly, read by the
    public and the coordinator (the state table alone) and by an area leader (his sites joined to
    the state)."""
    rng = random.Random(7)
    sites = [
        place["site"](kind, where=where)
        for where in (place["commune"], place["other"])
        for kind in ("construction_site", "drowning_hotspot", "construction_site", "drowning_hotspot")
        for _n in range(3)
    ]
    start = date(2025, 1, 1)
    for s in sites:
        for _n in range(rng.randint(0, 5)):
            day = start + timedelta(days=rng.randint(0, 730))
            place["inspect"](s, at(day, rng.randint(0, 23)), result=rng.choice(["pass", "pass", "fail"]))
    Site.objects.filter(pk=sites[0].pk).update(status="closed")
    leader = django_user_model.objects.create_user("perf-leader", password="pw-leader")
    Profile.objects.create(user=leader, role=Role.AREA_LEADER, area=place["commune"])
    parts = ("sites", "inspected", "passing")
    checked = 0
    for day in (date(2025, 2, 1), date(2025, 8, 15), date(2026, 3, 1), date(2026, 7, 15), date(2027, 6, 1)):
        expected = _coverage_from_inspections(day)
        for reader in (None, place["user"]):
            rows = indicator_table("coverage", level="commune", date_to=day, user=reader)
            got = {r.unit_id: tuple(r.parts[p] for p in parts) for r in rows if r.parts}
            assert got == {u: v for u, v in expected.items() if v[0]}, (day, reader)
            checked += sum(v[1] for v in got.values())
        # An area leader: his sites joined to the state (the scoped path), his commune only.
        rows = indicator_table("coverage", level="commune", date_to=day, user=leader)
        got = {r.unit_id: tuple(r.parts[p] for p in parts) for r in rows if r.parts}
        assert got == {place["commune"].pk: expected[place["commune"].pk]}, (day, "leader")
    assert checked > 0  # some sites were inspected inside some windows: the test can fail
