"""Settings shared by every environment, read from environment variables.

Every variable is listed in the README's "Configuration" section; keep the two in step.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("SKEIN_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    """Read a boolean variable: 1/true/yes/on are true, anything else false."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_choice(name: str, default: str) -> str:
    """Read an on/off/auto variable: 1/true/yes/on -> "on", 0/false/no/off -> "off",
    anything else (unset included) -> `default`."""
    value = os.environ.get(name, "").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return "on"
    if value in {"0", "false", "no", "off"}:
        return "off"
    return default


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "annotation",
    "quality",
    "tasks",
    "labeling_ui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "annotation.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ]
        },
    }
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'skein.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock up front, so two labelers can never
    # read the same free slot and both claim it; WAL lets readers go on meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that needs no round trip (config/postgresql).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        # Parameters bound by the server and statements prepared after their 5th run on a
        # connection: PostgreSQL then skips parsing and planning the labeling statements,
        # ~40% of its CPU per annotation (bench/README.md). Off behind a pooler that
        # cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
        DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Usernames normalised (NFKC) at login too, and every attempt counted by the rate limit.
AUTHENTICATION_BACKENDS = ["annotation.backends.LoginBackend"]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Upload limits: a request body over these is refused with 413 before it is read.
SKEIN_MAX_UPLOAD_BYTES = int(os.environ.get("SKEIN_MAX_UPLOAD_BYTES", 200 * 1024 * 1024))
SKEIN_MAX_IMPORT_ROWS = int(os.environ.get("SKEIN_MAX_IMPORT_ROWS", 2_000_000))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The first handler counts the file parts and stops reading past SKEIN_MAX_UPLOAD_BYTES.
FILE_UPLOAD_HANDLERS = [
    "annotation.uploads.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Uploaded images (annotation/services/images.py): per file, per upload (a zip's members
# together, and how many), and pixels per image, read from the header before decoding.
SKEIN_IMAGE_MAX_BYTES = int(os.environ.get("SKEIN_IMAGE_MAX_BYTES", 20 * 1024 * 1024))
SKEIN_IMAGE_ZIP_MAX_BYTES = int(os.environ.get("SKEIN_IMAGE_ZIP_MAX_BYTES", 1024**3))
SKEIN_IMAGE_MAX_FILES = int(os.environ.get("SKEIN_IMAGE_MAX_FILES", 20_000))
SKEIN_IMAGE_MAX_PIXELS = int(os.environ.get("SKEIN_IMAGE_MAX_PIXELS", 40_000_000))
# Hosts whose image URLs (an item's `image` given as an http(s) URL) the worker may download
# to learn from their pixels, e.g. "images.example.org,cdn.example.net". Empty (the default):
# URL images are only shown, never fetched by the server.
SKEIN_IMAGE_FETCH_HOSTS = [h.lower() for h in env_list("SKEIN_IMAGE_FETCH_HOSTS")]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotation.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Size-capped, depth-safe, and refusing text neither database can store (annotation/text.py).
    "DEFAULT_PARSER_CLASSES": [
        "annotation.api.parsers.JSONParser",
        "annotation.api.parsers.FormParser",
        "annotation.api.parsers.MultiPartParser",
    ],
    # No DEFAULT_PAGINATION_CLASS/PAGE_SIZE: every view is an APIView and pages through
    # annotation/api/pagination.py.
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotation.api.errors.exception_handler",
    # `format` is the export format (jsonl, csv, json), not a renderer switch.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Skein API",
    "DESCRIPTION": "Human annotation with active learning. Version 1.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # config/converters.py: <id:...> is a database id, 64-bit.
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**63 - 1}
    },
    # Choice sets that share a field name ("aggregation": a project's and an export's, which
    # adds "none"; "state": an export's filter, a qualification's, a model version's) get names
    # of their own.
    "ENUM_NAME_OVERRIDES": {
        "ProjectAggregationEnum": "annotation.models.Project.Aggregation",
        "ExportStateEnum": "annotation.services.exports.STATES",
        "ExportAggregationEnum": "annotation.services.exports.AGGREGATIONS",
        "QualificationStateEnum": "quality.models.Qualification.State",
        "ModelVersionStateEnum": "tasks.models.ModelVersion.State",
    },
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
    }
}
if os.environ.get("CACHE_URL"):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["CACHE_URL"],
    }

# Celery: the embedded default is kombu's filesystem transport, so no broker server is needed.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "in"),
        "data_folder_out": str(BROKER_DIR / "in"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("SKEIN_TASK_TIME_LIMIT", 1800))
# Jobs declare their own hard limit, and the soft one follows it (config.jobs.job).
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# The labeling page uses a key press only for an item painted at least this long before it:
# simple visual reaction time is ~200 ms, so a press sooner was meant for the previous item
# (a burst, a double press), not a reading of this one; short enough not to slow real work.
SKEIN_MIN_DISPLAY_MS = max(0, int(os.environ.get("SKEIN_MIN_DISPLAY_MS", 200)))

# Content-Security-Policy (config/csp.py): hosts besides the app that images may come from,
# e.g. "https://images.example.org,https://*.cdn.example.net".
SKEIN_CSP_IMG_HOSTS = env_list("SKEIN_CSP_IMG_HOSTS")

# Operations: /metrics (and /healthz's details) for staff sessions and this bearer token.
SKEIN_METRICS_TOKEN = os.environ.get("SKEIN_METRICS_TOKEN", "")
# A worker is "alive" on /healthz if it wrote a heartbeat within this many seconds.
SKEIN_WORKER_HEARTBEAT_SECONDS = int(os.environ.get("SKEIN_WORKER_HEARTBEAT_SECONDS", 60))
CELERY_BEAT_SCHEDULE = {
    "erase-expired-item-data": {"task": "skein.retention.erase_expired", "schedule": 3600.0},
    # Bulk actions whose message or worker was lost are queued again (once stale).
    "bulk-actions-tick": {"task": "skein.items.bulk_tick", "schedule": 60.0},
}
# Bulk actions on items (POST projects/{id}/items/bulk/) on at most this many items are
# applied in the request (200); larger ones by a job (202).
SKEIN_BULK_INLINE_MAX = int(os.environ.get("SKEIN_BULK_INLINE_MAX", "2000"))
# Items per statement of a bulk action (all of them in one transaction either way).
SKEIN_BULK_CHUNK = int(os.environ.get("SKEIN_BULK_CHUNK", "5000"))
# Failed logins (API token, browser and admin login; annotation/ratelimit.py): allowed per
# account and client address, and per client address over all accounts, e.g. "10/min".
SKEIN_LOGIN_RATE = os.environ.get("SKEIN_LOGIN_RATE", "10/min")
SKEIN_LOGIN_CLIENT_RATE = os.environ.get("SKEIN_LOGIN_CLIENT_RATE", "50/min")
# An account that logged in from an address within this many days is not held back there
# by that address's own failures over all accounts.
SKEIN_LOGIN_KNOWN_DAYS = int(os.environ.get("SKEIN_LOGIN_KNOWN_DAYS", 30))
# How many reverse proxies of ours stand in front of the app (each appends to
# X-Forwarded-For); 0: the socket peer is the client and X-Forwarded-For is ignored.
SKEIN_TRUSTED_PROXIES = int(os.environ.get("SKEIN_TRUSTED_PROXIES", 0))
# An API token unused for this many days no longer authenticates.
SKEIN_TOKEN_IDLE_DAYS = float(os.environ.get("SKEIN_TOKEN_IDLE_DAYS", 30))

# The learning loop (tasks/): the periodic tick (beat) re-queues work a dead worker or a
# broker outage left behind and starts due training; a run with no heartbeat for
# SKEIN_JOB_STALE_SECONDS counts as lost; the pool is scored in chunks of SKEIN_SCORE_CHUNK.
SKEIN_LEARNING_TICK_SECONDS = float(os.environ.get("SKEIN_LEARNING_TICK_SECONDS", 60))
SKEIN_JOB_STALE_SECONDS = int(os.environ.get("SKEIN_JOB_STALE_SECONDS", 600))
SKEIN_SCORE_CHUNK = int(os.environ.get("SKEIN_SCORE_CHUNK", 20000))
CELERY_BEAT_SCHEDULE["learning-tick"] = {
    "task": "skein.learning.tick",
    "schedule": SKEIN_LEARNING_TICK_SECONDS,
}
# Before a project's first model, serve one cluster-spread batch first: "auto" (default)
# for text projects with an embedder (clusters of the embedding space, which saved labels
# in the issue-12 bench), not otherwise (on the hashed features it was no better than the
# seeded random order); on: always (features when there are no embeddings); off: never.
# See bench/README.md.
SKEIN_DIVERSE_COLD_START = env_choice("SKEIN_DIVERSE_COLD_START", "auto")
# Learn from the text embeddings as a feature block beside the n-grams (the embeddings
# choose the cold start and the batches either way): off by default, the label-efficiency
# bench found the block costly on stylistic labels and n-gram features with
# embedding-space batches best (bench/README.md, "Label efficiency with text embeddings").
SKEIN_EMBEDDING_FEATURES = env_bool("SKEIN_EMBEDDING_FEATURES")

# A project's model endpoint (README, "A team's own predictions"): items are POSTed in
# chunks of SKEIN_ENDPOINT_CHUNK, each request given SKEIN_ENDPOINT_TIMEOUT seconds; after
# SKEIN_ENDPOINT_FAILURES failed requests in a row the endpoint is left alone for
# SKEIN_ENDPOINT_BREAKER_SECONDS (the circuit breaker). Endpoints on private or loopback
# addresses are refused unless SKEIN_ALLOW_PRIVATE_ENDPOINTS is on.
SKEIN_ENDPOINT_CHUNK = int(os.environ.get("SKEIN_ENDPOINT_CHUNK", 100))
SKEIN_ENDPOINT_TIMEOUT = float(os.environ.get("SKEIN_ENDPOINT_TIMEOUT", 30))
SKEIN_ENDPOINT_FAILURES = int(os.environ.get("SKEIN_ENDPOINT_FAILURES", 5))
SKEIN_ENDPOINT_BREAKER_SECONDS = float(os.environ.get("SKEIN_ENDPOINT_BREAKER_SECONDS", 300))
SKEIN_ALLOW_PRIVATE_ENDPOINTS = env_bool("SKEIN_ALLOW_PRIVATE_ENDPOINTS")
# The text embedder the workers load (tasks.learning.embeddings.EMBEDDERS), or "none".
SKEIN_EMBEDDER = os.environ.get("SKEIN_EMBEDDER", "all-MiniLM-L6-v2-int8")
# Similar items and near duplicates (tasks.services.similarity, bench/README.md "Similar
# items"): a project gets IVF lists from this many vectors (fewer: every vector is read);
# a query ranks the vectors of this many lists nearest the item; embeddings at least this
# cosine apart are near duplicates; the tick files new vectors every so many seconds.
SKEIN_SIMILARITY_INDEX_MIN = int(os.environ.get("SKEIN_SIMILARITY_INDEX_MIN", 20000))
SKEIN_SIMILARITY_PROBES = int(os.environ.get("SKEIN_SIMILARITY_PROBES", 16))
SKEIN_NEAR_DUPLICATE_COSINE = float(os.environ.get("SKEIN_NEAR_DUPLICATE_COSINE", 0.95))
SKEIN_SIMILARITY_TICK_SECONDS = float(os.environ.get("SKEIN_SIMILARITY_TICK_SECONDS", 60))
CELERY_BEAT_SCHEDULE["similarity-tick"] = {
    "task": "skein.similarity.tick",
    "schedule": SKEIN_SIMILARITY_TICK_SECONDS,
}
# Items per embedding chunk (one job) at most: ~1,000 reviews of ~230 words take about a
# minute of one core with the default embedder, short texts far less; a smaller pass is cut
# into ~8 chunks of at least 64 items (bench/README.md, "Embedding jobs").
SKEIN_EMBED_CHUNK = int(os.environ.get("SKEIN_EMBED_CHUNK", 1000))
# Label errors (confident learning, computed with each model version): how many of the
# top-ranked go to the review queue. When to stop: the size of a project's stop set and the
# rule "kappa between successive versions' predictions >= SKEIN_STOP_KAPPA over the last
# SKEIN_STOP_WINDOW comparisons" (bench/README.md, "Label errors and when to stop").
SKEIN_LABEL_ERRORS_TO_REVIEW = max(0, int(os.environ.get("SKEIN_LABEL_ERRORS_TO_REVIEW", 20)))
SKEIN_STOP_SET_SIZE = max(1, int(os.environ.get("SKEIN_STOP_SET_SIZE", 2000)))
SKEIN_STOP_KAPPA = float(os.environ.get("SKEIN_STOP_KAPPA", 0.99))
SKEIN_STOP_WINDOW = max(1, int(os.environ.get("SKEIN_STOP_WINDOW", 3)))
