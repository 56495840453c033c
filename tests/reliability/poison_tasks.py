"""Tasks loaded only into the reliability scenarios' workers (``celery worker --include``)."""

import os

from celery import shared_task

from matching.delivery import DeliveryLimitedTask


@shared_task(base=DeliveryLimitedTask, acks_late=True, reject_on_worker_lost=True)
def crash_worker(marker: str) -> None:
    """A poison message: its worker process dies on every delivery, as an OOM kill or segfault would."""
    os._exit(137)
