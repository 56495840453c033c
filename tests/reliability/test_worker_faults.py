"""Scenarios: a Celery worker is SIGKILLed mid batch, and a poison message kills its worker on
every delivery. Real Redis broker, real PostgreSQL, real workers with the production task settings
(acks_late, reject_on_worker_lost, prefetch 1); only the visibility timeout is shortened so a
message held by a dead worker comes back within the test's time budget (production: 900 s)."""

import time

import pytest

from tests.reliability import data
from tests.reliability.harness import report, wait_until

pytestmark = [pytest.mark.slow]

VISIBILITY = {"CELERY_VISIBILITY_TIMEOUT": "15", "CELERY_UNACKED_RESTORE_INTERVAL": "2"}


def _enqueue(stack, code: str) -> None:
    stack.shell("from matching import tasks\n" + code)


def test_worker_killed_mid_embedding_batch_work_redone_once_by_another_worker(stack, record_property):
    ids = data.freelancers(stack, 40, "batch")
    stack.start_worker("worker-a", **VISIBILITY)
    _enqueue(stack, f"tasks.embed_freelancers.delay({ids})")
    wait_until(
        lambda: "embed_freelancers" in stack.log("worker-a") and "received" in stack.log("worker-a"),
        timeout=60,
        what="worker A to take the batch",
    )
    time.sleep(1.0)  # inside the batch: loading the model and encoding 80 texts takes longer than this
    assert data.vector_counts(stack, ids) == {}, "batch finished before the kill; the scenario did not happen"
    killed_at = time.monotonic()
    stack.kill("worker-a")  # SIGKILL to the whole worker: main process and pool child, nothing acknowledged

    stack.start_worker("worker-b", **VISIBILITY)
    wait_until(
        lambda: len(data.vector_counts(stack, ids)) == len(ids),
        timeout=90,
        interval=1,
        what="worker B to redo the batch",
    )
    redone_after = time.monotonic() - killed_at
    counts = data.vector_counts(stack, ids)
    # two views (full text, skills) per profile and model version; nothing missing, nothing doubled
    assert counts == {pid: 2 for pid in ids}
    assert stack.queue_length() == 0
    record_property("profiles", len(ids))
    record_property("redone_after_seconds", round(redone_after, 1))
    report(
        f"worker SIGKILL: {len(ids)} profiles, redone by worker B {redone_after:.1f}s after the kill, "
        f"{sum(counts.values())} vectors (2 per profile)"
    )


def test_poison_message_given_up_after_bounded_deliveries_and_recorded(stack, record_property):
    ids = data.freelancers(stack, 5, "flow")
    stack.start_worker("worker", include="tests.reliability.poison_tasks", **VISIBILITY)
    stack.shell(
        "from tests.reliability.poison_tasks import crash_worker\n"
        "from matching import tasks\n"
        "r = crash_worker.delay('poison')\n"
        "print('TASK=' + r.id)\n"
        f"tasks.embed_freelancers.delay({ids})\n"
    )
    # the healthy task queued behind the poison message still runs
    wait_until(
        lambda: len(data.vector_counts(stack, ids)) == len(ids),
        timeout=120,
        interval=1,
        what="the healthy task behind the poison message",
    )
    failures = wait_until(
        lambda: stack.query(
            "from matching.models import TaskFailure\n"
            "result = list(TaskFailure.objects.values('task_name', 'deliveries', 'error'))"
        ),
        timeout=60,
        what="the poison message to be recorded",
    )
    assert len(failures) == 1
    assert failures[0]["task_name"] == "tests.reliability.poison_tasks.crash_worker"
    assert failures[0]["deliveries"] == 3  # CELERY_TASK_MAX_DELIVERIES
    assert stack.queue_length() == 0
    assert stack.procs["worker"].poll() is None  # the worker itself survived (its pool child died)
    # the message is not delivered again afterwards
    time.sleep(3)
    assert stack.query("from matching.models import TaskFailure\nresult = TaskFailure.objects.count()") == 1
    record_property("deliveries", failures[0]["deliveries"])
    report(
        f"poison message: worker child died {failures[0]['deliveries']} times, then given up "
        f"and recorded; {len(ids)} profiles embedded meanwhile"
    )
