"""End to end in headless Chromium: a coordinator opens /planning/, sees the offline map
(commune boundaries drawn from data with the vendored Leaflet, no tiles) and the ranking,
gives all the weight to poverty and sees the order change, switches the map to the score,
runs "where to build" and sees the picks on the map. No console errors; screenshots go to
test-artifacts/."""

from pathlib import Path

import pytest

from tests.test_planning_page import ranked  # noqa: F401  (fixture)

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def desktop(browser, live_server, client):
    contexts = []

    def open_page(user, locale="vi-VN"):
        client.force_login(user)
        context = browser.new_context(**DESKTOP, locale=locale)
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def first_codes(page, n=3) -> list[str]:
    return page.locator("#ranking-table tbody tr").evaluate_all(
        f"rows => rows.slice(0, {n}).map(r => r.dataset.code)"
    )


def test_planning_page_map_weights_and_where_to_build(desktop, live_server, user, ranked):  # noqa: F811
    a, b, c = ranked
    ARTIFACTS.mkdir(exist_ok=True)
    page = desktop(user)
    problems = []
    # The site has no favicon yet (core's base template): Chromium's own request for it is not ours.
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location}")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None)

    page.goto(f"{live_server.url}/planning/")
    assert page.locator("html").get_attribute("lang") == "vi"
    # 38 communes drawn as SVG paths by Leaflet, no tile images.
    page.wait_for_function("document.querySelectorAll('#planning-map path.leaflet-interactive').length >= 38")
    assert page.locator("#planning-map img.leaflet-tile").count() == 0
    assert page.locator("#planning-map").get_attribute("data-layer") == "unserved"
    assert page.locator(".planning-legend").count() >= 1
    assert first_codes(page) == [a.code, c.code, b.code]
    page.screenshot(path=str(ARTIFACTS / "planning-1-ranking.png"), full_page=True)

    # All the weight on poverty: C (90 %) first, then A (50 %), then B (10 %).
    for name in ("unserved", "extremely_difficult", "incidents", "playgrounds"):
        page.fill(f"#id_w_{name}", "0")
    page.fill("#id_w_poverty", "3")
    with page.expect_navigation():
        page.click("#update-ranking")
    assert "w_poverty=3" in page.url
    assert first_codes(page) == [c.code, a.code, b.code]
    page.wait_for_function("document.querySelectorAll('#planning-map path.leaflet-interactive').length >= 38")

    # Switch the map to the score: the colours are repainted.
    before = page.locator("#planning-map path.leaflet-interactive").evaluate_all(
        "ps => ps.map(p => p.getAttribute('fill'))"
    )
    page.check('input[name="map-layer"][value="score"]')
    assert page.locator("#planning-map").get_attribute("data-layer") == "score"
    after = page.locator("#planning-map path.leaflet-interactive").evaluate_all(
        "ps => ps.map(p => p.getAttribute('fill'))"
    )
    assert before != after
    page.screenshot(path=str(ARTIFACTS / "planning-2-by-poverty-score.png"), full_page=True)

    # Where to build: 2 play areas, villages as candidates: A1 (30 children), then C1 (15).
    page.fill("#id_budget", "2")
    with page.expect_navigation():
        page.click("#run-siting")
    assert page.locator("#picks-table tbody tr").count() == 2
    cells = page.locator("#picks-table tbody tr td:nth-child(4)").all_inner_texts()
    assert cells == ["30", "15"]
    page.wait_for_function("document.querySelectorAll('#planning-map path.planning-pick').length === 2")
    assert page.locator(".planning-pick-label").all_inner_texts() == ["1", "2"]
    # The ranking kept the weights of the address (the form posts to the same query).
    assert first_codes(page) == [c.code, a.code, b.code]
    page.locator("#planning-map").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "planning-3-where-to-build.png"), full_page=True)
    assert problems == []


def test_planning_page_fits_a_phone(phone, live_server, user, ranked):  # noqa: F811
    page = phone(user)
    page.goto(f"{live_server.url}/planning/")
    page.wait_for_function("document.querySelectorAll('#planning-map path.leaflet-interactive').length >= 38")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "planning-4-phone.png"), full_page=False)
