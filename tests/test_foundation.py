"""Foundation: PostGIS is real, /healthz both ways, languages, production settings, compose file."""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from django.db import connection

from tests.conftest import ROOT

PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "x9!kQz#2vLr8@pW4nT6^bY1&cF3*hJ5(mD7)sG0-aE_uI+oK=lZ?qX;wV,eR.tU|",
    "DJANGO_ALLOWED_HOSTS": "childsafe.example.org",
}


@pytest.mark.django_db
def test_postgis_answers_a_spatial_query():
    with connection.cursor() as cur:
        # Lai Châu city to Sìn Hồ town, about 21 km apart: metres on the geography type.
        cur.execute(
            "SELECT ST_Distance(ST_MakePoint(103.4571, 22.3964)::geography,"
            " ST_MakePoint(103.2411, 22.3606)::geography),"
            " ST_Contains(ST_MakeEnvelope(102, 21, 104, 23, 4326),"
            " ST_SetSRID(ST_MakePoint(103.4, 22.4), 4326)),"
            " postgis_lib_version()"
        )
        metres, contains, version = cur.fetchone()
    assert 21_000 < metres < 24_000
    assert contains is True
    assert version.startswith("3.")


@pytest.mark.django_db
def test_healthz_ok_reports_postgis_version(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthz_503_when_database_is_unreachable():
    """A separate process with a DATABASE_URL that points nowhere answers 503, not 500."""
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='childsafe.settings'; django.setup();"
        "from django.test import Client; r = Client().get('/healthz');"
        "print(r.status_code, r.content.decode())"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update({"DJANGO_DEBUG": "1", "DATABASE_URL": "postgis://nobody:wrong@127.0.0.1:1/nodb"})
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    status, _, body = out.stdout.strip().partition(" ")
    assert status == "503"
    assert json.loads(body)["status"] == "unavailable"


@pytest.mark.django_db
def test_home_page_is_vietnamese_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="vi">' in html
    assert "Bản đồ An toàn Trẻ em" in html
    assert "Nguồn dữ liệu và giấy phép" in html


@pytest.mark.django_db
def test_language_switcher_changes_to_english_and_back(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "ChildSafe Map" in html and "Data sources and licences" in html
    assert "Nguồn dữ liệu và giấy phép" not in html
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    assert "Nguồn dữ liệu và giấy phép" in client.get("/").content.decode()


@pytest.mark.django_db
def test_home_page_offers_language_switcher_and_navigation(client):
    html = client.get("/").content.decode()
    assert 'action="/i18n/setlang/"' in html
    assert re.search(r'<option value="en"[^>]*>English</option>', html)
    assert re.search(r"<option value=\"vi\"[^>]*selected>Tiếng Việt</option>", html)
    assert 'name="viewport"' in html


def test_every_vietnamese_message_is_translated():
    po = (ROOT / "locale/vi/LC_MESSAGES/django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in po.split("\n\n", 1)[1]
    entries = [e for e in po.split("\n\n")[1:] if "msgid" in e]
    empty = [
        e for e in entries if re.search(r'^msgstr(\[0\])? ""$', e, re.M) and '\n"' not in e.split("msgstr")[1]
    ]
    assert not empty, f"untranslated: {empty[:3]}"
    assert len(entries) > 20


def test_check_deploy_is_clean_under_production_settings(manage):
    out = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no issues" in out.stdout


def test_production_refuses_to_start_without_secret_key(manage):
    out = manage("check", env={"DJANGO_DEBUG": "0", "DJANGO_ALLOWED_HOSTS": "childsafe.example.org"})
    assert out.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in out.stderr
    # The web server never falls back to development settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "SECRET_KEY"}
    served = subprocess.run(
        [sys.executable, "-c", "import childsafe.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode != 0 and "DJANGO_SECRET_KEY is not set" in served.stderr


def test_manage_py_in_an_unconfigured_checkout_uses_development_settings(manage):
    out = manage("check")
    assert out.returncode == 0, out.stderr
    assert "using development settings" in out.stderr  # said, never silent


def test_docker_compose_structure():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    db, web = compose["services"]["db"], compose["services"]["web"]
    assert db["image"].startswith("postgis/postgis:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    volume_name = db["volumes"][0].split(":")[0]
    assert volume_name in compose["volumes"]
    assert "gunicorn childsafe.wsgi" in web["command"]
    assert web["environment"]["DATABASE_URL"].endswith("@db:5432/childsafe")
    assert (ROOT / "Dockerfile").exists()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci/run").read_text()
    assert "make test" in readme
    assert re.search(r"^make test$", ci, re.M)


def test_openapi_schema_generates_without_warnings(manage):
    out = manage(
        "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null", env={"DJANGO_DEBUG": "1"}
    )
    assert out.returncode == 0, out.stderr[-2000:]


@pytest.mark.django_db
def test_api_docs_are_self_hosted(client):
    html = client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
    assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.django_db
def test_field_staff_log_in_through_the_login_page(client, django_user_model):
    from inspections.models import Agency, Profile, Role

    agency = Agency.objects.create(
        code="test-agency", name="Cơ quan thử", name_en="Test agency", kind="department"
    )
    user = django_user_model.objects.create_user("field1", password="pw-field-123")
    Profile.objects.create(user=user, role=Role.INSPECTOR, agency=agency)
    page = client.get("/inspections/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    assert "Đăng nhập" in client.get(page["Location"]).content.decode()
    response = client.post(
        "/accounts/login/", {"username": "field1", "password": "pw-field-123", "next": "/inspections/"}
    )
    assert response.status_code == 302 and response["Location"] == "/inspections/"
    assert client.get("/inspections/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/inspections/").status_code == 302
