"""Log-in rate limiting, request size limits and behaviour while the database is down."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from core.models import LoginAttempt

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


@pytest.fixture
def field_user(django_user_model):
    return django_user_model.objects.create_user("field7", password="right-password-7")


def _login(client, password, username="field7"):
    return client.post("/accounts/login/", {"username": username, "password": password, "next": "/"})


@override_settings(LOGIN_THROTTLE_PER_USER=3, LOGIN_THROTTLE_PER_ADDRESS=100)
def test_login_page_refuses_after_too_many_failures_even_with_the_right_password(client, field_user):
    for _ in range(3):
        assert _login(client, "wrong").status_code == 200  # the form again, with its error
    assert LoginAttempt.objects.get(key="user:field7").failures == 3
    blocked = _login(client, "right-password-7")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    assert "Đăng nhập sai quá nhiều lần" in blocked.content.decode()  # the page speaks Vietnamese
    assert "_auth_user_id" not in client.session
    # Another user from the same address is not blocked by field7's count.
    other = type(field_user).objects.create_user("field8", password="pw-8-right")
    assert _login(client, "pw-8-right", username=other.username).status_code == 302


@override_settings(LOGIN_THROTTLE_PER_USER=3, LOGIN_THROTTLE_PER_ADDRESS=100)
def test_a_successful_login_clears_the_user_count(client, field_user):
    _login(client, "wrong")
    _login(client, "wrong")
    assert _login(client, "right-password-7").status_code == 302
    assert not LoginAttempt.objects.filter(key="user:field7").exists()
    assert LoginAttempt.objects.get(key="ip:127.0.0.1").failures == 2


@override_settings(LOGIN_THROTTLE_PER_USER=100, LOGIN_THROTTLE_PER_ADDRESS=4)
def test_the_address_limit_covers_many_user_names(client, field_user):
    for i in range(4):
        _login(client, "x", username=f"guess{i}")
    assert _login(client, "right-password-7").status_code == 429


@override_settings(LOGIN_THROTTLE_PER_USER=2, LOGIN_THROTTLE_PER_ADDRESS=100)
def test_the_window_expires(client, field_user):
    _login(client, "wrong")
    _login(client, "wrong")
    assert _login(client, "right-password-7").status_code == 429
    LoginAttempt.objects.update(window_start="2000-01-01T00:00:00Z")
    assert _login(client, "right-password-7").status_code == 302


def _basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@override_settings(LOGIN_THROTTLE_PER_USER=3, LOGIN_THROTTLE_PER_ADDRESS=100)
def test_api_basic_auth_is_limited_like_the_login_page(client, field_user):
    for _ in range(3):
        assert client.get("/api/v1/sites/", HTTP_AUTHORIZATION=_basic("field7", "nope")).status_code in (
            401,
            403,
        )
    blocked = client.get("/api/v1/sites/", HTTP_AUTHORIZATION=_basic("field7", "right-password-7"))
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    # The login page shares the count.
    assert _login(client, "right-password-7").status_code == 429


def test_right_basic_auth_works_and_leaves_no_count(client, field_user):
    ok = client.get("/api/v1/sites/?page_size=1", HTTP_AUTHORIZATION=_basic("field7", "right-password-7"))
    assert ok.status_code == 200
    assert not LoginAttempt.objects.exists()


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_json_body_over_the_limit_gets_413_naming_the_limit(client, user):
    client.force_login(user)
    body = json.dumps({"padding": "x" * 2000})
    response = client.post(
        "/api/v1/inspections/", body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 413
    assert "at most 1000 bytes" in response.json()["detail"]


@override_settings(MAX_UPLOAD_BYTES=5000)
def test_upload_over_the_limit_gets_413(client, user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(user)
    big = SimpleUploadedFile("sites.geojson", b"{" + b" " * 10000 + b"}", content_type="application/geo+json")
    response = client.post("/api/v1/sites/import/", {"file": big})
    assert response.status_code == 413
    # A page (not the API) gets a plain-text answer, still 413.
    page = client.post("/incidents/import/", {"file": SimpleUploadedFile("a.csv", b"a" * 10000)})
    assert page.status_code == 413


def test_bodies_within_the_limits_pass(client, user):
    client.force_login(user)
    response = client.post("/api/v1/inspections/", "{}", content_type="application/json")
    assert response.status_code == 400  # reaches the view, which names the missing fields


def test_database_down_gives_503_on_api_and_pages_not_500():
    """A process whose database cannot be reached answers 503 with Retry-After everywhere."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='childsafe.settings'; django.setup();"
        "from django.test import Client; c = Client();"
        "rs = [c.get(p) for p in ('/api/v1/sites/', '/api/v1/admin-units/', '/incidents/')];"
        "print(' '.join(f'{r.status_code}:{r.get(\"Retry-After\")}' for r in rs))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_DEBUG": "1", "DATABASE_URL": "postgis://nobody:wrong@127.0.0.1:1/nodb"})
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["503:5", "503:5", "503:5"], out.stdout


def test_security_headers_on_pages_and_api(client):
    for path in ("/", "/api/v1/admin-units/?level=province", "/accounts/login/"):
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "http" not in csp.split("img-src")[0], "no outside origin for scripts, styles or connections"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "geolocation=(self)" in response["Permissions-Policy"]


def test_production_collects_static_files_and_sends_hsts_and_secure_cookies(tmp_path):
    """collectstatic works under production settings (WhiteNoise's manifest storage, vendored
    Leaflet with its source maps), and a page then carries HSTS and the CSP."""
    from tests.test_foundation import PRODUCTION_ENV

    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='childsafe.settings'; django.setup();"
        "from django.conf import settings; from django.test import Client;"
        "r = Client().get('/accounts/login/', secure=True, HTTP_HOST='childsafe.example.org');"
        "print(r.status_code, r['Strict-Transport-Security'], r['Content-Security-Policy'][:20],"
        " settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, sep='|')"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(PRODUCTION_ENV, DJANGO_STATIC_ROOT=str(tmp_path / "static"), DJANGO_STATIC_COMPRESS="0")
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert collected.returncode == 0, collected.stderr[-2000:]
    assert list((tmp_path / "static").glob("vendor/leaflet/leaflet.*.js"))  # hashed names
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    status, hsts, csp, session_secure, csrf_secure = out.stdout.strip().split("|")
    assert status == "200"
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts
    assert csp.startswith("default-src 'self'")
    assert session_secure == csrf_secure == "True"


def test_every_post_form_in_every_template_has_a_csrf_token():
    """Scans the templates of every app: a POST form without {% csrf_token %} fails the test."""
    import re

    forms = 0
    for template in ROOT.glob("*/templates/**/*.html"):
        text = template.read_text()
        for match in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, flags=re.S | re.I):
            if re.search(r"method\s*=\s*[\"']?post", match.group(0)[:300], flags=re.I):
                forms += 1
                assert "{% csrf_token %}" in match.group(1), (
                    f"{template.relative_to(ROOT)}: POST form without csrf_token"
                )
    assert forms >= 5  # the scan found the forms it should (login, inspections, incidents...)
