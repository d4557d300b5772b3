"""The shared cache (REDIS_URL): tiles cached once are hits for every process, and a Redis that
cannot be reached costs the cache, never a request (core.cache)."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[1]
REDIS = "redis://127.0.0.1:6379/15"
TILE = "/tiles/sites/8/201/111.pbf"


def redis_cache(prefix: str, location: str = REDIS) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.fixture
def prefix():
    name = f"cs-test-{uuid.uuid4().hex[:8]}"
    yield name
    server = redis.Redis.from_url(REDIS)
    for key in server.scan_iter(f"{name}:*"):
        server.delete(key)


def test_tiles_are_shared_between_processes(playgrounds, client, settings, prefix):
    settings.CACHES = redis_cache(prefix)
    settings.OGC_TILE_CACHE_SECONDS = 60
    first = client.get(TILE)
    assert first.status_code == 200 and first["X-Tile-Cache"] == "miss"
    again = client.get(TILE)
    assert again["X-Tile-Cache"] == "hit" and again.content == first.content
    keys = [k.decode() for k in redis.Redis.from_url(REDIS).scan_iter(f"{prefix}:*")]
    tile_keys = [k for k in keys if ":ogc:tile:" in k]
    assert len(tile_keys) == 1, keys
    # Another process configured only through the environment reads the same entry.
    key = tile_keys[0].split(":", 2)[2]  # KEY_PREFIX:version:key
    code = (
        "import django; django.setup(); from django.core.cache import cache; "
        f"v = cache.get({key!r}); print(len(v) if v is not None else 'none')"
    )
    env = {
        **os.environ,
        "REDIS_URL": REDIS,
        "CACHE_KEY_PREFIX": prefix,
        "DJANGO_SETTINGS_MODULE": "childsafe.settings",
        "DJANGO_DEBUG": "1",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == str(len(first.content))


def test_an_unreachable_cache_is_a_miss_not_an_error(playgrounds, client, settings, prefix, caplog):
    settings.CACHES = redis_cache(prefix, "redis://127.0.0.1:1/0")  # nothing listens there
    settings.OGC_TILE_CACHE_SECONDS = 60
    answers = [client.get(TILE) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a["X-Tile-Cache"] for a in answers] == ["miss", "miss"]
    assert answers[0].content == answers[1].content and len(answers[0].content) > 0
    assert client.get("/ogcapi/collections").status_code == 200
    assert "cache unreachable" in caplog.text
