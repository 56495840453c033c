"""Poison-message guard: a task whose worker dies every time it runs is given up after a bounded
number of deliveries, recorded as a ``TaskFailure`` an operator sees in the admin, and acknowledged
so the queue keeps flowing.

Tasks run with ``acks_late`` and ``reject_on_worker_lost``: a message is acknowledged only after
its task returns, and a worker killed mid-task (OOM, SIGKILL, segfault) puts it back on the queue,
so the work is redone elsewhere. Without a bound, a message that itself kills the worker would be
redelivered forever. Each delivery is counted in Redis (the broker) *before* the task body runs,
keyed by task id and retry number (``self.retry`` republishes under the same id, and retries have
their own bound, ``max_retries``).
"""

from __future__ import annotations

import logging
from functools import cache

import redis
from celery import Task
from django.conf import settings

log = logging.getLogger("matchwork.matching.delivery")

KEY_TTL_SECONDS = 7 * 24 * 3600


@cache
def _counter() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2)


def delivery_count(task_id: str, retries: int) -> int | None:
    """Count one more delivery of this task attempt; None when the counter is unreachable."""
    key = f"{settings.CELERY_TASK_DEFAULT_QUEUE}:deliveries:{task_id}:{retries}"
    try:
        pipe = _counter().pipeline()
        pipe.incr(key)
        pipe.expire(key, KEY_TTL_SECONDS)
        return int(pipe.execute()[0])
    except redis.RedisError as exc:  # the task still runs: better a rare extra attempt than a lost one
        log.warning("delivery counter unavailable", extra={"task_id": task_id, "error": str(exc)})
        return None


class DeliveryLimitedTask(Task):
    """Base class of every Matchwork task: refuses to run a delivery beyond ``max_deliveries``."""

    abstract = True

    @property
    def max_deliveries(self) -> int:
        return settings.CELERY_TASK_MAX_DELIVERIES

    def __call__(self, *args, **kwargs):
        request = self.request
        if request.id and not request.called_directly and not request.is_eager:
            count = delivery_count(request.id, request.retries or 0)
            if count is not None and count > self.max_deliveries:
                from .services import task_failure_record

                task_failure_record(
                    task_id=request.id,
                    task_name=self.name,
                    args=list(args),
                    kwargs=dict(kwargs),
                    deliveries=count - 1,
                    error=f"The worker died during each of {count - 1} deliveries; given up (poison message).",
                )
                log.error(
                    "poison message given up",
                    extra={"task": self.name, "task_id": request.id, "deliveries": count - 1},
                )
                return None  # acknowledged: the message leaves the queue
        return super().__call__(*args, **kwargs)
