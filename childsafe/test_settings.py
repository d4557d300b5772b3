"""Settings for the pytest suite: the development defaults, against real PostGIS.

pytest-django imports settings before any conftest runs, so the switch to
development defaults has to happen here rather than in a fixture.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = BASE_DIR / ".test-media"  # noqa: F405
