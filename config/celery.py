"""Celery application. Tasks live in each app's ``tasks.py`` and are discovered automatically."""

import logging
import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("matchwork")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _encoder_threads(sender=None, **_kwargs) -> None:
    """Before the pool forks: how many torch threads each of its processes encodes with
    (``matching.encoder.plan_worker_threads``)."""
    from matching.encoder import plan_worker_threads

    concurrency = getattr(sender, "concurrency", None)
    threads = plan_worker_threads(concurrency=concurrency, pool=getattr(sender, "pool_cls", None))
    logging.getLogger("matchwork.matching.encoder").info(
        "encoder threads per worker process",
        extra={"threads": threads or "torch default", "concurrency": str(concurrency or "")},
    )


@worker_init.connect
@worker_process_init.connect
def _freeze_after_start(**_kwargs) -> None:
    """The worker (and each prefork child) keeps what it loaded at start out of full collections
    (config/process.py)."""
    from config.process import freeze_long_lived_objects

    freeze_long_lived_objects(after="celery worker started")
