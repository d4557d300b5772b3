"""Small service tables of the core app."""

from django.db import models


class LoginAttempt(models.Model):
    """Failed log-ins counted per key ("user:<name>" or "ip:<address>") within a time window.

    One row per key, updated atomically by core.throttle, so every web worker shares the count.
    """

    key = models.CharField(max_length=200, unique=True)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures}"
