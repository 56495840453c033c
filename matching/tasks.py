"""Celery entry points of the matching engine: they take ids, re-fetch, and call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError

from . import services
from .delivery import DeliveryLimitedTask

log = logging.getLogger("matchwork.matching.tasks")

# Only failures that a later attempt can fix are retried: the database or the broker being away.
TRANSIENT = (OperationalError, InterfaceError, BrokerError, RedisConnectionError, ConnectionError, TimeoutError)
RETRY = {
    "autoretry_for": TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 6,
    "acks_late": True,
    "reject_on_worker_lost": True,
    # A message that kills its worker on every delivery is given up and recorded (TaskFailure).
    "base": DeliveryLimitedTask,
}
EMBED_BATCH = 64


def enqueue(task, *args, countdown: int | float | None = None, **kwargs) -> bool:
    """Publish a task; when the broker is away, log and return False (the periodic sweep repairs)."""
    from .signals import enqueue_suppressed

    if enqueue_suppressed():
        return False
    try:
        task.apply_async(args=args, kwargs=kwargs, countdown=countdown)
        return True
    except Exception as exc:  # broker down: never fail the web request that triggered the work
        # ("args" is a reserved LogRecord attribute: using it as an extra key raised inside this handler)
        log.warning("could not enqueue task", extra={"task": task.name, "task_args": list(args), "error": str(exc)})
        return False


@shared_task(soft_time_limit=240, time_limit=300, **RETRY)
def embed_freelancers(profile_ids: list[int], reschedule_matches: bool = False) -> int:
    """Refresh documents and vectors of profiles; optionally re-run matches of the gigs they affect.

    Only a ranking-relevant change (text, skills, rate, hours, timezone, languages, visibility,
    moderation, reputation) schedules match runs; renaming the display name does not.
    """
    result = services.freelancer_profiles_refresh(profile_ids=profile_ids)
    if reschedule_matches:
        for profile_id in sorted(result.changed):
            for gig in services.gigs_affected_by_profile(profile_id=profile_id):
                services.match_run_schedule(gig=gig, trigger=f"profile {profile_id} changed")
    return result.encoded


@shared_task(soft_time_limit=120, time_limit=180, **RETRY)
def embed_gigs(gig_ids: list[int], reschedule_matches: bool = False) -> int:
    """Refresh gig vectors; when asked, schedule a match run for each published gig."""
    from marketplace.models import Gig

    encoded = services.gig_embeddings_refresh(gig_ids=gig_ids)
    if reschedule_matches:
        for gig in Gig.objects.filter(id__in=gig_ids, status=Gig.Status.PUBLISHED, moderation_status="approved"):
            services.match_run_schedule(gig=gig, trigger="gig changed")
    return encoded


@shared_task(soft_time_limit=240, time_limit=300, **RETRY)
def embed_skill_texts(skill_ids: list[int] | None = None) -> int:
    """Vectors for the skill names and aliases that have none for the active model (all skills
    when no ids are given): rankings read them for related-skill credit."""
    return services.skill_text_vectors_refresh(skill_ids=skill_ids)


@shared_task(soft_time_limit=240, time_limit=300, **RETRY)
def execute_match_run(run_id: int) -> str | None:
    try:
        run = services.match_run_execute(run_id=run_id)
    except TRANSIENT:
        raise  # retried with backoff; the run stays running and is picked up again
    except SoftTimeLimitExceeded:
        services.match_run_fail(run_id=run_id, error="time limit exceeded")
        raise
    except Exception as exc:
        # A bug or bad data: record it on the run instead of retrying forever.
        services.match_run_fail(run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        raise
    return run.status if run else None


@shared_task(soft_time_limit=120, time_limit=180, **RETRY)
def sweep_embeddings() -> dict:
    """Re-enqueue what was lost: missing or stale vectors, and match runs that never started."""
    profiles = services.stale_profile_ids()
    gigs = services.stale_gig_ids()
    # Repaired work also re-runs the matches it would have triggered had its event not been lost.
    for i in range(0, len(profiles), EMBED_BATCH):
        enqueue(embed_freelancers, profiles[i : i + EMBED_BATCH], reschedule_matches=True)
    for i in range(0, len(gigs), EMBED_BATCH):
        enqueue(embed_gigs, gigs[i : i + EMBED_BATCH], reschedule_matches=True)
    # Skill names and aliases added or renamed since (in the admin, by a merge) get their vectors.
    enqueue(embed_skill_texts)
    lost_runs = services.lost_match_run_ids(older_than_seconds=settings.MATCHING_LOST_RUN_SECONDS)
    for run_id in lost_runs:
        enqueue(execute_match_run, run_id)
    summary = {"profiles": len(profiles), "gigs": len(gigs), "match_runs": len(lost_runs)}
    log.info("matching sweep", extra=summary)
    return summary


@shared_task(soft_time_limit=3300, time_limit=3600, **RETRY)
def sync_language_graphs() -> dict:
    """Build the language graphs the data now calls for and drop the others (daily, Celery beat)."""
    plan = services.language_graphs_sync()
    summary = {"wanted": plan.wanted, "built": plan.create, "dropped": plan.drop, "kept": plan.keep}
    log.info("language graphs synced", extra=summary)
    return summary
