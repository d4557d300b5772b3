"""Benchmark: the map page of a district with the demo data (`make run`: generate_demo,
generate_inspection_demo, generate_incident_demo) — HTML size and build time.

Measured through Django's test client (the whole request: parameters, indicator SQL,
classification, GeoJSON, folium rendering, template), for the province's districts and for
each district's communes, as the coordinator (everything, incident layer link) and as the
public (suppressed), alternating. Compared side by side with the same map whose site layers
are embedded in the HTML instead of loaded by bbox from the API, to show what the API loading
saves. Targets: HTML ≤ 2 MB, built in ≤ 1 s.

    DJANGO_DEBUG=1 .venv/bin/python bench/maps_page.py      # against the configured database

Writes bench/results/maps_page.md.
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "childsafe.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

import json  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from maps.builders import risk_map  # noqa: E402
from maps.layers import choropleth, upper_boundaries  # noqa: E402
from places.geojson import site_features_json  # noqa: E402
from places.models import AdminUnit, Site  # noqa: E402
from places.selectors import site_list  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
OUT = ROOT / "bench" / "results" / "maps_page.md"


def timed(fn):
    times, result = [], None
    for _ in range(ROUNDS):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times), result


def main() -> int:
    if not Site.objects.exists():
        print(
            "No sites: run `make run` (or generate_demo, generate_inspection_demo,"
            " generate_incident_demo) first."
        )
        return 1
    setup_test_environment()
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    coordinator = get_user_model().objects.filter(profile__role="coordinator").first()
    public = Client()
    staff = Client()
    if coordinator is not None:
        staff.force_login(coordinator)
    districts = list(AdminUnit.objects.filter(level="district").order_by("code").values_list("code", "name"))
    rows = []
    pages = [("province: 8 districts", {"indicator": "risk", "level": "district"})] + [
        (f"district {code} {name}: communes", {"indicator": "risk", "level": "commune", "area": code})
        for code, name in districts
    ]
    for label, params in pages:
        for who, client in (("coordinator", staff), ("public", public)):
            client.get("/maps/", params)  # warm the connection and the caches of this page
            med, worst, response = timed(lambda c=client, p=params: c.get("/maps/", p))
            assert response.status_code == 200, response.status_code
            rows.append((label, who, len(response.content), med, worst))
            print(
                f"{label:<45} {who:<12} {len(response.content) / 1e6:6.2f} MB"
                f" {med:6.3f} s (worst {worst:.3f})"
            )

    # The same district map with the site layers embedded instead of loaded by bbox.
    code = districts[0][0]
    ch = choropleth("risk", level="commune", area=code, user=coordinator)
    area = AdminUnit.objects.filter(code=code, level="district").first()
    ids = list(site_list(user=coordinator).filter(geom__intersects=area.geom).values_list("id", flat=True))
    sites = {"type": "FeatureCollection", "features": json.loads(site_features_json(ids))}

    def embedded():
        return (
            risk_map(ch, boundaries=upper_boundaries("commune", ch.structure), sites=sites)
            .get_root()
            .render()
        )

    def by_api():
        return (
            risk_map(
                ch, boundaries=upper_boundaries("commune", ch.structure), api={"sites": "/api/v1/sites/"}
            )
            .get_root()
            .render()
        )

    emb_t, _w, emb_html = timed(embedded)
    api_t, _w, api_html = timed(by_api)
    worst_size = max(r[2] for r in rows)
    worst_time = max(r[3] for r in rows)
    lines = [
        "# Map page benchmark (/maps/, risk index)",
        "",
        f"Demo data: {Site.objects.count():,} sites. Whole request through the test client,"
        f" median of {ROUNDS} (after one warm-up). Load average {os.getloadavg()[0]:.1f}"
        " on 2 cores shared with other work.",
        "",
        "| page | reader | HTML | built in (median) | worst |",
        "|---|---|---|---|---|",
        *[
            f"| {label} | {who} | {size / 1e6:.2f} MB | {med:.3f} s | {worst:.3f} s |"
            for label, who, size, med, worst in rows
        ],
        "",
        f"Largest page {worst_size / 1e6:.2f} MB (target ≤ 2 MB);"
        f" slowest median {worst_time:.3f} s (target ≤ 1 s).",
        "",
        f"Site layers of district {code} ({len(ids):,} sites) embedded in the HTML:"
        f" {len(emb_html) / 1e6:.2f} MB, folium render {emb_t:.3f} s; drawn from vector tiles"
        f" instead: {len(api_html) / 1e6:.2f} MB,"
        f" {api_t:.3f} s ({len(emb_html) / max(1, len(api_html)):.1f}× smaller).",
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
