"""Real GIS clients against a live server: GDAL's OAPIF driver (ogrinfo, ogr2ogr to GeoPackage)."""

import os
import shutil
import subprocess

import pytest
from django.contrib.gis.geos import Point

from places.services import site_create

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin is installed by the bootstrap"),
    pytest.mark.django_db(transaction=True),
]


def gdal(*args, env=None):
    full_env = {**os.environ, "GDAL_HTTP_TIMEOUT": "60", **(env or {})}
    out = subprocess.run(list(args), capture_output=True, text=True, timeout=180, env=full_env)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def villages(lai_chau):
    for i in range(25):
        site_create(
            kind="village",
            name=f"Bản thử {i:02d}",
            geom=Point(103.2411 + i * 0.001, 22.3606, srid=4326),
            attributes={"child_count": 10 + i},
            status="closed" if i == 0 else "active",
        )


def test_ogrinfo_lists_collections_and_reads_features(live_server, villages):
    url = f"OAPIF:{live_server.url}/ogcapi"
    listing = gdal("ogrinfo", "-ro", "-q", url)
    for layer in ("units-2024", "units-2025", "sites", "sites-village", "sites-drowning_hotspot"):
        assert f": {layer} " in listing or f": {layer}\n" in listing or layer in listing.split()
    summary = gdal("ogrinfo", "-ro", "-so", url, "sites-village")
    assert "Feature Count: 24" in summary  # the closed one is not public
    assert "child_count: Integer" in summary and "name: String" in summary
    features = gdal("ogrinfo", "-ro", "-q", url, "sites-village")
    assert "Bản thử 24" in features and "Bản thử 00" not in features
    # Paging: GDAL follows the next links with a small page size.
    small = gdal("ogrinfo", "-ro", "-q", "-oo", "PAGE_SIZE=7", url, "sites-village")
    assert small.count("OGRFeature(sites-village)") == 24
    # A bbox the driver turns into the bbox parameter.
    near = gdal(
        "ogrinfo", "-ro", "-q", "-spat", "103.2405", "22.36", "103.2435", "22.361", url, "sites-village"
    )
    assert near.count("OGRFeature(sites-village)") == 2  # Bản thử 01 and 02 (00 is closed)
    assert "Bản thử 01" in near and "Bản thử 02" in near


def test_basic_credentials_widen_the_scope(live_server, villages, user):
    url = f"OAPIF:{live_server.url}/ogcapi"
    auth = {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_USERPWD": "coordinator1:pw-coordinator-1"}
    summary = gdal("ogrinfo", "-ro", "-so", url, "sites-village", env=auth)
    assert "Feature Count: 25" in summary


def test_ogr2ogr_copies_collections_into_a_geopackage(live_server, villages, tmp_path):
    url = f"OAPIF:{live_server.url}/ogcapi"
    out = tmp_path / "out.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(out), url, "units-2025", "sites-village")
    summary = gdal("ogrinfo", "-ro", "-so", "-al", str(out))
    counts = [line for line in summary.splitlines() if line.startswith("Feature Count:")]
    assert counts == ["Feature Count: 39", "Feature Count: 24"]
    assert "Geometry: Multi Polygon" in summary and "Geometry: Point" in summary
    rows = gdal(
        "ogrinfo",
        "-ro",
        "-q",
        "-sql",
        'SELECT name, child_count FROM "sites-village" WHERE child_count = 34',
        str(out),
    )
    assert "Bản thử 24" in rows
    communes = gdal(
        "ogrinfo",
        "-ro",
        "-q",
        "-sql",
        "SELECT count(*) AS n FROM \"units-2025\" WHERE level = 'commune'",
        str(out),
    )
    assert "n (Integer) = 38" in communes or "n (Integer64) = 38" in communes
