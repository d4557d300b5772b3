"""End to end in headless Chromium: the /maps/ page draws the sites from the vector tiles
(/tiles/sites-<kind>/{z}/{x}/{y}.pbf through Leaflet.VectorGrid) under the site's CSP: clusters
sized by their count at province zoom, a click on a single site fetches its details, routes as
lines at detail zoom, a site hidden from the reader is not drawn, and the console stays clean.
Screenshots go to test-artifacts/ at the repository root."""

import math
import re
from datetime import date
from pathlib import Path

import pytest
from django.contrib.gis.geos import LineString, Point

from inspections.models import Agency, Profile, Role
from places.models import Site
from places.services import site_create

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PANE = ".leaflet-csSites-pane"
HOTSPOT = (102.6, 22.35)  # alone in its clustering cell
CLUSTER = (103.3, 22.4)  # three hotspots on one spot: one cluster of 3 below zoom 11
ROUTE = [(103.46, 22.30), (103.47, 22.31), (103.48, 22.31)]

# The folium map object of the page (a global named map_<hash>).
MAP_JS = (
    "Object.keys(window).filter(k => k.startsWith('map_') && window[k] instanceof L.Map)"
    ".map(k => window[k])[0]"
)


@pytest.fixture
def tile_world(lai_chau, django_user_model):
    user = django_user_model.objects.create_user("tile_coordinator", password="pw-tile-coordinator")
    Profile.objects.create(user=user, role=Role.COORDINATOR)
    water = {"water_type": "stream"}
    single = site_create(
        kind="drowning_hotspot", name="Suối bản Nậm Khao", geom=Point(*HOTSPOT, srid=4326), attributes=water
    )
    for i in range(3):
        site_create(
            kind="drowning_hotspot", name=f"Vực {i}", geom=Point(*CLUSTER, srid=4326), attributes=water
        )
    site_create(
        kind="school_route",
        name="Tuyến Bản Hon",
        geom=LineString(ROUTE, srid=4326),
        attributes={"school": "TH Bản Hon"},
    )
    return {"user": user, "single": single}


def _open(browser, live_server, client, user):
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    context.set_default_timeout(15_000)
    return context


def _radii(page) -> list[float]:
    """Radii of the circle markers drawn in the sites pane (SVG arcs `a r,r ...`)."""
    paths = page.eval_on_selector_all(f"{PANE} path", "ps => ps.map(p => p.getAttribute('d') || '')")
    return [float(m.group(1)) for d in paths if (m := re.search(r"a([\d.]+),", d))]


def test_sites_drawn_from_vector_tiles_with_clusters_popups_and_routes(
    browser, live_server, client, tile_world
):
    ARTIFACTS.mkdir(exist_ok=True)
    context = _open(browser, live_server, client, tile_world["user"])
    page = context.new_page()
    errors, tiles, site_json = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: tiles.append(r) if "/tiles/" in r.url and r.url.endswith(".pbf") else None)
    page.on("request", lambda r: site_json.append(r.url) if "/api/v1/sites/" in r.url else None)
    try:
        response = page.goto(
            f"{live_server.url}/maps/?indicator=risk&level=district&to={date.today().isoformat()}"
        )
        csp = response.headers.get("content-security-policy", "")
        assert (
            "script-src 'self' 'unsafe-inline'" in csp and "unsafe-eval" not in csp
        )  # VectorGrid needs no eval
        page.wait_for_selector(f"{PANE} path.leaflet-interactive", state="attached")
        page.wait_for_load_state("networkidle")

        # The sites come from tiles of the shown kinds (hotspots and routes), never as GeoJSON by bbox.
        layers = {re.search(r"/tiles/([^/]+)/", r.url).group(1) for r in tiles}
        assert layers == {"sites-drowning_hotspot", "sites-school_route"}, layers
        assert all(r.status == 200 for r in tiles), [(r.url, r.status) for r in tiles]
        # Logged in: the tiles were rendered for this reader (scoped), not the shared public cache.
        assert all("private" in r.headers.get("cache-control", "") for r in tiles)
        assert not [u for u in site_json if "bbox=" in u], site_json

        # Province zoom (below 11): the three hotspots are one cluster, drawn larger than the single
        # hotspot and the route's point (a route is clustered to a point on it).
        zoom = page.evaluate(f"() => {MAP_JS}.getZoom()")
        assert zoom < 11
        radii = sorted(_radii(page))
        assert len(radii) == 3, radii  # the cluster of 3, the single hotspot, the route
        assert radii[0] == radii[1] == 6 and radii[2] == round(6 + 3 * math.log2(3))  # SVG rounds radii
        fills = set(page.eval_on_selector_all(f"{PANE} path", "ps => ps.map(p => p.getAttribute('fill'))"))
        assert {"#0868ac", "#d7301f"} <= fills  # hotspot blue, route red
        # The choropleth is still there, below the sites' own pane.
        assert page.locator(".leaflet-overlay-pane path.leaflet-interactive").count() >= 8
        page.screenshot(path=str(ARTIFACTS / "maps-tiles-province.png"), full_page=True)

        # A click on the single hotspot (a cluster of one: id, no name in the tile) fetches its details.
        single = page.evaluate(
            f"() => {{ const m = {MAP_JS}; const p = m.latLngToContainerPoint([{HOTSPOT[1]}, {HOTSPOT[0]}]);"
            " const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }"
        )
        page.mouse.move(*single)
        page.wait_for_selector(".leaflet-tooltip")
        page.mouse.click(*single)
        popup = page.locator(".leaflet-popup-content")
        popup.get_by_text("Suối bản Nậm Khao").wait_for()
        link = popup.locator("a")
        assert link.get_attribute("href") == f"/api/v1/sites/{tile_world['single'].pk}/"
        assert f"/api/v1/sites/{tile_world['single'].pk}/" in "".join(site_json)
        assert "level=district" in page.url  # the click went to the site, not to the district below
        page.screenshot(path=str(ARTIFACTS / "maps-tiles-popup.png"))

        # A cluster says how many sites it holds; a click on it zooms in.
        page.keyboard.press("Escape")
        cluster = page.evaluate(
            f"() => {{ const m = {MAP_JS}; const p = m.latLngToContainerPoint([{CLUSTER[1]}, {CLUSTER[0]}]);"
            " const r = m.getContainer().getBoundingClientRect(); return [r.left + p.x, r.top + p.y]; }"
        )
        page.mouse.move(*cluster)
        page.locator(".leaflet-tooltip", has_text="3 ×").wait_for()
        page.mouse.click(*cluster)
        page.wait_for_function(f"() => {MAP_JS}.getZoom() === {zoom + 2} && !{MAP_JS}._animatingZoom")
        page.wait_for_load_state("networkidle")

        # At detail zoom the route is a line in its colour, from tiles with single sites.
        detail = "/tiles/sites-school_route/14/"
        with page.expect_response(lambda r: detail in r.url, timeout=30_000) as route_tile:
            page.evaluate(f"() => {MAP_JS}.setView([{ROUTE[1][1]}, {ROUTE[1][0]}], 14, {{animate: false}})")
        assert route_tile.value.status == 200
        page.wait_for_function(
            f"() => Array.from(document.querySelectorAll('{PANE} path'))"
            ".some(p => p.getAttribute('stroke') === '#d7301f' && p.getAttribute('fill') === 'none')"
        )
        page.screenshot(path=str(ARTIFACTS / "maps-tiles-route.png"))
        assert not errors, errors
    finally:
        context.close()


def test_tiles_are_scoped_to_the_reader(browser, live_server, client, tile_world, django_user_model):
    """An inspector sees only his agency's sites: the one hotspot given to it, not the others."""
    agency = Agency.objects.order_by("code").first()
    Site.objects.filter(pk=tile_world["single"].pk).update(agency=agency)
    user = django_user_model.objects.create_user("tile_inspector", password="pw-tile-inspector")
    Profile.objects.create(user=user, role=Role.INSPECTOR, agency=agency)
    context = _open(browser, live_server, client, user)
    page = context.new_page()
    tiles, errors = [], []
    page.on("response", lambda r: tiles.append(r) if r.url.endswith(".pbf") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{live_server.url}/maps/?indicator=risk&level=district&to={date.today().isoformat()}")
        page.wait_for_selector(f"{PANE} path.leaflet-interactive", state="attached")
        page.wait_for_load_state("networkidle")
        assert tiles and all(r.status == 200 for r in tiles)
        assert _radii(page) == [6.0]  # the agency's single hotspot only
        assert not errors, errors
    finally:
        context.close()
