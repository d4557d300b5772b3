"""Rate limiting of log-in attempts, shared by the login page and HTTP Basic authentication.

Failures are counted per user name and per client address in PostgreSQL (core.LoginAttempt),
so the limit holds across every web worker. A key over its limit is refused until its window
ends, even with the right password: guessing must not be able to continue in the background.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone


@dataclass(frozen=True)
class Limit:
    failures: int
    window: timedelta


def _limits() -> dict[str, Limit]:
    window = timedelta(seconds=getattr(settings, "LOGIN_THROTTLE_WINDOW_SECONDS", 900))
    return {
        "user": Limit(getattr(settings, "LOGIN_THROTTLE_PER_USER", 10), window),
        "ip": Limit(getattr(settings, "LOGIN_THROTTLE_PER_ADDRESS", 50), window),
    }


def client_address(request) -> str:
    # REMOTE_ADDR only: a forwarded header can be forged unless a trusted proxy sets it.
    return request.META.get("REMOTE_ADDR") or "unknown"


def _user_key(username: str) -> str:
    return "user:" + username.replace("\x00", "").strip().lower()[:150]


def _keys(request, username: str | None) -> list[tuple[str, str]]:
    keys = [("ip", f"ip:{client_address(request)}")]
    if username:
        keys.append(("user", _user_key(username)))
    return keys


def blocked_for(request, username: str | None) -> int:
    """Seconds until the caller may try again (0 when not blocked)."""
    limits = _limits()
    now = timezone.now()
    wait = 0
    with connection.cursor() as cur:
        for kind, key in _keys(request, username):
            cur.execute("SELECT window_start, failures FROM core_loginattempt WHERE key = %s", [key])
            row = cur.fetchone()
            if not row:
                continue
            start, failures = row
            ends = start + limits[kind].window
            if failures >= limits[kind].failures and ends > now:
                wait = max(wait, int((ends - now).total_seconds()) + 1)
    return wait


def record_failure(request, username: str | None) -> None:
    limits = _limits()
    with connection.cursor() as cur:
        for kind, key in _keys(request, username):
            # One statement per key: concurrent failures never lose a count.
            cur.execute(
                """
                INSERT INTO core_loginattempt (key, window_start, failures) VALUES (%s, now(), 1)
                ON CONFLICT (key) DO UPDATE SET
                  failures = CASE WHEN core_loginattempt.window_start < now() - %s
                                  THEN 1 ELSE core_loginattempt.failures + 1 END,
                  window_start = CASE WHEN core_loginattempt.window_start < now() - %s
                                      THEN now() ELSE core_loginattempt.window_start END
                """,
                [key, limits[kind].window, limits[kind].window],
            )


def record_success(request, username: str | None) -> None:
    """A right password clears the user's count (the address keeps its own)."""
    if username:
        with connection.cursor() as cur:
            cur.execute("DELETE FROM core_loginattempt WHERE key = %s", [_user_key(username)])
