"""ChildSafe Map settings: everything comes from environment variables.

Development defaults apply only with DJANGO_DEBUG=1 (the Makefile's run and test
commands set it). Without it the settings are production settings: they refuse
to start without DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS and pass
`manage.py check --deploy` without warnings.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: expected 1/0, true/false, yes/no or on/off")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or os.environ.get("SECRET_KEY") or ""
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "development-only-key-not-for-production-use-childsafe-map-0123456789"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Production refuses to start without it "
            "(set DJANGO_DEBUG=1 for development defaults)."
        )

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS is not set (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "core",
    "places",
    "inspections",
    "incidents",
    "maps",
    "planning",
    "reports",
    "ogc",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.ApiJsonErrorsMiddleware",
    "core.middleware.RequestSizeLimitMiddleware",
    "core.middleware.RejectNulMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
]

if not DEBUG:
    # Static files in production come from WhiteNoise; runserver serves them in development.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "childsafe.urls"
WSGI_APPLICATION = "childsafe.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
]


def _default_database() -> dict:
    """The database used when DATABASE_URL is not set: PostgreSQL on this machine.

    The local socket when there is one (peer/trust auth as the current OS user, no
    password), else 127.0.0.1:5432. The bootstrap creates the role and database.
    """
    socket_dir = os.environ.get("PGHOST") or "/var/run/postgresql"
    host = (
        socket_dir if Path(socket_dir).is_dir() and any(Path(socket_dir).glob(".s.PGSQL.*")) else "127.0.0.1"
    )
    return {
        "NAME": os.environ.get("DB_NAME", "childsafe"),
        "USER": os.environ.get("PGUSER", ""),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "HOST": host,
        "PORT": os.environ.get("PGPORT", "5432" if host == "127.0.0.1" else ""),
    }


if os.environ.get("DATABASE_URL"):
    _db = dj_database_url.parse(os.environ["DATABASE_URL"])
else:
    _db = _default_database()
_db["ENGINE"] = "django.contrib.gis.db.backends.postgis"
_db["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE", "60"))
_db["CONN_HEALTH_CHECKS"] = True
_options = {"connect_timeout": int(os.environ.get("DB_CONNECT_TIMEOUT", "5"))}
# PostgreSQL's JIT costs 0.2-0.5 s on large spatial queries here and gains nothing
# for the short aggregations this service runs (see bench/README.md).
if env_bool("DB_JIT_OFF", True):
    _options["options"] = "-c jit=off"
_db["OPTIONS"] = {**_options, **_db.get("OPTIONS", {})}
_db["TEST"] = {"NAME": os.environ.get("DB_TEST_NAME", f"test_{_db['NAME']}")}
DATABASES = {"default": _db}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Vietnamese first, English second.
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_TZ = True

STATIC_URL = "static/"
# A cache shared by every worker and process (vector tiles, collection extents, rendered PDFs):
# REDIS_URL, e.g. redis://127.0.0.1:6379/0. Without it each process keeps its own in memory.
# Either way the cache is best effort (core.cache): an unreachable Redis is a miss, never an error.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "childsafe"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("DJANGO_STATIC_COMPRESS", True)
        # Hashed names without the gzip/brotli copies (collectstatic in seconds, not a minute).
        else "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
    },
}

# Source maps are only fetched by developers' tools: compressing them (gzip and brotli, several
# MB each for the API docs' bundles) doubled collectstatic's time.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
    *[
        "jpg",
        "jpeg",
        "png",
        "gif",
        "webp",
        "zip",
        "gz",
        "tgz",
        "bz2",
        "tbz",
        "xz",
        "br",
        "swf",
        "flv",
        "woff",
        "woff2",
        "3gp",
        "3gpp",
        "asf",
        "avi",
        "m4v",
        "mov",
        "mp4",
    ],
    *["mpeg", "mpg", "webm", "wmv", "map"],
)

# One storage SRID for all geometry; metric work uses geography or UTM 48N.
STORAGE_SRID = 4326
METRIC_SRID = 32648

DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(10 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Content-Security-Policy of every response (core.middleware.SecurityHeadersMiddleware): our own
# origin only; a base-map tile server, if configured, must be named in CSP_IMG_SRC_EXTRA
# (space-separated origins, e.g. "https://tiles.example.vn").
_csp_img = " ".join(["'self'", "data:", "blob:", *os.environ.get("CSP_IMG_SRC_EXTRA", "").split()])
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {_csp_img}",
        "connect-src 'self'",
        "font-src 'self' data:",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = "geolocation=(self), camera=(self), microphone=(), payment=(), usb=()"

# Whole multipart requests (site imports, photos); larger bodies are refused with 413 by
# core.middleware.RequestSizeLimitMiddleware before anything reads them.
MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", str(100 * 1024 * 1024)))
# One site import file (places.importer): rows, and bytes of a GeoJSON/CSV/GeoPackage file or a
# shapefile's .shp; both keep one import within a worker's memory (tests/test_hostile_memory.py).
IMPORT_MAX_ROWS = int(os.environ.get("IMPORT_MAX_ROWS", "50000"))
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(20 * 1024 * 1024)))

# Log-in attempts (login page and HTTP Basic): failures allowed per user name and per client
# address within the window, counted in PostgreSQL so that all web workers share them.
LOGIN_THROTTLE_PER_USER = int(os.environ.get("LOGIN_THROTTLE_PER_USER", "10"))
LOGIN_THROTTLE_PER_ADDRESS = int(os.environ.get("LOGIN_THROTTLE_PER_ADDRESS", "50"))
LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("LOGIN_THROTTLE_WINDOW_SECONDS", "900"))

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "core.auth.ThrottledBasicAuthentication",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON nested too deeply for Python is a 400 (DRF's own parser let the RecursionError through).
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.NestingSafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # `format` is a real query parameter of ours (export format), not a renderer switch.
    "URL_FORMAT_OVERRIDE": None,
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StrictPageNumberPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ChildSafe Map API",
    "DESCRIPTION": "Child accident prevention (Directive 23/CT-TTg): sites, inspections, incidents, maps.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: offices may have no internet access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "ogc.openapi.add_tile_paths",
        "core.openapi.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "SiteStatusEnum": "places.models.SiteStatus",
        "AssignmentStatusEnum": "inspections.models.AssignmentStatus",
        "ActionStatusEnum": "inspections.models.ActionStatus",
        "IncidentKindEnum": "incidents.models.IncidentKind",
        "SiteKindEnum": "places.kinds.KIND_CHOICES",
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:home"

# Production security (check --deploy clean). Behind a TLS-terminating proxy set
# DJANGO_SECURE_PROXY_SSL_HEADER=1 so Django trusts X-Forwarded-Proto.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}

if os.environ.get("GDAL_LIBRARY_PATH"):
    GDAL_LIBRARY_PATH = os.environ["GDAL_LIBRARY_PATH"]
if os.environ.get("GEOS_LIBRARY_PATH"):
    GEOS_LIBRARY_PATH = os.environ["GEOS_LIBRARY_PATH"]

# gis.W001 warns that GDAL < 3.9 cannot block file/network access while parsing a
# spatial reference given as free "user input" (OSRSetFromUserInput). This project
# never passes outside text to SpatialReference(): uploaded files are reprojected
# from an EPSG code we parse ourselves or from the file's own .prj read by OGR's
# WKT importer, so the check is silenced on purpose (Debian 12 ships GDAL 3.6).
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
