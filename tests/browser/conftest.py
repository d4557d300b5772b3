"""A real browser for end-to-end tests: Debian's headless Chromium driven by Python Playwright.

Playwright's own browser download cannot work offline, so the system Chromium is used
(scripts/bootstrap.sh installs it); the tests are skipped, saying why, where it is absent.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
# A small Android phone: the pages must work at 360 CSS pixels.
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; scripts/bootstrap.sh does it)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread; the test's own ORM calls are
    # ordinary synchronous code all the same, so Django's async-safety guard is lifted meanwhile.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def phone(browser, live_server, client):
    """phone(user, geolocation=...) → a Playwright page on a 360 px screen, logged in as `user`.

    The position is the browser's own (Chromium's geolocation, permission granted), never the server's.
    """
    contexts = []

    def open_page(user, *, geolocation: dict | None = None, locale: str = "vi-VN"):
        client.force_login(user)
        context = browser.new_context(
            **PHONE,
            locale=locale,
            geolocation=geolocation,
            permissions=["geolocation"] if geolocation else [],
        )
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
