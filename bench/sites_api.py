"""Benchmark: /api/v1/sites/ with 10,000 features, GeoJSON built in PostGIS versus
a plain drf-gis GeoFeatureModelSerializer list of the same rows.

Run with `make bench` (or `DJANGO_DEBUG=1 .venv/bin/python bench/sites_api.py`).
Both paths run in one process, alternately, over the same rows, so the ratio is
what counts on a shared, noisy machine. Data: the demo generator at --scale 10
(about 10^4 sites) in the development database.
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

from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.test import Client  # noqa: E402
from rest_framework import generics  # noqa: E402
from rest_framework.test import APIRequestFactory  # noqa: E402

from places.models import AdminUnit, Site  # noqa: E402
from places.serializers import SiteSerializer  # noqa: E402

N = 10_000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))


class PlainSerializerList(generics.ListAPIView):
    """What drf-gis gives out of the box: one Python object per row."""

    serializer_class = SiteSerializer
    pagination_class = None
    authentication_classes = []
    permission_classes = []

    def get_queryset(self):
        return Site.objects.select_related("commune").order_by("id")[:N]


def ensure_data() -> None:
    from places.demo import demo_generate
    from places.reference import load_lai_chau

    if AdminUnit.objects.count() != 153:
        load_lai_chau()
    if Site.objects.count() < N:
        demo_generate(scale=10)


def main() -> int:
    ensure_data()
    client = Client()
    factory = APIRequestFactory()
    plain = PlainSerializerList.as_view()

    def ours() -> int:
        response = client.get("/api/v1/sites/", {"page_size": N})
        assert response.status_code == 200
        return len(response.content)

    def baseline() -> int:
        request = factory.get("/plain/")
        request.user = AnonymousUser()
        response = plain(request)
        response.render()
        return len(response.content)

    ours(), baseline()  # warm connections and caches
    times = {"postgis": [], "serializer": []}
    sizes = {}
    for _ in range(ROUNDS):
        for name, fn in (("postgis", ours), ("serializer", baseline)):
            start = time.perf_counter()
            sizes[name] = fn()
            times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["serializer"] / med["postgis"]
    lines = [
        f"# sites API, {N} features, {ROUNDS} alternating rounds ({time.strftime('%Y-%m-%d %H:%M')})",
        "",
        "| path | median s | min s | max s | bytes |",
        "|---|---|---|---|---|",
    ]
    for name in ("postgis", "serializer"):
        v = times[name]
        lines.append(f"| {name} | {med[name]:.3f} | {min(v):.3f} | {max(v):.3f} | {sizes[name]} |")
    lines += ["", f"ratio serializer / postgis (median): **{ratio:.1f}×** (target: ≥ 5×, under 1 s)"]
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "bench/results/sites_api.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
