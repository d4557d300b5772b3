"""schemathesis over the OGC API's own OpenAPI definition (/ogcapi/api), as for /api/.

The definition is the one the service publishes (ogc.openapi, built for the test server), so
every documented operation and parameter of the OGC API is fuzzed: no 5xx, and every answer as
documented (status, content type), anonymous and with an inspector's HTTP Basic credentials
(the way GIS clients log in). Bounded in CI like tests/test_schemathesis.py; the same
SCHEMATHESIS_FULL / SCHEMATHESIS_MAX_EXAMPLES switches make the long run.
"""

import os

import pytest
import schemathesis
from django.test import RequestFactory

from ogc.collections import COLLECTIONS
from ogc.openapi import openapi_document
from ogc.views import DEFAULT_LIMIT, MAX_LIMIT

from .test_schemathesis import FUZZ, _check
from .test_schemathesis import inspector_auth as inspector_auth  # noqa: F401  (fixture)

_request = RequestFactory().get("/ogcapi/api")
schema = schemathesis.openapi.from_dict(
    openapi_document(_request, list(COLLECTIONS.values()), MAX_LIMIT, DEFAULT_LIMIT)
)
schema.config.phases.coverage.enabled = os.environ.get("SCHEMATHESIS_FULL") == "1"


@schema.parametrize()
@FUZZ
def test_ogc_anonymous(case, playgrounds):
    _check(case)


@schema.parametrize()
@FUZZ
def test_ogc_inspector(case, playgrounds, inspector_auth):  # noqa: F811
    _check(case, headers={"Authorization": inspector_auth})


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/ogcapi/no/such/path", "/tiles/sites/-1/0/0.pbf", "/tiles/sites/1/x/0.pbf", "/api/v1/nothing/"]
)
def test_unmatched_machine_paths_answer_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    assert response.json()["detail"]


def test_tiles_are_in_the_api_schema():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    tile = paths["/tiles/{layer}/{z}/{x}/{y}.pbf"]["get"]
    assert {"200", "304", "400", "404", "503"} <= set(tile["responses"])
    layers = tile["parameters"][0]["schema"]["enum"]
    assert "sites" in layers and "units-2025" in layers and "indicators-coverage" not in layers
    assert "/tiles/{layer}.json" in paths


@pytest.mark.django_db
@pytest.mark.parametrize("feature_id", ["¹", "²3", "٣", "1.0", "-1"])
def test_feature_ids_that_are_not_plain_digits_are_404(client, feature_id):
    """ "¹" passes str.isdigit() but not int(): it was a 500 (found by schemathesis)."""
    response = client.get(f"/ogcapi/collections/units-2025/items/{feature_id}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "no feature" in response.json()["errors"]["detail"][0]
