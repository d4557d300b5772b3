"""maps: indicators on constructed data with known answers, classification, API, pages, export."""

import json
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from incidents.models import Incident
from inspections.models import (
    ActionStatus,
    Assignment,
    ChecklistTemplate,
    CorrectiveAction,
    Inspection,
    Profile,
    Role,
)
from maps.classify import ClassificationError, classify
from maps.indicators import INDICATORS, IndicatorError, indicator_table, unit_structure
from places.models import AdminUnit, UnitStatistic
from places.services import site_create

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
D = date(2026, 3, 31)  # the end of the main period
D0 = date(2025, 3, 31)  # a period before the 2025 reorganisation


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TZ)


def unit(code, *, new=True):
    qs = AdminUnit.objects.filter(code=code, level="commune")
    return qs.get(valid_from__isnull=False) if new else qs.get(valid_to__isnull=False)


def by_code(rows):
    return {r.code: r for r in rows}


@pytest.fixture
def world(lai_chau, django_user_model):
    """Mường Tè (new 03445 = old 03457 + old 03445, district 107) and Mù Cả (new 03451 = old 03451)."""
    new_mt, old_a, old_b = unit("03445"), unit("03457", new=False), unit("03445", new=False)
    new_mc, old_mc = unit("03451"), unit("03451", new=False)

    def construction(name, where):
        return site_create(
            kind="construction_site",
            name=name,
            geom=where.geom.point_on_surface,
            attributes={"permit_number": f"GP-{name}", "contractor": "Công ty XD"},
        )

    s1, s2 = construction("S1", old_a), construction("S2", old_a)
    s3, s4 = construction("S3", old_b), construction("S4", old_b)
    hotspot = site_create(
        kind="drowning_hotspot",
        name="H1",
        geom=old_mc.geom.point_on_surface,
        attributes={"water_type": "pond"},
    )
    for s in (s1, s2, s3, s4):
        assert s.commune_id == new_mt.pk
    assert hotspot.commune_id == new_mc.pk

    def person(name, role, agency=None, area=None):
        user = django_user_model.objects.create_user(name, password="pw-" + name)
        Profile.objects.create(user=user, role=role, agency=agency, area=area)
        return user

    coordinator = person("coord", Role.COORDINATOR)

    def inspect(site, day, result="pass"):
        return Inspection.objects.create(
            client_uuid=uuid.uuid4(),
            content_hash="x",
            site=site,
            template=ChecklistTemplate.objects.get(site_kind=site.kind, is_current=True),
            inspector=coordinator,
            agency=site.agency,
            performed_at=at(day),
            result=result,
            risk_level="none",
        )

    # Before the reorganisation: S1 (old_a), S3 and S4 (old_b) inspected shortly before D0.
    inspect(s1, D0 - timedelta(days=10))
    inspect(s3, D0 - timedelta(days=5))
    inspect(s4, D0 - timedelta(days=5))
    # Near D: S1 passed 10 days before, S2 failed 30 days before, S3 100 days before (too old).
    first = inspect(s1, D - timedelta(days=10))
    inspect(s2, D - timedelta(days=30), result="fail")
    inspect(s3, D - timedelta(days=100))
    inspect(hotspot, date(2026, 2, 1))

    def action(severity, deadline, verified_day=None):
        a = CorrectiveAction.objects.create(
            site=s1,
            item_code=f"I-{severity}",
            description="fix",
            severity=severity,
            agency=s1.agency,
            deadline=deadline,
            status=ActionStatus.VERIFIED if verified_day else ActionStatus.OPEN,
            opened_by=first,
            verified_by=first if verified_day else None,
            verified_at=at(verified_day) if verified_day else None,
        )
        CorrectiveAction.objects.filter(pk=a.pk).update(created_at=at(D - timedelta(days=60)))

    action("critical", D - timedelta(days=5))
    action("low", D + timedelta(days=30))
    action("high", D - timedelta(days=40), verified_day=D - timedelta(days=20))

    Assignment.objects.create(
        site=s2, agency=s2.agency, inspector=coordinator, status="assigned", due_date=D - timedelta(days=3)
    )
    Assignment.objects.create(site=s3, agency=s3.agency, status="planned", due_date=D + timedelta(days=10))
    Assignment.objects.create(site=s4, agency=s4.agency, status="done", due_date=D - timedelta(days=50))

    def incident(n, old, new, outcome="minor", day=date(2024, 8, 1)):
        for i in range(n):
            Incident.objects.create(
                kind="drowning",
                date=day,
                commune=old,
                current_commune=new,
                age_band="5-9",
                sex="male",
                outcome=outcome,
                source="test",
                reference=f"{old.code}-{outcome}-{i}",
            )

    incident(3, old_a, new_mt)
    incident(3, old_b, new_mt)
    incident(1, old_b, new_mt, outcome="fatal")
    incident(1, old_mc, new_mc)
    UnitStatistic.objects.update_or_create(
        unit=new_mt, year=2024, indicator="children_0_15", defaults={"value": 3500, "source": "test"}
    )
    UnitStatistic.objects.update_or_create(
        unit=old_mc, year=2024, indicator="children_0_15", defaults={"value": 1000, "source": "test"}
    )
    UnitStatistic.objects.filter(unit=new_mc, indicator="children_0_15").delete()
    return {
        "new_mt": new_mt,
        "old_a": old_a,
        "old_b": old_b,
        "new_mc": new_mc,
        "old_mc": old_mc,
        "sites": (s1, s2, s3, s4),
        "hotspot": hotspot,
        "coordinator": coordinator,
        "mc_leader": person("mc_leader", Role.AREA_LEADER, area=new_mc),
        "xd_manager": person("xd_manager", Role.AGENCY_MANAGER, agency=s1.agency),
        "planner": person("planner", Role.PLANNER),
        "person": person,
    }


# --- indicators ---------------------------------------------------------------------------------


def test_coverage_counts_inspections_within_the_kinds_interval(world):
    rows = by_code(indicator_table("coverage", level="commune", date_to=D, user=world["coordinator"]))
    mt = rows["03445"]
    assert (mt.value, mt.numerator, mt.denominator) == (50.0, 2, 4)
    assert mt.parts == {"sites": 4, "inspected": 2, "passing": 1}
    assert rows["03451"].value == 100.0  # the hotspot, inspected 1 Feb within its year
    assert rows["03463"].value is None  # no site to inspect: no data, not 0


def test_hotspots_must_be_inspected_again_before_each_summer(world):
    def hotspot_coverage(day):
        rows = indicator_table(
            "coverage", level="commune", date_to=day, kind="drowning_hotspot", user=world["coordinator"]
        )
        return by_code(rows)["03451"].value

    assert hotspot_coverage(date(2026, 5, 31)) == 100.0  # inspected 1 Feb: within the year, summer not begun
    assert hotspot_coverage(date(2026, 7, 15)) == 0.0  # summer: only an inspection since 1 March counts


def test_inspection_intervals_can_be_set(world, settings):
    settings.CHILDSAFE_INSPECTION_INTERVALS = {"construction_site": 120}
    rows = by_code(indicator_table("coverage", level="commune", date_to=D, user=world["coordinator"]))
    assert rows["03445"].value == 75.0  # S3 (100 days old) now counts


def test_old_period_on_old_units_and_restated_on_todays(world):
    coord = world["coordinator"]
    restated = by_code(indicator_table("coverage", level="commune", date_to=D0, user=coord))
    assert len(restated) == 38
    assert restated["03445"].value == 75.0  # S1, S3, S4 of 4
    old = by_code(indicator_table("coverage", level="commune", date_to=D0, user=coord, restate=False))
    assert len(old) == 106
    assert old["03457"].value == 50.0  # S1 of S1, S2 (placed on the old commune by the crosswalk + point)
    assert old["03445"].value == 100.0  # S3, S4
    district = by_code(indicator_table("coverage", level="district", date_to=D0, user=coord))
    assert len(district) == 8 and district["107"].parts["sites"] == 5  # four sites + the hotspot
    assert unit_structure("commune", D0, False) == "old" and unit_structure("commune", D, False) == "new"


def test_incidents_restated_through_the_crosswalk(world):
    coord = world["coordinator"]
    kw = {"date_from": date(2024, 1, 1), "date_to": date(2024, 12, 31), "user": coord}
    new = by_code(indicator_table("incidents", level="commune", **kw))
    assert new["03445"].value == 7 and new["03445"].parts["fatal"] == 1
    old = by_code(indicator_table("incidents", level="commune", restate=False, **kw))
    assert (old["03457"].value, old["03445"].value, old["03451"].value) == (3, 4, 1)
    assert (
        by_code(indicator_table("fatal_incidents", level="commune", restate=False, **kw))["03445"].value == 1
    )
    assert by_code(indicator_table("incidents", level="district", **kw))["107"].value == 8
    assert indicator_table("incidents", level="province", **kw)[0].value == 8
    rate = by_code(indicator_table("incident_rate", level="commune", **kw))
    assert rate["03445"].value == 20.0  # 10,000 × 7 / 3,500
    assert rate["03451"].value == 10.0  # children summed over the predecessor: 10,000 × 1 / 1,000
    assert by_code(indicator_table("incidents", level="commune", kind="traffic", **kw))["03445"].value == 0


def test_incident_numbers_are_suppressed_for_the_public(world):
    kw = {"level": "commune", "date_from": date(2024, 1, 1), "date_to": date(2024, 12, 31)}
    for reader in (None, world["planner"]):
        rows = by_code(indicator_table("incidents", user=reader, **kw))
        assert rows["03451"].value is None and rows["03451"].suppressed  # a single child
        assert rows["03445"].parts["fatal"] is None  # one death
        rate = by_code(indicator_table("incident_rate", user=reader, **kw))
        assert rate["03451"].value is None and rate["03451"].suppressed
    assert by_code(indicator_table("incidents", user=world["coordinator"], **kw))["03451"].value == 1


def test_overdue_assignments_and_actions_by_severity(world):
    coord = world["coordinator"]
    assign = by_code(indicator_table("overdue_assignments", level="commune", date_to=D, user=coord))["03445"]
    assert assign.value == 1 and assign.parts == {"open": 2, "overdue": 1}
    opened = by_code(indicator_table("open_actions", level="commune", date_to=D, user=coord))["03445"]
    assert opened.value == 2 and opened.parts == {"low": 1, "medium": 0, "high": 0, "critical": 1}
    overdue = by_code(indicator_table("overdue_actions", level="commune", date_to=D, user=coord))["03445"]
    assert overdue.value == 1 and overdue.parts["critical"] == 1
    # 25 days before D the high one was still open (verified 20 days before D) and past its deadline.
    earlier = D - timedelta(days=25)
    opened = by_code(indicator_table("open_actions", level="commune", date_to=earlier, user=coord))["03445"]
    assert opened.value == 3
    overdue = by_code(indicator_table("overdue_actions", level="commune", date_to=earlier, user=coord))[
        "03445"
    ]
    assert overdue.value == 1 and overdue.parts["high"] == 1


def test_risk_index_follows_its_formula(world):
    risk = by_code(indicator_table("risk", level="commune", date_to=D, user=world["coordinator"]))["03445"]
    # uninspected 1 - 1/4 = 0.75; no incident in the year to D: rate 0; overdue load 4 / (4 × 4) = 0.25
    assert risk.parts["uninspected_share"] == 0.75
    assert risk.parts["rate_component"] == 0.0
    assert risk.parts["overdue_action_load"] == 0.25
    assert risk.value == 35.0  # 100 × (0.4 × 0.75 + 0.4 × 0 + 0.2 × 0.25)


def test_what_each_role_sees(world):
    leader = by_code(indicator_table("coverage", level="commune", date_to=D, user=world["mc_leader"]))
    assert leader["03451"].value == 100.0 and leader["03445"].value is None  # only his commune's sites
    manager = by_code(indicator_table("coverage", level="commune", date_to=D, user=world["xd_manager"]))
    assert manager["03445"].denominator == 4 and manager["03451"].value is None  # his agency's sites
    agency = world["sites"][0].agency.code
    by_agency = by_code(
        indicator_table("coverage", level="commune", date_to=D, user=world["coordinator"], agency=agency)
    )
    assert by_agency["03451"].value is None and by_agency["03445"].value == 50.0
    # A district's communes: today's that took over one of its communes, or those of the time.
    area = {r.code for r in indicator_table("coverage", level="commune", date_to=D, area="107")}
    assert {"03445", "03451"} <= area and len(area) < 38 and "03388" not in area
    old = {
        r.code for r in indicator_table("coverage", level="commune", date_to=D0, area="107", restate=False)
    }
    assert {"03457", "03445", "03451"} <= old and len(old) < 106 and "03386" not in old


def test_bad_arguments_name_the_parameter(world):
    with pytest.raises(IndicatorError) as e:
        indicator_table("nope", level="commune")
    assert "indicator" in e.value.errors
    with pytest.raises(IndicatorError) as e:
        indicator_table("incidents", level="commune", kind="school")
    assert "kind" in e.value.errors
    with pytest.raises(IndicatorError) as e:
        indicator_table("coverage", level="commune", area="99999")
    assert "area" in e.value.errors
    with pytest.raises(IndicatorError) as e:
        indicator_table("coverage", level="commune", date_from=D, date_to=D0)
    assert "from" in e.value.errors


def test_every_indicator_has_label_unit_and_formula():
    for spec in INDICATORS.values():
        assert str(spec.label) and str(spec.unit) and len(str(spec.formula)) > 20


# --- classification -----------------------------------------------------------------------------

METHODS = [("quantiles", {}), ("equal", {}), ("jenks", {}), ("manual", {"breaks": [1, 5]})]


@pytest.mark.parametrize(("method", "extra"), METHODS)
def test_classification_of_degenerate_inputs(method, extra):
    nothing = classify([], method=method, **extra)
    assert [e.kind for e in nothing.legend()] == (["class"] * len(nothing.classes)) + ["no_data"]
    assert nothing.no_data.count == 0
    only_none = classify([None, None], method=method, **extra)
    assert only_none.no_data.count == 2 and sum(c.count for c in only_none.classes) == 0
    equal = classify([3, 3, 3], method=method, **extra)
    assert sum(c.count for c in equal.classes) == 3 and len(set(equal.assigned)) == 1
    few = classify([0, 2, None], method=method, k=5, **extra)
    assert few.no_data.count == 1 and few.assigned[2] is None
    assert few.assigned[0] is not None  # zero is a value, not "no data"
    assert sum(c.count for c in few.classes) == 2
    if method != "manual":
        assert len(few.classes) == 2 and [c.label for c in few.classes] == ["0", "2"]
        assert [c.label for c in equal.classes] == ["3"]
    for c in few.legend():
        assert c.color.startswith("#") and c.label


def test_classification_methods_on_known_values():
    values = [1, 2, 3, 10, 11, 12, 30, 31, 32]
    jenks = classify(values, method="jenks", k=3)
    assert jenks.assigned == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    equal = classify([0, 10, 20, 30, 40], method="equal", k=4)
    assert equal.limits == [0, 10, 20, 30, 40] and [c.count for c in equal.classes] == [2, 1, 1, 1]
    quantiles = classify(list(range(1, 11)), method="quantiles", k=2)
    assert [c.count for c in quantiles.classes] == [5, 5]
    manual = classify([0, 4, 6, 20, None], method="manual", breaks=[5, 10])
    assert manual.assigned == [0, 0, 1, 2, None] and manual.no_data.count == 1
    assert [c.label for c in manual.classes] == ["0 – 5", "5 – 10", "10 – 20"]
    hidden = classify([1, None, 7], hidden=[False, True, False])
    assert hidden.hidden.count == 1 and hidden.no_data.count == 0
    assert hidden.color_of(None, hidden=True) != hidden.no_data.color
    assert len({c.color for c in classify(list(range(50)), k=7).classes}) == 7


def test_classification_refuses_bad_parameters():
    for kwargs, field in [
        ({"method": "magic"}, "classes"),
        ({"k": 9}, "k"),
        ({"method": "manual"}, "breaks"),
        ({"method": "manual", "breaks": [5, 1]}, "breaks"),
        ({"palette": "Rainbow"}, "palette"),
    ]:
        with pytest.raises(ClassificationError) as e:
            classify([1, 2, 3], **kwargs)
        assert e.value.field == field


# --- API, pages, export -------------------------------------------------------------------------


def test_indicator_api_returns_classified_geojson(client, world):
    client.force_login(world["coordinator"])
    r = client.get("/api/v1/indicators/", {"indicator": "coverage", "level": "commune", "to": D.isoformat()})
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 38
    mt = next(f for f in body["features"] if f["id"] == "03445")
    assert mt["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert mt["properties"]["value"] == 50.0 and mt["properties"]["color"].startswith("#")
    assert mt["properties"]["class"] is not None
    empty = next(f for f in body["features"] if f["id"] == "03463")
    assert empty["properties"]["class"] is None and empty["properties"]["color"] == "#d9d9d9"
    legend = body["meta"]["legend"]
    assert legend[-1]["kind"] == "no_data" and legend[-1]["count"] == 36
    assert sum(e["count"] for e in legend) == 38
    r = client.get(
        "/api/v1/indicators/", {"indicator": "risk", "level": "district", "bbox": "103.0,22.0,103.3,22.5"}
    )
    assert r.status_code == 200 and 0 < len(r.json()["features"]) < 8


def test_indicator_api_public_is_suppressed(client, world):
    r = client.get(
        "/api/v1/indicators/",
        {"indicator": "incidents", "level": "commune", "from": "2024-01-01", "to": "2024-12-31"},
    )
    mc = next(f for f in r.json()["features"] if f["id"] == "03451")["properties"]
    assert mc["value"] is None and mc["suppressed"] and mc["display"] == "x"
    assert r.json()["meta"]["footnote"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "indicator"),
        ({"indicator": "risk", "level": "hamlet"}, "level"),
        ({"indicator": "risk", "from": "2026-13-01"}, "from"),
        ({"indicator": "risk", "from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ({"indicator": "risk", "k": "12"}, "k"),
        ({"indicator": "risk", "classes": "manual"}, "breaks"),
        ({"indicator": "risk", "classes": "manual", "breaks": "a,b"}, "breaks"),
        ({"indicator": "risk", "bbox": "1,2,3"}, "bbox"),
        ({"indicator": "risk", "kind": "castle"}, "kind"),
        ({"indicator": "risk", "agency": "nobody"}, "agency"),
        ({"indicator": "risk", "area": "00000"}, "area"),
        ({"indicator": "risk", "restate": "maybe"}, "restate"),
        ({"indicator": "risk", "colour": "red"}, "colour"),
    ],
)
def test_indicator_api_bad_parameters_are_400_naming_them(client, lai_chau, params, field):
    r = client.get("/api/v1/indicators/", params)
    assert r.status_code == 400, r.content
    assert field in r.json()


def test_map_page_offline_with_legend_and_drill_down(client, world):
    client.force_login(world["coordinator"])
    with translation.override("en"):
        r = client.get("/maps/", {"indicator": "risk", "to": D.isoformat()}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    html = r.content.decode()
    assert "cs-legend" in html and "drill_url" in html and "level=commune" in html
    assert "vendor/leaflet/leaflet.js" in html
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "unpkg"):
        assert cdn not in html
    assert "/api/v1/sites/" in html and "/api/v1/incidents/" in html  # layers loaded by bbox / for readers
    assert len(r.content) < 2_000_000


def test_area_leader_lands_on_his_area_without_incident_points_of_others(client, world):
    client.force_login(world["mc_leader"])
    r = client.get("/maps/")
    assert r.status_code == 200
    html = r.content.decode()
    assert '"03451"' in html and '"03445"' not in html  # only his commune's unit
    planner_client = client
    planner_client.force_login(world["planner"])
    html = planner_client.get("/maps/").content.decode()
    assert "/api/v1/incidents/" not in html  # no single incidents for a planner
    assert client.get("/maps/", {"indicator": "nope"}).status_code == 400
    assert client.get("/maps/", {"zoom": "3"}).status_code == 400


def test_unit_detail_page(client, world):
    client.force_login(world["coordinator"])
    r = client.get("/maps/units/03445/", {"to": D.isoformat()})
    html = r.content.decode()
    assert r.status_code == 200 and ("50,0" in html or "50.0" in html)
    assert client.get("/maps/units/99999/").status_code == 400


def test_export_command_writes_a_standalone_file(world, tmp_path):
    from django.core.management import call_command

    out = tmp_path / "map.html"
    call_command(
        "export_map", str(out), "--indicator", "coverage", "--level", "commune", "--to", D.isoformat()
    )
    html = out.read_text()
    assert "L.map(" in html or "L.map (" in html
    assert "cdn.jsdelivr" not in html and "ChildSafeMaps" in html
    assert '"03445"' in html and "S1" in html  # units and embedded sites
    features = json.loads(html.split("ChildSafeMaps.addSites(")[1].split(", ", 1)[1].rsplit(", labels", 1)[0])
    assert features["type"] == "FeatureCollection"
