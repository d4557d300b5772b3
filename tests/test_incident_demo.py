"""The synthetic demo incidents: about 250, all synthetic, shaped like the statistics (drowning in
summer, near water; traffic near schools), deterministic, idempotent, none in the future, and
with suggested hotspots placed away from every registered one."""

from collections import Counter
from datetime import date
from io import StringIO
from itertools import combinations

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import translation

from incidents.demo import (
    CIRCUMSTANCES,
    DEMO_SOURCE,
    NEAR_MISS,
    SUGGESTED_CLUSTERS,
    TOTAL,
    incident_demo_generate,
    incident_demo_purge,
)
from incidents.models import Incident
from incidents.privacy import circumstances_problems
from places.demo import demo_generate
from places.reference import load_lai_chau
from places.selectors import today

FINGERPRINT = """
SELECT count(*),
       md5(string_agg(concat_ws('|', reference, kind, date, time, age_band, sex, outcome, circumstances,
                                commune_id, current_commune_id, linked_site_id, md5(ST_AsEWKB(location))),
                      ',' ORDER BY reference))
  FROM incidents_incident WHERE source = %s
"""
# ctid changes with every UPDATE, even inside one transaction: it tells whether rows were rewritten.
ROW_VERSIONS = (
    "SELECT string_agg(ctid::text, ',' ORDER BY reference) FROM incidents_incident WHERE source = %s"
)


def _one(sql, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo sites and incidents, once for the module, rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_lai_chau()
        demo_generate()
        summary = incident_demo_generate()
        yield {"summary": summary, "fingerprint": _one(FINGERPRINT, [DEMO_SOURCE])}
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def incidents():
    return Incident.objects.filter(source=DEMO_SOURCE)


def test_counts_and_kinds(demo):
    summary = demo["summary"]
    assert summary["total"] == TOTAL == 250 == incidents().count()
    assert summary["created"] == 250 and summary["skipped"] == 0
    by_kind = Counter(incidents().values_list("kind", flat=True))
    assert by_kind == summary["by_kind"]
    assert by_kind["drowning"] >= 120 and by_kind["traffic"] >= 60
    assert {"construction_site", "fall", "burn", "animal", "other"} <= set(by_kind)
    references = sorted(incidents().values_list("reference", flat=True))
    assert references == [f"demo-{n:04d}" for n in range(1, 251)]


def test_all_synthetic_and_none_in_the_future(demo):
    assert not incidents().filter(synthetic=False).exists()
    dates = list(incidents().values_list("date", flat=True))
    assert max(dates) < today()
    assert min(dates) >= date(2021, 1, 1)
    reform = date(2025, 7, 1)
    assert sum(d < reform for d in dates) >= 100 and sum(d >= reform for d in dates) >= 20


def test_some_have_only_the_commune_and_it_is_the_one_in_force_then(demo):
    commune_only = incidents().filter(location__isnull=True).select_related("commune", "current_commune")
    assert 30 <= commune_only.count() == demo["summary"]["without_location"]
    for incident in commune_only:
        valid_from, valid_to = incident.commune.valid_from, incident.commune.valid_to
        assert (valid_from is None or valid_from <= incident.date) and (
            valid_to is None or incident.date <= valid_to
        )
        assert incident.current_commune.valid_to is None


def test_drowning_is_concentrated_in_summer_near_hotspots(demo):
    drowning = incidents().filter(kind="drowning")
    months = [d.month for d in drowning.values_list("date", flat=True)]
    assert sum(5 <= m <= 8 for m in months) / len(months) >= 0.65
    located = drowning.filter(location__isnull=False).exclude(
        reference__in=[r for c in SUGGESTED_CLUSTERS for r in c] + NEAR_MISS
    )
    linked = located.filter(linked_site__kind="drowning_hotspot").count()
    assert linked / located.count() >= 0.95
    # Boys of 10–14 are the largest group and die most often.
    groups = Counter(drowning.values_list("age_band", "sex"))
    assert groups.most_common(1)[0][0] == ("10-14", "male")
    boys = drowning.filter(age_band="10-14", sex="male")
    others = drowning.exclude(age_band="10-14", sex="male")
    assert boys.filter(outcome="fatal").count() / boys.count() > others.filter(outcome="fatal").count() / (
        others.count()
    )


def test_traffic_is_on_school_routes_at_school_times(demo):
    traffic = incidents().filter(kind="traffic", location__isnull=False)
    assert traffic.filter(linked_site__kind="school_route").count() / traffic.count() >= 0.95
    for day, moment in traffic.values_list("date", "time"):
        assert day.weekday() != 6 and day.month not in (6, 7, 8)
        assert moment is not None and (6 <= moment.hour <= 7 or 16 <= moment.hour <= 17)


def test_circumstances_identify_nobody(demo):
    phrases = {p for ps in CIRCUMSTANCES.values() for p in ps}
    for phrase in phrases:
        assert circumstances_problems(phrase) == [], phrase
        assert not any(ch.isdigit() for ch in phrase)
    assert set(incidents().exclude(circumstances="").values_list("circumstances", flat=True)) <= phrases


def test_suggested_clusters_are_close_in_space_and_time_and_away_from_hotspots(demo):
    def pairs(references):
        rows = {i.reference: i for i in incidents().filter(reference__in=references)}
        assert len(rows) == len(references)
        return [(rows[a], rows[b]) for a, b in combinations(references, 2)]

    def metres(a, b):
        return _one(
            "SELECT ST_Distance(ST_GeomFromEWKB(%s)::geography, ST_GeomFromEWKB(%s)::geography)",
            [bytes(a.location.ewkb), bytes(b.location.ewkb)],
        )[0]

    assert [len(c) for c in SUGGESTED_CLUSTERS] == [2, 2, 3, 3]
    for cluster in SUGGESTED_CLUSTERS:
        for a, b in pairs(cluster):
            assert a.kind == b.kind == "drowning"
            assert metres(a, b) < 500
            assert abs((a.date - b.date).days) < 3 * 365
    ((a, b),) = pairs(NEAR_MISS)
    assert metres(a, b) < 500 and abs((a.date - b.date).days) > 3 * 366
    references = [r for c in SUGGESTED_CLUSTERS for r in c] + NEAR_MISS
    nearest = _one(
        """SELECT min(ST_Distance(i.location::geography, s.geom::geography))
             FROM incidents_incident i, places_site s
            WHERE i.source = %s AND i.reference = ANY(%s) AND s.kind = 'drowning_hotspot'""",
        [DEMO_SOURCE, references],
    )[0]
    assert nearest > 1000
    assert not incidents().filter(reference__in=references, linked_site__isnull=False).exists()
    # The clusters lie in different communes, far from each other.
    communes = {incidents().get(reference=c[0]).current_commune_id for c in SUGGESTED_CLUSTERS}
    assert len(communes) == len(SUGGESTED_CLUSTERS)


def test_rerun_is_idempotent_and_writes_nothing(demo):
    before = _one(ROW_VERSIONS, [DEMO_SOURCE])
    history = Incident.history.count()
    again = incident_demo_generate()
    assert (again["created"], again["updated"], again["removed"], again["unchanged"]) == (0, 0, 0, 250)
    assert _one(ROW_VERSIONS, [DEMO_SOURCE]) == before
    assert Incident.history.count() == history
    assert _one(FINGERPRINT, [DEMO_SOURCE]) == demo["fingerprint"]


def test_deterministic_per_seed(demo):
    with transaction.atomic():
        other = incident_demo_generate(seed=7)
        assert other["total"] == 250 and other["created"] == 0 and other["updated"] > 200
        assert _one(FINGERPRINT, [DEMO_SOURCE]) != demo["fingerprint"]
        back = incident_demo_generate(seed=23)
        assert back["updated"] == other["updated"] or back["updated"] > 200
        assert _one(FINGERPRINT, [DEMO_SOURCE]) == demo["fingerprint"]
        transaction.set_rollback(True)


def test_other_records_are_left_alone(demo):
    with transaction.atomic():
        real = incidents().first()
        Incident.objects.filter(pk=real.pk).update(source="Phòng LĐTBXH", synthetic=False)
        again = incident_demo_generate()
        assert again["created"] == 1
        assert Incident.objects.filter(source="Phòng LĐTBXH").count() == 1
        assert incident_demo_purge() == 250
        assert Incident.objects.count() == 1
        transaction.set_rollback(True)


def test_command(demo):
    out = StringIO()
    with translation.override("en"):
        call_command("generate_incident_demo", stdout=out)
    text = out.getvalue()
    assert "250 incidents" in text and "250 unchanged" in text
    assert "demo-0239, demo-0240" in text
