"""WSGI entry point (gunicorn childsafe.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "childsafe.settings")

application = get_wsgi_application()
