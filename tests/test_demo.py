"""The synthetic demo data: plausible counts, valid sites on the current communes,
idempotent and deterministic, statistics that add up along the 2025 crosswalk."""

from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.db.models import Count

from places.demo import DEFAULT_SEED, DEMO_SOURCE, demo_generate, demo_prefix, demo_purge
from places.kinds import KINDS, POSTGIS_TYPE_NAMES
from places.models import AdminUnit, CrosswalkLink, Site, StatIndicator, UnitStatistic
from places.reference import DBKK_SOURCE, NEW_VALID_FROM, OLD_VALID_TO, load_lai_chau
from places.validation import clean_attributes

# The ctid changes with every UPDATE, even inside one transaction (where now() does not).
FINGERPRINT_ROWS = """
SELECT count(*),
       md5(string_agg(concat_ws('|', ctid, id, external_id, kind, name, attributes::text, commune_id, status,
                                md5(ST_AsEWKB(geom))), ',' ORDER BY external_id))
  FROM places_site WHERE source = %s
"""
FINGERPRINT_GEOMETRY = """
SELECT md5(string_agg(external_id || md5(ST_AsEWKB(geom)), ',' ORDER BY external_id))
  FROM places_site WHERE source = %s AND starts_with(external_id, %s)
"""


def _one(sql, params=()):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def _village_points() -> dict[str, str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT external_id, md5(ST_AsEWKB(geom)) FROM places_site"
            " WHERE kind = 'village' AND source = %s",
            [DEMO_SOURCE],
        )
        return dict(cur.fetchall())


def _real_flags():
    return sorted(UnitStatistic.objects.filter(source=DBKK_SOURCE).values_list("unit_id", "year", "value"))


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Reference data and the default demo, once for the module, rolled back at its end."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_lai_chau()
        real_flags = _real_flags()
        summary = demo_generate()
        yield {"summary": summary, "real_flags": real_flags}
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def test_counts_per_kind_are_plausible(demo):
    counts = demo["summary"].counts
    expected = {
        "village": (850, 1100),
        "drowning_hotspot": (200, 500),
        "school": (200, 320),
        "school_route": (150, 600),
        "playground": (20, 50),
        "construction_site": (45, 80),
    }
    for kind, (low, high) in expected.items():
        assert low <= counts[kind] <= high, (kind, counts[kind])
    stored = dict(Site.objects.filter(source=DEMO_SOURCE).values_list("kind").annotate(n=Count("id")))
    assert stored == counts
    # Most playgrounds and construction sites are in Thành phố Lai Châu (old district 105).
    city = AdminUnit.objects.get(code="105", level="district")
    for kind in ("playground", "construction_site"):
        in_city = Site.objects.filter(kind=kind, source=DEMO_SOURCE, geom__intersects=city.geom).count()
        assert in_city > counts[kind] / 2, kind


def test_every_site_is_synthetic_active_and_in_a_current_commune(demo):
    sites = Site.objects.filter(source=DEMO_SOURCE)
    assert sites.count() == demo["summary"].total
    assert not sites.exclude(external_id__startswith=demo_prefix(1)).exists()
    assert not sites.exclude(status="active").exists()
    assert not sites.exclude(
        commune__level="commune", commune__valid_from=NEW_VALID_FROM, commune__valid_to__isnull=True
    ).exists()
    assert sites.values("commune").distinct().count() == 38


def test_geometry_types_are_those_of_the_kind_and_valid(demo):
    with connection.cursor() as cur:
        cur.execute(
            "SELECT kind, GeometryType(geom), count(*), bool_and(ST_IsValid(geom)) FROM places_site"
            " WHERE source = %s GROUP BY 1, 2",
            [DEMO_SOURCE],
        )
        rows = cur.fetchall()
    types = defaultdict(set)
    for kind, geometry_type, _count, valid in rows:
        assert valid, kind
        types[kind].add(geometry_type)
        assert geometry_type in {POSTGIS_TYPE_NAMES[t] for t in KINDS[kind].geometry_types}, (
            kind,
            geometry_type,
        )
    assert types["village"] == types["school"] == {"POINT"}
    assert types["school_route"] == {"LINESTRING"}
    assert (
        types["drowning_hotspot"] == types["construction_site"] == types["playground"] == {"POINT", "POLYGON"}
    )


def test_routes_run_hundreds_to_thousands_of_metres_to_a_school_of_their_commune(demo):
    lengths = list(
        Site.objects.filter(kind="school_route", source=DEMO_SOURCE).values_list("length_m", flat=True)
    )
    assert lengths and min(lengths) > 300 and max(lengths) < 40_000
    assert 1_000 < sum(lengths) / len(lengths) < 10_000
    mismatched = _one(
        """SELECT count(*) FROM places_site r
            WHERE r.kind = 'school_route' AND r.source = %s AND NOT EXISTS (
                  SELECT 1 FROM places_site s
                   WHERE s.kind = 'school' AND s.source = r.source AND s.name = r.attributes ->> 'school'
                     AND ST_Equals(s.geom, ST_EndPoint(r.geom)))""",
        [DEMO_SOURCE],
    )[0]
    assert mismatched == 0
    # A bent line of three points, its middle off the straight line.
    bent = _one(
        "SELECT bool_and(ST_NPoints(geom) = 3 AND length_m > ST_Distance(ST_StartPoint(geom)::geography,"
        " ST_EndPoint(geom)::geography)) FROM places_site WHERE kind = 'school_route' AND source = %s",
        [DEMO_SOURCE],
    )[0]
    assert bent


def test_attributes_pass_the_kind_validation(demo):
    for site in Site.objects.filter(source=DEMO_SOURCE).only("kind", "attributes"):
        assert clean_attributes(site.kind, site.attributes) == site.attributes, site.external_id


def test_names_are_vietnamese_and_external_ids_unique(demo):
    sites = Site.objects.filter(source=DEMO_SOURCE)
    assert sites.values("external_id").distinct().count() == sites.count()
    assert sites.filter(kind="village", name__startswith="Bản ").count() > 500
    assert sites.filter(kind="school", name__startswith="Trường ").count() == demo["summary"].counts["school"]
    assert sites.filter(kind="drowning_hotspot", name__startswith="Ao gần ").exists()
    assert (
        sites.filter(kind="drowning_hotspot", attributes__water_type__in=["river", "reservoir"]).count() >= 30
    )


def test_a_second_run_changes_nothing(demo):
    before = _one(FINGERPRINT_ROWS, [DEMO_SOURCE])
    stats_before = sorted(
        UnitStatistic.objects.values_list("id", "unit_id", "year", "indicator", "value", "source")
    )
    again = demo_generate()
    assert (again.inserted, again.updated, again.removed, again.statistics) == (0, 0, 0, 0)
    assert again.counts == demo["summary"].counts
    assert _one(FINGERPRINT_ROWS, [DEMO_SOURCE]) == before
    assert sorted(
        UnitStatistic.objects.values_list("id", "unit_id", "year", "indicator", "value", "source")
    ) == (stats_before)


def test_same_seed_gives_the_same_coordinates_another_seed_moves_them(demo):
    prefix = demo_prefix(1)
    first = _one(FINGERPRINT_GEOMETRY, [DEMO_SOURCE, prefix])[0]
    assert demo_purge(scale=1) == demo["summary"].total
    assert not Site.objects.filter(source=DEMO_SOURCE).exists()
    assert demo_generate(seed=DEFAULT_SEED).inserted == demo["summary"].total
    assert _one(FINGERPRINT_GEOMETRY, [DEMO_SOURCE, prefix])[0] == first

    before = _village_points()
    moved = demo_generate(seed=DEFAULT_SEED + 1)
    assert moved.updated > 0
    assert _one(FINGERPRINT_GEOMETRY, [DEMO_SOURCE, prefix])[0] != first
    # Another seed moves every village; it does not renumber them (a few in sliver areas may come or go).
    after = _village_points()
    assert len(set(after) ^ set(before)) < 20
    assert not set(after.items()) & set(before.items())


def test_other_scales_have_their_own_rows_and_purge(demo):
    two = demo_generate(scale=2)
    assert two.statistics == 0
    for kind, count in demo["summary"].counts.items():
        assert 1.5 * count <= two.counts[kind] <= 2.6 * count, kind
    assert Site.objects.filter(external_id__startswith=demo_prefix(2)).count() == two.total
    assert demo_purge(scale=2) == two.total
    assert Site.objects.filter(source=DEMO_SOURCE).count() == demo["summary"].total


def test_statistics_of_a_new_commune_sum_its_old_communes(demo):
    values = {
        (s.unit_id, s.year, s.indicator): s.value for s in UnitStatistic.objects.filter(source=DEMO_SOURCE)
    }
    old_ids = set(
        AdminUnit.objects.filter(level="commune", valid_to=OLD_VALID_TO).values_list("id", flat=True)
    )
    parts = defaultdict(list)
    for link in CrosswalkLink.objects.all():
        parts[link.new_unit_id].append(link.old_unit_id)
    assert len(parts) == 38
    for old in old_ids:
        for year in range(2020, 2025):
            for indicator in StatIndicator.values:
                assert (old, year, indicator) in values, (old, year, indicator)
        assert values[(old, 2024, "children_0_15")] < values[(old, 2024, "population")]
        assert 0 <= values[(old, 2024, "poverty_rate")] <= values[(old, 2020, "poverty_rate")] <= 100
    for new, olds in parts.items():
        for year in (2025, 2026):
            for indicator in ("population", "children_0_15"):
                assert values[(new, year, indicator)] == sum(values[(o, 2024, indicator)] for o in olds)
            for indicator in ("poverty_rate", "ethnic_minority_share"):
                assert (new, year, indicator) in values
            weighted = sum(
                values[(o, 2024, "population")] * values[(o, 2024, "ethnic_minority_share")] for o in olds
            )
            assert values[(new, year, "ethnic_minority_share")] == pytest.approx(
                weighted / values[(new, year, "population")], abs=0.11
            )
        assert (new, 2025, "extremely_difficult") not in values  # synthetic flags only on old communes


def test_children_are_the_sum_of_the_village_child_counts_on_both_structures(demo):
    with connection.cursor() as cur:
        cur.execute(
            """SELECT places_unit_at(geom, %s, 'commune'), sum((attributes ->> 'child_count')::int)
                 FROM places_site WHERE kind = 'village' AND source = %s GROUP BY 1""",
            [OLD_VALID_TO, DEMO_SOURCE],
        )
        by_old = dict(cur.fetchall())
        cur.execute(
            """SELECT commune_id, sum((attributes ->> 'child_count')::int) FROM places_site
                WHERE kind = 'village' AND source = %s GROUP BY 1""",
            [DEMO_SOURCE],
        )
        by_new = dict(cur.fetchall())
    children = UnitStatistic.objects.filter(source=DEMO_SOURCE, indicator="children_0_15")
    assert by_old == dict(children.filter(year=2024).values_list("unit_id", "value"))
    assert by_new == dict(children.filter(year=2025).values_list("unit_id", "value"))


def test_real_flags_are_untouched_and_synthetic_ones_are_marked(demo):
    assert len(demo["real_flags"]) == 190
    assert _real_flags() == demo["real_flags"]
    synthetic = UnitStatistic.objects.filter(indicator="extremely_difficult", source=DEMO_SOURCE)
    assert synthetic.exists()
    assert not synthetic.exclude(unit__valid_to=OLD_VALID_TO).exists()


def test_command_prints_counts_and_purges(demo):
    out = StringIO()
    call_command("generate_demo", stdout=out)
    text = out.getvalue()
    assert "village" in text and "school_route" in text and "total" in text
    assert f"{demo['summary'].total}" in text and "0 inserted, 0 updated, 0 removed" in text
    out = StringIO()
    call_command("generate_demo", "--purge", stdout=out)
    assert str(demo["summary"].total) in out.getvalue()
    assert not Site.objects.filter(source=DEMO_SOURCE).exists()
    with pytest.raises(CommandError):
        call_command("generate_demo", "--scale", "0", stdout=StringIO())


def test_without_reference_data_it_says_what_to_do(demo):
    AdminUnit.objects.filter(level="commune", valid_to=OLD_VALID_TO).delete()
    with pytest.raises(ValueError, match="load_lai_chau"):
        demo_generate()
