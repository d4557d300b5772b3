#!/usr/bin/env python
"""Django's command-line utility for ChildSafe Map.

In a developer's checkout with no configuration at all (neither DJANGO_DEBUG nor a
secret key in the environment) commands run with the development settings and say
so; anything with a secret key, or DJANGO_DEBUG=0, gets the production settings.
The web server (childsafe.wsgi) never falls back like this.
"""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "childsafe.settings")
    configured = {"DJANGO_DEBUG", "DJANGO_SECRET_KEY", "SECRET_KEY"} & set(os.environ)
    if not configured:
        os.environ["DJANGO_DEBUG"] = "1"
        print("manage.py: no DJANGO_DEBUG or secret key set: using development settings", file=sys.stderr)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
