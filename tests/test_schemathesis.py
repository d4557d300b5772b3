"""Property-based requests to every operation of our OpenAPI schema (schemathesis, bounded).

Anonymous and as an authenticated inspector: no response may be a 5xx, and every response
must match what the schema documents (status codes, content types, bodies). The bounded run
here keeps CI short; `SCHEMATHESIS_FULL=1 SCHEMATHESIS_MAX_EXAMPLES=100 pytest
tests/test_schemathesis.py` (see bench/README.md) adds the coverage phase and many more examples.

Requests go through Django's test request handler (as WSGI), so they run inside the test's
transaction and see the reference data and the users made here.
"""

import base64
import os

import pytest
import schemathesis
from django.test.client import ClientHandler
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import ignored_auth, positive_data_acceptance

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
# The coverage phase sends every boundary case the schema defines (hundreds per operation,
# whatever max_examples says): on in the long run (SCHEMATHESIS_FULL=1), off in CI.
schema.config.phases.coverage.enabled = os.environ.get("SCHEMATHESIS_FULL") == "1"


class HandlerAsWSGI:
    """Django's test ClientHandler as a WSGI application (it keeps the test's DB connection open)."""

    def __init__(self):
        self.handler = ClientHandler(enforce_csrf_checks=True)

    def __call__(self, environ, start_response):
        response = self.handler(environ)
        headers = list(response.items())
        headers += [("Set-Cookie", morsel.OutputString()) for morsel in response.cookies.values()]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        if response.streaming:
            return [b"".join(response.streaming_content)]
        return [response.content]


APP = HandlerAsWSGI()
# The bounded CI run draws the same examples every time (a landing is never blocked by a rare
# draw); the long run (SCHEMATHESIS_FULL=1, bench/schemathesis_long.py) draws afresh each run.
FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=os.environ.get("SCHEMATHESIS_FULL") != "1",
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


@pytest.fixture
def inspector_auth(db, django_user_model):
    from inspections.models import Agency, Profile, Role

    agency = Agency.objects.order_by("code").first()
    person = django_user_model.objects.create_user("fuzz-inspector", password="fuzz-pass-1")
    Profile.objects.create(user=person, role=Role.INSPECTOR, agency=agency)
    return "Basic " + base64.b64encode(b"fuzz-inspector:fuzz-pass-1").decode()


def _check(case, headers=None):
    response = case.call(app=APP, headers=headers)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
    # Left out: positive_data_acceptance (our validation is deliberately stricter than a JSON
    # schema can say: kinds decide geometry types, dates must be real, points inside the province)
    # and ignored_auth (it expects 401 from public read endpoints; tests/test_authorization.py
    # checks who may see what).
    case.validate_response(response, excluded_checks=[positive_data_acceptance, ignored_auth])


@schema.parametrize()
@FUZZ
def test_anonymous(case, db):
    _check(case)


@schema.parametrize()
@FUZZ
def test_inspector(case, inspector_auth):
    _check(case, headers={"Authorization": inspector_auth})
