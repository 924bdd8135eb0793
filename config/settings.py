"""Parley settings: one file, the environment decides.

Every setting read here is listed with a comment in ``.env.example``.
Embedded default (nothing set): SQLite and the in-memory channel layer.
Production: ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (channels-redis).
"""

import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.secret_key import development_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Production (DEBUG=false) refuses to start without it; "
            "for development run `make run`, which writes a .env with DEBUG=true and a key."
        )
    SECRET_KEY = development_secret_key(BASE_DIR / ".demo" / "development-secret-key")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "admin_center.site.AdminCenterAdminConfig",  # django.contrib.admin with the admin center's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "admin_center",
    "routing",
    "conversations",
    "conversations.webhooks.apps.WebhooksConfig",  # the webhook outbox (conversations/webhooks/)
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.security.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

ASGI_APPLICATION = "config.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the socket handlers read while a write is in flight; the busy
    # timeout makes concurrent writers wait instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Keep the connection: otherwise every socket frame reopens it and runs the PRAGMAs again.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # A health check is one more round trip before every socket frame's database work (Channels
    # starts a "request" for each); off by default, a broken connection fails one frame and is replaced.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Measured on the 2-core development machine: the pub/sub layer relays
    # about 2.4x faster than the core layer (docs/performance.md).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env.str("PARLEY_CHANNEL_PREFIX", default="parley")},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "conversations.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/workspace/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="en")
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Security. Production values come from the environment (see .env.example).
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# A load balancer probes the health endpoints over plain HTTP on the process's own port.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# "text" (the default: Python's plain lines) or "json" (one JSON object a line, config/log_format.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text").lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be text or json.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "config.log_format.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", **({"formatter": "json"} if LOG_FORMAT == "json" else {})}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {"parley": {"level": env.str("LOG_LEVEL", default="INFO")}},
}

# Parley's limits (../PROTOCOL.md "Limits and their settings").
PARLEY_SEND_RATE = env.float("PARLEY_SEND_RATE", default=5)
PARLEY_SEND_BURST = env.int("PARLEY_SEND_BURST", default=20)
PARLEY_MAX_SOCKETS_PER_CUSTOMER = env.int("PARLEY_MAX_SOCKETS_PER_CUSTOMER", default=10)
PARLEY_HELLO_TIMEOUT = env.float("PARLEY_HELLO_TIMEOUT", default=10)
# Seconds to wait for an authentication setting's JWKS URL (docs/widget.md "Key rotation").
PARLEY_JWKS_TIMEOUT = env.float("PARLEY_JWKS_TIMEOUT", default=3)
PARLEY_PRESENCE_GRACE = env.float("PARLEY_PRESENCE_GRACE", default=30)
PARLEY_TIMER_INTERVAL = env.float("PARLEY_TIMER_INTERVAL", default=5)
PARLEY_LIVE_DISCONNECT_GRACE = env.float("PARLEY_LIVE_DISCONNECT_GRACE", default=180)
PARLEY_MAX_FRAME_BYTES = env.int("PARLEY_MAX_FRAME_BYTES", default=16 * 1024)
PARLEY_MAX_TEXT_CHARS = 4000
PARLEY_HISTORY_PAGE_MAX = env.int("PARLEY_HISTORY_PAGE_MAX", default=100)
PARLEY_SYNC_PAGE_MAX = 200
PARLEY_WELCOME_MESSAGES = 50
# The agent's welcome lists at most this many conversations of each state (active, waiting, wrap-up),
# newest first; the workspace pages through the rest with `list` frames of the same size.
PARLEY_AGENT_LIST_PAGE = env.int("PARLEY_AGENT_LIST_PAGE", default=50)
# Most pick-queue frames a workspace socket gets per this many seconds: the queue changes of that time
# are sent together, computed once per queue for all the agents of a server process.
PARLEY_QUEUE_NEWS_INTERVAL = env.float("PARLEY_QUEUE_NEWS_INTERVAL", default=1.0)
# PostgreSQL: threads (each with its own database connection) that run the sockets' database work in
# one server process. SQLite always uses one (one writer at a time).
PARLEY_DB_THREADS = env.int("PARLEY_DB_THREADS", default=2)
# The server process's garbage collector (config/asgi.py): the objects of start-up are frozen, and a
# young-generation collection waits for this many new objects (Python's default is 700; 0 keeps it).
PARLEY_GC_THRESHOLD = env.int("PARLEY_GC_THRESHOLD", default=50_000)
# Sockets per client IP address (widget and workspace); 0 disables the limit.
PARLEY_MAX_SOCKETS_PER_IP = env.int("PARLEY_MAX_SOCKETS_PER_IP", default=200)
# Demo website at /demo/ and its token endpoint: on only where the demo configuration is loaded.
PARLEY_DEMO = env.bool("PARLEY_DEMO", default=False)
# Benchmark-only echo and group-relay routes (docs/performance.md); never enable in production.
# /metrics (docs/operations.md): with a token set it needs `Authorization: Bearer <token>`; without one
# it answers loopback clients only.
PARLEY_METRICS_TOKEN = env.str("PARLEY_METRICS_TOKEN", default="")
# Several server processes: an empty directory shared by them, where prometheus-client keeps each process's
# metric values so that /metrics adds them up (read by the library from the environment).
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")
PARLEY_BENCHMARK_ROUTES = env.bool("PARLEY_BENCHMARK_ROUTES", default=False)
# The benchmark app (bench/) with those routes: installed when they are on, and in the process of its
# own commands (`manage.py chat_benchmark` / `routing_benchmark`), whose servers run with the routes on.
if PARLEY_BENCHMARK_ROUTES or sys.argv[1:2] in (["chat_benchmark"], ["routing_benchmark"], ["supervisor_benchmark"]):
    INSTALLED_APPS.append("bench")
# Run the timer loop inside each server process (tests of single frames turn it off).
PARLEY_TIMERS_ENABLED = env.bool("PARLEY_TIMERS_ENABLED", default=True)
# Closed conversations are deleted this many days after they closed (timer sweep); 0 keeps them forever.
PARLEY_RETENTION_DAYS = env.int("PARLEY_RETENTION_DAYS", default=0)
# --- Hardening (issue 18, docs/security.md "Limits") ---
# Frames of any other kind than `send` (sync, history, typing, ...) per second per socket, and the bucket.
PARLEY_FRAME_RATE = env.float("PARLEY_FRAME_RATE", default=10)
PARLEY_FRAME_BURST = env.int("PARLEY_FRAME_BURST", default=40)
# Workspace and supervisor sockets per client IP address, counted apart from widget sockets; 0 = no limit.
PARLEY_MAX_AGENT_SOCKETS_PER_IP = env.int("PARLEY_MAX_AGENT_SOCKETS_PER_IP", default=50)
# New conversations per hour started from one IP address, and per widget (anonymous abuse); 0 = no limit.
PARLEY_NEW_CONVERSATIONS_PER_IP_HOUR = env.int("PARLEY_NEW_CONVERSATIONS_PER_IP_HOUR", default=60)
PARLEY_NEW_CONVERSATIONS_PER_WIDGET_HOUR = env.int("PARLEY_NEW_CONVERSATIONS_PER_WIDGET_HOUR", default=1000)
# Anonymous visitors without any conversation are deleted this many seconds after they were last seen.
PARLEY_VISITOR_IDLE_SECONDS = env.int("PARLEY_VISITOR_IDLE_SECONDS", default=24 * 3600)
# The benchmark routes (bench/) answer only loopback clients that send `Authorization: Bearer <token>`;
# with no token set they answer nobody.
PARLEY_BENCHMARK_TOKEN = env.str("PARLEY_BENCHMARK_TOKEN", default="")
# Where `setup_demo` keeps the demo website's RSA key pair (generated once; admin_center/demo_keys.py).
PARLEY_DEMO_KEY_DIR = Path(env.str("PARLEY_DEMO_KEY_DIR", default=str(BASE_DIR / ".demo")))

# --- Supervisors (issue 16): the live dashboard's statistics ---------------------------------------
# Least seconds between two `stats` frames (each process computes one round for all its supervisors).
PARLEY_SUPERVISOR_STATS_INTERVAL = env.float("PARLEY_SUPERVISOR_STATS_INTERVAL", default=1.0)
# Seconds after which a round is computed even without news of a change (admin edits, lost news).
PARLEY_SUPERVISOR_REFRESH = env.float("PARLEY_SUPERVISOR_REFRESH", default=15.0)

# --- The customer's journey (issue 15): files, email to an absent customer ---------------------------
# Uploaded files go through Django's storage API: the file system under MEDIA_ROOT by default; for
# S3-compatible storage in production see docs/admin-guide.md (django-storages).
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"  # never served as such: files go out through /files/ with an access check
# Largest upload, in bytes (larger: HTTP 413).
PARLEY_MAX_UPLOAD_BYTES = env.int("PARLEY_MAX_UPLOAD_BYTES", default=5 * 1024 * 1024)
# Seconds an upload may stay unattached to a message before the timers delete it.
PARLEY_UPLOAD_TTL = env.int("PARLEY_UPLOAD_TTL", default=24 * 3600)
# Seconds an agent's message stays unseen before the absent customer is emailed; also the least time
# between two emails about one conversation.
PARLEY_EMAIL_DELAY = env.int("PARLEY_EMAIL_DELAY", default=300)
# Where the server is reachable from the customers' mail programs (links in emails).
PARLEY_PUBLIC_URL = env.str("PARLEY_PUBLIC_URL", default="http://127.0.0.1:8000")
# The mail server, e.g. smtp://mail.internal:25 or smtp+tls://user:password@mail.example.com:587;
# unset: emails are printed on the console.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Parley <parley@localhost>")

# --- REST API (/api/v1/, docs/api.md) ---------------------------------------------------------------
# Requests per key (signed-in user) and per address without a key, counted in each process's cache.
PARLEY_API_RATE = env.str("PARLEY_API_RATE", default="300/minute")
PARLEY_API_ANON_RATE = env.str("PARLEY_API_ANON_RATE", default="30/minute")
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"user": PARLEY_API_RATE, "anon": PARLEY_API_ANON_RATE},
    # Proxies in front of the server whose X-Forwarded-For the rate limit trusts for the client address.
    "NUM_PROXIES": env.int("PARLEY_API_NUM_PROXIES", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley REST API",
    "DESCRIPTION": "Conversations, customers, agent messages and reports (docs/api.md). "
    "Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_AUTHENTICATION": [],  # the schema is public and holds no data
    "SCHEMA_PATH_PREFIX": "/api/v1/",
}

# --- Webhooks (docs/webhooks.md) ----------------------------------------------------------------------
# true allows http:// and loopback or private-network receivers: development and tests only.
PARLEY_WEBHOOK_ALLOW_PRIVATE = env.bool("PARLEY_WEBHOOK_ALLOW_PRIVATE", default=False)
# The first retry after a failed delivery comes within this many seconds; later ones back off (doubling).
PARLEY_WEBHOOK_RETRY_BASE = env.float("PARLEY_WEBHOOK_RETRY_BASE", default=30)
# How long a failing delivery is retried before it is marked failed (seconds).
PARLEY_WEBHOOK_RETRY_FOR = env.int("PARLEY_WEBHOOK_RETRY_FOR", default=24 * 3600)
# true: each server process delivers from a child process of its own (manage.py deliver_webhooks, started and
# ended with it), so that posting webhooks never takes the chat's interpreter; false: on its own event loop.
PARLEY_WEBHOOK_PROCESS = env.bool("PARLEY_WEBHOOK_PROCESS", default=True)
# Deliveries in flight at once per server process (each an HTTP call in a delivery thread).
PARLEY_WEBHOOK_CONCURRENCY = env.int("PARLEY_WEBHOOK_CONCURRENCY", default=4)
# Seconds a process holds the events it is delivering (at least 11: longer than the 10 s time-out); events of a
# process that died mid-delivery go out again after this.
PARLEY_WEBHOOK_LEASE_SECONDS = env.float("PARLEY_WEBHOOK_LEASE_SECONDS", default=60)
# How often each process looks for due retries and for events other processes left behind.
PARLEY_WEBHOOK_POLL_SECONDS = env.float("PARLEY_WEBHOOK_POLL_SECONDS", default=2)
# How long a process keeps the list of subscribed endpoints (other processes see endpoint edits this late).
PARLEY_WEBHOOK_CACHE_SECONDS = env.float("PARLEY_WEBHOOK_CACHE_SECONDS", default=10)
# Delivered and failed events stay in the delivery log this many days (0: forever).
PARLEY_WEBHOOK_LOG_DAYS = env.int("PARLEY_WEBHOOK_LOG_DAYS", default=30)
