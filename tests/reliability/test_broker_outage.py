"""Scenarios: Redis (the Celery broker) restarts with tasks queued, and Redis is down while people
use the API. The embedded Redis runs with the production persistence settings: appendonly yes,
appendfsync everysec, maxmemory-policy noeviction (docs/reliability.md)."""

import time

import pytest

from tests.reliability import data
from tests.reliability.harness import report, wait_until

pytestmark = [pytest.mark.slow]

FAST_SWEEP = {"MATCHING_SWEEP_SECONDS": "3", "MATCHING_DEBOUNCE_SECONDS": "0"}


def _enqueue_one_per_profile(stack, ids: list[int]) -> None:
    stack.shell(f"from matching import tasks\nfor pid in {ids}: tasks.embed_freelancers.delay([pid])")


def test_redis_restarts_and_crashes_with_tasks_queued_everything_processed_afterwards(stack, record_property):
    ids = data.freelancers(stack, 30, "queued")
    first, second = ids[:15], ids[15:]

    _enqueue_one_per_profile(stack, first)
    assert stack.queue_length() == 15
    stack.stop_redis()  # orderly restart (SIGTERM): the append-only file is flushed
    stack.start_redis()
    assert stack.queue_length() == 15

    _enqueue_one_per_profile(stack, second)
    time.sleep(1.5)  # appendfsync everysec: a crash loses at most the last second of writes
    stack.crash_redis()  # SIGKILL, no shutdown
    stack.start_redis()
    assert stack.queue_length() == 30

    started = time.monotonic()
    stack.start_worker("worker")
    wait_until(
        lambda: len(data.vector_counts(stack, ids)) == len(ids),
        timeout=120,
        interval=1,
        what="every queued task to run",
    )
    took = time.monotonic() - started
    assert data.vector_counts(stack, ids) == {pid: 2 for pid in ids}
    wait_until(lambda: stack.queue_length() == 0, timeout=10, what="the queue to drain")
    record_property("tasks", len(ids))
    report(
        f"redis restart+crash: {len(ids)} tasks queued, 15 survived an orderly restart and 30 a "
        f"SIGKILL; all {len(ids)} ran in {took:.1f}s after a worker started"
    )


def _edit_profile(stack, token: str, headline: str):
    status, body, headers = stack.request("GET", "/api/v1/freelancers/me/", token=token)
    assert status == 200, body
    return stack.request(
        "PATCH", "/api/v1/freelancers/me/", {"headline": headline}, token=token, headers={"If-Match": headers["ETag"]}
    )


def test_redis_down_api_still_answers_and_sweep_catches_up(stack, record_property):
    people = data.people(stack, clients=1, freelancers=3, prefix="outage")
    client = people["clients"][0]
    stack.start_web()
    for _ in range(4):  # every gunicorn worker has served a request (imports done) before the outage
        stack.request("GET", "/api/v1/gigs/", token=client["token"])
    stack.stop_redis()

    timings: list[tuple[str, int, float]] = []

    def timed(what, fn):
        t0 = time.monotonic()
        status, body, headers = fn()
        timings.append((what, status, time.monotonic() - t0))
        assert 200 <= status < 300, (what, status, body)
        return body, headers

    new_gig, _ = timed(
        "create gig",
        lambda: stack.request(
            "POST",
            "/api/v1/gigs/",
            {
                "title": "Segment satellite images of fields",
                "description": "Polygons around crop fields.",
                "budget_type": "hourly",
                "budget_min": "30",
                "budget_max": "50",
                "hours_per_week": 10,
                "languages": ["en"],
                "skills": [{"name": "Python", "min_level": "intermediate"}],
            },
            token=client["token"],
        ),
    )
    timed("publish gig", lambda: stack.request("POST", f"/api/v1/gigs/{new_gig['id']}/publish/", token=client["token"]))
    for gig_id in (new_gig["id"], client["gig"]):
        _, headers = timed(
            "read gig", lambda gig_id=gig_id: stack.request("GET", f"/api/v1/gigs/{gig_id}/", token=client["token"])
        )
        timed(
            "edit gig",
            lambda gig_id=gig_id, etag=headers["ETag"]: stack.request(
                "PATCH",
                f"/api/v1/gigs/{gig_id}/",
                {"description": "Edited while the broker was down: polygons."},
                token=client["token"],
                headers={"If-Match": etag},
            ),
        )
    for i, freelancer in enumerate(people["freelancers"]):
        timed("edit profile", lambda f=freelancer, i=i: _edit_profile(stack, f["token"], f"Python annotator, edit {i}"))

    slowest = max(t for _, _, t in timings)
    # bounded: publishing to a dead broker fails fast (1 s connect timeout, one retry) and is logged
    assert slowest < 10.0, timings
    assert stack.procs["web"].poll() is None

    # Redis back: the periodic sweep (celery beat) re-enqueues every lost embedding and match run
    stack.start_redis()
    back = time.monotonic()
    stack.start_worker("worker", **FAST_SWEEP)
    stack.start_beat("beat", **FAST_SWEEP)
    state = wait_until(
        lambda: (s := stack.query(UP_TO_DATE))["up_to_date"] and s,
        timeout=180,
        interval=2,
        what="the sweep to bring vectors and match runs up to date",
    )
    caught_up = time.monotonic() - back
    assert state["stale_profiles"] == [] and state["stale_gigs"] == []
    assert state["gigs_without_fresh_run"] == []
    assert all("edit" in h for h in state["headlines_indexed"]), state
    record_property("requests_while_down", len(timings))
    report(
        f"redis down: {len(timings)} API writes/reads all 2xx, slowest {slowest:.2f}s; "
        f"sweep brought {state['published_gigs']} gigs and {len(people['freelancers'])} profiles up to date "
        f"{caught_up:.1f}s after Redis returned"
    )


UP_TO_DATE = """
from django.db.models import Max
from marketplace.models import FreelancerProfile, Gig
from matching import services
from matching.models import FreelancerDocument, MatchRun
stale_profiles = services.stale_profile_ids()
stale_gigs = services.stale_gig_ids()
latest_profile_edit = FreelancerProfile.objects.aggregate(m=Max("updated_at"))["m"]
gigs = list(Gig.objects.filter(status="published"))
without = [g.id for g in gigs if not MatchRun.objects.filter(
    gig=g, status="done", started_at__gte=max(g.updated_at, latest_profile_edit)).exists()]
result = {
    "stale_profiles": stale_profiles, "stale_gigs": stale_gigs, "gigs_without_fresh_run": without,
    "published_gigs": len(gigs),
    "headlines_indexed": [d.text.split("\\n")[0] for d in FreelancerDocument.objects.all()],
    "up_to_date": not stale_profiles and not stale_gigs and not without,
}
"""
