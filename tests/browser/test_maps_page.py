"""End to end in headless Chromium: the risk map page draws its choropleth and legend offline,
a click on a district opens its communes, and the console stays free of errors.
Screenshots go to test-artifacts/ at the repository root."""

from datetime import date
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point

from inspections.models import Profile, Role
from places.services import site_create

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def coordinator(lai_chau, django_user_model):
    user = django_user_model.objects.create_user("map_coordinator", password="pw-map-coordinator")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    site_create(
        kind="drowning_hotspot",
        name="Suối bản Nậm Khao",
        geom=Point(102.6, 22.35, srid=4326),
        attributes={"water_type": "stream"},
    )
    return user


def test_risk_map_draws_choropleth_legend_and_drills_down(browser, live_server, client, coordinator):
    ARTIFACTS.mkdir(exist_ok=True)
    client.force_login(coordinator)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        page.goto(f"{live_server.url}/maps/?indicator=risk&level=district&to={date.today().isoformat()}")
        page.wait_for_selector(".leaflet-container path.leaflet-interactive")
        districts = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
        assert districts.count() >= 8  # 8 districts (plus their outline layer is not interactive)
        legend = page.locator(".cs-legend")
        assert legend.is_visible()
        assert legend.locator("li").count() >= 2 and "(" in legend.inner_text()
        assert page.locator(".leaflet-control-layers").count() == 1
        page.screenshot(path=str(ARTIFACTS / "maps-risk-districts.png"), full_page=True)

        # Click the district under the centre of Mường Tè's first old commune: its communes open.
        fills = page.evaluate(
            "() => Array.from(document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive'))"
            ".map(p => p.getAttribute('fill')).filter(Boolean)"
        )
        assert fills and all(f.startswith("#") for f in fills)
        box = districts.nth(0).bounding_box()
        with page.expect_navigation():
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        if "level=commune" not in page.url:  # the centre of a concave district can fall outside it
            page.go_back()
            page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
            page.evaluate(
                "() => { for (const k in window) { const v = window[k];"
                " if (k.startsWith('geo_json_') && v && v.eachLayer) { v.eachLayer(l => {"
                " if (!window.__clicked && l.feature && l.feature.properties.drill_url) {"
                " window.__clicked = true; l.fire('click'); } }); } } }"
            )
            page.wait_for_url("**level=commune**")
        assert "level=commune" in page.url and "area=" in page.url
        page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
        communes = page.locator(".leaflet-overlay-pane path.leaflet-interactive").count()
        assert 2 <= communes < 38  # today's communes that took over the district's communes
        assert page.locator(".cs-legend").is_visible()
        assert page.locator("#up-link").count() == 1
        page.screenshot(path=str(ARTIFACTS / "maps-risk-communes.png"), full_page=True)
        assert not errors, errors
        assert not [u for u in failed if not u.startswith(live_server.url)], failed
    finally:
        context.close()


def test_exported_map_opens_offline_from_a_file(browser, coordinator, tmp_path):
    from django.core.management import call_command

    ARTIFACTS.mkdir(exist_ok=True)
    out = tmp_path / "risk.html"
    call_command(
        "export_map", str(out), "--indicator", "risk", "--level", "district", "--user", "map_coordinator"
    )
    context = browser.new_context(viewport={"width": 1000, "height": 800}, offline=True)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(out.as_uri())
        page.wait_for_selector(".leaflet-overlay-pane path.leaflet-interactive")
        assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() >= 8
        assert page.locator(".cs-legend").is_visible()
        assert page.locator(".cs-icon").count() >= 1  # the embedded hotspot
        page.screenshot(path=str(ARTIFACTS / "maps-export-offline.png"))
        assert not errors, errors
    finally:
        context.close()
