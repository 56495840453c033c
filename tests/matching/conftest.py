"""Fixtures of the matching tests: the real model, the real Redis queue, a real Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from accounts.models import User
from marketplace import services as market
from marketplace.models import FreelancerProfile, Gig
from tests.factories import ClientFactory, UserFactory

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _trust_new_clients(settings):
    """Matching tests publish gigs of brand-new clients; the moderation policy would hold each one for
    review (issue 7). These tests are about ranking, so every client is trusted here."""
    settings.MODERATION_NEW_CLIENT_GIGS = 0


@pytest.fixture(autouse=True)
def _no_stray_embedding_tasks(request) -> Iterator[None]:
    """A test that commits its data (transactional) and neither starts nor watches a worker embeds
    what it needs itself: nothing it does is enqueued. Otherwise the session's Celery worker
    (alive once a worker test ran) writes those vectors in the background while the test's
    teardown truncates every table, and the two lock the tables in opposite orders (a deadlock
    the flush lost once)."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if not transactional or {"celery_worker", "task_queue"} & set(request.fixturenames):
        yield
        return
    from matching.signals import enqueue_suppression

    with enqueue_suppression():
        yield


@pytest.fixture(scope="session")
def encoder():
    """The real all-MiniLM-L6-v2, loaded once for the session."""
    from matching.encoder import get_encoder

    return get_encoder()


@pytest.fixture
def task_queue() -> Iterator[redis.Redis]:
    """The real Redis holding this run's Celery queue, emptied before and after the test."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    yield client
    client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    client.close()


def queued_task_names(client: redis.Redis) -> list[str]:
    import json

    names = []
    for raw in client.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1):
        names.append(json.loads(raw)["headers"]["task"])
    return names


@pytest.fixture
def make_freelancer(db) -> Callable[..., FreelancerProfile]:
    """Create a freelancer through the marketplace service (skills go through skill_resolve)."""

    def make(
        *,
        headline: str,
        bio: str = "",
        skills: list[tuple[str, str]] = (),
        rate: float = 40,
        hours: int = 30,
        timezone: str = "Europe/Berlin",
        languages: tuple[str, ...] = ("en",),
    ) -> FreelancerProfile:
        user = UserFactory(role=User.Role.FREELANCER)
        return market.freelancer_profile_create(
            user=user,
            display_name=headline[:40],
            headline=headline,
            bio=bio,
            hourly_rate=rate,
            available_hours_per_week=hours,
            timezone=timezone,
            languages=list(languages),
            skills=[market.SkillClaim(name=n, level=level) for n, level in skills],
        )

    return make


@pytest.fixture
def make_gig(db) -> Callable[..., Gig]:
    """Create and publish a gig through the marketplace services."""

    def make(
        *,
        title: str,
        description: str,
        skills: list[tuple[str, bool, str]] = (),
        client=None,
        budget_type: str = "hourly",
        budget_min: float = 30,
        budget_max: float = 60,
        hours: int | None = 20,
        timezone: str = "Europe/London",
        min_overlap_hours: int | None = 3,
        languages: tuple[str, ...] = ("en",),
        publish: bool = True,
    ) -> Gig:
        client = client or ClientFactory()
        owner = client.memberships.get(is_owner=True).user
        gig = market.gig_create(
            client=client,
            created_by=owner,
            title=title,
            description=description,
            budget_type=budget_type,
            budget_min=budget_min,
            budget_max=budget_max,
            hours_per_week=hours,
            timezone=timezone,
            min_overlap_hours=min_overlap_hours,
            languages=list(languages),
            skills=[market.SkillNeed(name=n, required=r, min_level=lvl) for n, r, lvl in skills],
        )
        if publish:
            gig = market.gig_publish(gig=gig, by=owner)
        return gig

    return make


# Skill sets of the labelling marketplace (``german_labelling_gig``), one per freelancer in turn.
LABELLING_SKILLS = [
    [("Data annotation", "expert"), ("Image annotation", "advanced"), ("CVAT", "intermediate")],
    [("Image annotation", "expert"), ("Semantic segmentation", "advanced")],
    [("Prompt engineering", "expert"), ("Python", "advanced")],
    [("Image annotation", "beginner"), ("CVAT", "expert")],
    [("Executive coaching", "expert"), ("Leadership development", "advanced")],
]


@pytest.fixture
def german_labelling_gig(encoder, make_freelancer, make_gig):
    """Fifteen freelancers, a third of them German speakers, and a gig that needs German at ≤ 50/h."""
    from matching.ranking import spec_from_gig
    from matching.services import freelancer_embeddings_refresh, gig_embeddings_refresh

    for i in range(15):
        skills = LABELLING_SKILLS[i % len(LABELLING_SKILLS)]
        make_freelancer(
            headline=f"Freelancer {i}: " + ", ".join(name for name, _ in skills),
            skills=skills,
            rate=25 + 4 * i,
            languages=("en", "de") if i % 3 == 0 else ("en",),
        )
    gig = make_gig(
        title="Label 20k product photos for a German retailer",
        description="Bounding boxes and segmentation masks in CVAT; instructions and QA calls in German.",
        skills=[("Image annotation", True, "advanced"), ("CVAT", False, "")],
        budget_max=50,
        languages=("de",),
    )
    freelancer_embeddings_refresh(profile_ids=list(FreelancerProfile.objects.values_list("id", flat=True)))
    gig_embeddings_refresh(gig_ids=[gig.id])
    return spec_from_gig(gig)


def _database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen]:
    """A real Celery worker process on the test database and this run's Redis queue."""
    log_path = BASE_DIR / ".data" / f"test-worker-{settings.CELERY_TASK_DEFAULT_QUEUE}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "MATCHWORK_TESTING": "1",
        "MATCHING_DEBOUNCE_SECONDS": "1",
        "DB_CONN_MAX_AGE": "0",
        "HF_HUB_OFFLINE": "1",
    }
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test-{os.getpid()}@%h",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log_path.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the test Celery worker did not start:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.2)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_for(predicate: Callable[[], object], *, timeout: float = 90, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
