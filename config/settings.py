"""Settings, read from the environment (see config/env.py for the typed readers).

Zero-install default: SQLite file in var/ and an embedded (filesystem) Celery broker — nothing to
start. Production: DATABASE_URL=postgres://…, CELERY_BROKER_URL=redis://… (docker/compose.yml).
"""
from __future__ import annotations

from pathlib import Path

from .env import env_bool, env_database, env_int, env_list, env_rate, env_secret_key, env_str, is_loopback_address

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TRACER_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret_key("SECRET_KEY", VAR_DIR / "secret_key", debug=DEBUG)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Local mode: a person trying the demo on this machine without signing up is treated as the local user
# created by `make run` (frontend/middleware.py). Off by default; never on in the docker deployment; and
# only when the server itself listens on loopback: scripts/run.sh passes its bind address in
# TRACER_BIND_ADDRESS, and any other address (0.0.0.0, a LAN IP, none given) turns local mode off.
TRACER_BIND_ADDRESS = env_str("TRACER_BIND_ADDRESS", "")
TRACER_LOCAL_MODE = env_bool("TRACER_LOCAL_MODE", False) and is_loopback_address(TRACER_BIND_ADDRESS)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "topology",
    "tracer",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.security_headers.SecurityHeadersMiddleware",  # CSP on every response; no-store on /api/ and /t/
    "config.chunked.ChunkedBodyMiddleware",  # before anything reads the body (CSRF reads form posts)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "frontend.middleware.LocalModeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {"default": env_database("DATABASE_URL", str(VAR_DIR / "tracer.sqlite3"))}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The test database is a file, not memory, so that the real Celery worker the worker tests start
    # (tests/integration/workers.py) shares it; one per test process so parallel runs never collide.
    import os as _os

    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{_os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads: manifests up to TRACER_UPLOAD_LIMIT bytes (default 50 MB); bigger ones run as a job.
TRACER_UPLOAD_LIMIT = env_int("TRACER_UPLOAD_LIMIT", 50 * 1024 * 1024, minimum=1024)
TRACER_ASYNC_IMPORT_THRESHOLD = env_int("TRACER_ASYNC_IMPORT_THRESHOLD", 5 * 1024 * 1024, minimum=0)
DATA_UPLOAD_MAX_MEMORY_SIZE = TRACER_UPLOAD_LIMIT + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# JSON request bodies (traces, jobs, intents, clusters): read up to this many bytes, 413 past it
# (tracer.api.parsers); list endpoints serve at most TRACER_MAX_PAGE_SIZE items a page (tracer.api.pagination).
TRACER_JSON_BODY_LIMIT = env_int("TRACER_JSON_BODY_LIMIT", 10 * 1024 * 1024, minimum=1024)
TRACER_MAX_PAGE_SIZE = env_int("TRACER_MAX_PAGE_SIZE", 5000, minimum=10)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated script gets 401 + `WWW-Authenticate: Token`, not a bare 403.
        "tracer.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "tracer.api.schema.TracerAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "tracer.api.pagination.CappedLimitOffsetPagination",
    # JSON through the project's one safe loader (depth, size, duplicate keys): never a 500 for a body.
    "DEFAULT_PARSER_CLASSES": ["tracer.api.parsers.SafeJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "tracer.api.errors.exception_handler",
    # Scoped rates (views set throttle_scope; tracer.api.throttling counts POSTs per user): 429 past them.
    "DEFAULT_THROTTLE_RATES": {"auth": env_rate("TRACER_THROTTLE_AUTH", "20/min"),
                               "jobs": env_rate("TRACER_THROTTLE_JOBS", "30/min")},
}

# API tokens (tracer.models.ApiToken): lifetime unless the request says otherwise, and how many per user.
TRACER_TOKEN_DAYS = env_int("TRACER_TOKEN_DAYS", 365, minimum=1)
# Warm the compiled models of the latest snapshots when the web server starts, and each new snapshot right after
# its import (topology.warm), so the first view of a cluster does not compile it. `make run` and the container's
# `web` turn it on; off by default so tests and management commands never start background threads.
TRACER_WARM_MODELS = env_bool("TRACER_WARM_MODELS", False)
TRACER_TOKENS_PER_USER = env_int("TRACER_TOKENS_PER_USER", 20, minimum=1)
# Password brake (tracer.api.throttling): this many failed attempts per address or username within the
# window, then 429 until the oldest failure leaves the window.
TRACER_AUTH_FAILURES = env_int("TRACER_AUTH_FAILURES", 10, minimum=1)
TRACER_AUTH_WINDOW = env_int("TRACER_AUTH_WINDOW", 300, minimum=1)
# Throttle and brake counters: per process by default; CACHE_URL=redis://… shares them between processes.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if env_str("CACHE_URL", "").startswith(("redis://", "rediss://")):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("CACHE_URL")}}
SPECTACULAR_SETTINGS = {
    "TITLE": "Kubernetes traffic tracer API",
    "DESCRIPTION": "Import cluster state, trace packets hop by hop, share traces pinned to snapshots.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed sidecar package: there is no CDN to load it from.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: Redis when CELERY_BROKER_URL is set, else kombu's filesystem transport under var/.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_EMBEDDED_BROKER_DIR = VAR_DIR / "broker"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# A running job whose heartbeat (a thread in the worker: tracer/jobs/heartbeat.py) is older than this is
# requeued once, then failed: a killed worker's job is picked up again within a minute (45 s + one reaper
# round of 15 s). Not lower by default: on SQLite a long import transaction blocks the heartbeat's write.
TRACER_JOB_STALE_SECONDS = env_int("TRACER_JOB_STALE_SECONDS", 45, minimum=10)
TRACER_JOB_TIME_LIMIT = env_int("TRACER_JOB_TIME_LIMIT", 3600, minimum=10)
# Per-user quotas (tracer/jobs/quotas.py): jobs queued or running at once (429 past it), and bytes of
# manifests imported into the clusters one user owns (413 past it).
TRACER_MAX_ACTIVE_JOBS = env_int("TRACER_MAX_ACTIVE_JOBS", 8, minimum=1)
TRACER_USER_STORAGE_LIMIT = env_int("TRACER_USER_STORAGE_LIMIT", 2 * 1024**3, minimum=1024)
# Address-space budget of every worker process (MiB; 0 = none): a job past it gets MemoryError and fails with
# a reason instead of growing until the kernel kills the worker. A threshold-size import peaks at ~1.1 GiB.
TRACER_WORKER_MEMORY_MB = env_int("TRACER_WORKER_MEMORY_MB", 6144, minimum=0)

# Production hardening (docker sets DEBUG=0 and TRACER_SECURE=1).
if env_bool("TRACER_SECURE", False):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
