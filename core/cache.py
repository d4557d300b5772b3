"""The shared cache, best effort: a cache that cannot be reached never fails a request.

With REDIS_URL set (settings) every worker shares one Redis cache; without it each process
keeps its own in memory. What is cached here (tiles, collection extents, rendered PDFs) can
always be computed again, so an unreachable or failing cache is logged and treated as a miss.
"""

import logging

from django.core.cache import cache

log = logging.getLogger(__name__)


def cache_get(key: str, default=None):
    try:
        return cache.get(key, default)
    except Exception as exc:  # noqa: BLE001 - any backend error (e.g. Redis down) is a miss
        log.warning("cache unreachable on get (%s): %s", type(exc).__name__, exc)
        return default


def cache_set(key: str, value, timeout: int) -> bool:
    try:
        cache.set(key, value, timeout)
    except Exception as exc:  # noqa: BLE001 - not caching is always correct
        log.warning("cache unreachable on set (%s): %s", type(exc).__name__, exc)
        return False
    return True
