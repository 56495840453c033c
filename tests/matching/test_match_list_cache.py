"""The match list of a stored run is served from the cache, and is never staler than the database.

A cached rendering is keyed by what the list shows (matching.api.cache): these tests change what
it shows by every door (services, a moderator's decision, a bulk ``update()`` that no hook sees)
and expect the very next request to show it.
"""

import json
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts.models import User
from marketplace.models import FreelancerProfile
from marketplace.moderation.decisions import user_suspend
from marketplace.services.profiles import freelancer_profile_update
from matching.models import MatchResult, MatchRun
from matching.selectors import gig_runs_visible_to
from tests.conftest import client_for
from tests.factories import ClientFactory, FreelancerFactory, GigFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    {},
    {"page": 2},
    {"page": 3},
    {"page": "last"},
    {"page_size": 7, "page": 3},
    {"page_size": 7, "page": "last"},
    {"page_size": 1},
    {"page_size": 100},
    {"page_size": 0},
    {"page_size": "junk", "page": 2},
    {"page": 0},
    {"page": 99},
    {"page": "x"},
    {"page": "1.5"},
    {"page_size": 10, "page": 3},
    {"page_size": 10, "page": 4},
]


@pytest.fixture(autouse=True)
def _empty_match_list_cache():
    cache.delete_pattern("matchlist:*")
    yield


@pytest.fixture
def stored(settings):
    """A client's gig with a finished run of 26 ranked freelancers, and the owner's API client."""
    settings.MATCH_LIST_CACHE_SECONDS = 600
    client = ClientFactory()
    owner = client.memberships.get().user
    gig = GigFactory(client=client)
    freelancers = FreelancerFactory.create_batch(26)
    run = _finished_run(gig, freelancers)
    api = client_for(owner)
    api.get("/api/v1/me/")  # the token's first use records last_used_at: keep that write out of the counts
    return {"gig": gig, "run": run, "freelancers": freelancers, "api": api, "owner": owner,
            "url": f"/api/v1/gigs/{gig.id}/matches/"}  # fmt: skip


def _finished_run(gig, freelancers, *, trigger="test"):
    run = MatchRun.objects.create(
        gig=gig,
        status=MatchRun.Status.DONE,
        trigger=trigger,
        model_name="all-MiniLM-L6-v2",
        candidate_count=len(freelancers),
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    MatchResult.objects.bulk_create(
        MatchResult(
            run=run,
            freelancer=f,
            rank=i + 1,
            score=1 - i / 100,
            components={"semantic": 0.5 + i / 100, "required_skills": 1.0},
            explanation={"required_skills_matched": [{"skill": "CVAT", "level": "expert"}], "note": f"#{i + 1}"},
        )
        for i, f in enumerate(freelancers)
    )
    return run


def _listed(api, url, **params) -> list[int]:
    body = api.get(url, {"page_size": 100, **params}).json()
    return [r["freelancer"]["id"] for r in body["results"]]


def test_cached_pages_equal_uncached_ones_byte_for_byte(stored, settings, django_assert_num_queries):
    api, url = stored["api"], stored["url"]
    settings.MATCH_LIST_CACHE_SECONDS = 0
    uncached = [api.get(url, params) for params in PAGES]
    assert not cache.keys("matchlist:*")
    settings.MATCH_LIST_CACHE_SECONDS = 600
    api.get(url)  # renders the run into the cache
    for params, expected in zip(PAGES, uncached, strict=True):
        with django_assert_num_queries(2):  # token, gig + runs (+ fingerprint): the page is the cache's
            response = api.get(url, params)
        assert (response.status_code, response.content) == (expected.status_code, expected.content), params
        assert response.headers == expected.headers, params
    assert {r.status_code for r in uncached} == {200, 404}


def test_the_assembled_body_is_what_drf_renders_for_the_same_data(stored, settings):
    """The page is written from pieces rendered earlier: it must be DRF's rendering of the decoded
    data byte for byte, with DRF's headers, and an ``indent`` asked for in Accept must still apply."""
    api, url, gig = stored["api"], stored["url"], stored["gig"]
    MatchRun.objects.create(gig=gig, status=MatchRun.Status.PENDING, trigger="ünïcode \u2028 edit")
    stored["freelancers"][0].__class__.objects.filter(pk=stored["freelancers"][0].pk).update(
        display_name='Zoë \u2028 O\'Brien "Z"'
    )
    api.get(url)
    response = api.get(url, {"page_size": 3})  # from the cache
    body = json.loads(response.content)
    assert body["results"][0]["freelancer"]["display_name"] == 'Zoë \u2028 O\'Brien "Z"'
    assert body["pending_run"]["trigger"] == "ünïcode \u2028 edit" and body["next"].endswith("page=2&page_size=3")
    assert response.content == JSONRenderer().render(body)
    fresh = GigFactory(client=gig.client)  # no run: the view has no pre-rendered piece to write
    plain = api.get(f"/api/v1/gigs/{fresh.id}/matches/")
    assert response.headers.keys() == plain.headers.keys()
    assert {k: response.headers.get(k) for k in ("Content-Type", "Vary", "Allow")} == {
        k: plain.headers.get(k) for k in ("Content-Type", "Vary", "Allow")
    }
    indented = api.get(url, {"page_size": 3}, HTTP_ACCEPT="application/json; indent=2")
    assert indented.content == JSONRenderer().render(body, "application/json; indent=2")
    assert b'\n  "gig": ' in indented.content


def test_a_cached_request_costs_two_queries_and_a_miss_three(stored, django_assert_num_queries):
    api, url = stored["api"], stored["url"]
    with django_assert_num_queries(3):  # token, gig + runs, the run's results
        first = api.get(url)
    with django_assert_num_queries(2):  # token, gig + runs; the rendering comes from the cache
        second = api.get(url, {"page": 2})
    assert first.json()["count"] == second.json()["count"] == 26
    assert [r["rank"] for r in second.json()["results"]] == list(range(21, 27))
    assert len(cache.keys("matchlist:*")) == 1  # one entry per run, whatever the page


def _hide(profile: FreelancerProfile) -> None:
    freelancer_profile_update(profile=profile, by=profile.user, visibility="hidden")


def _suspend(profile: FreelancerProfile) -> None:
    moderator = UserFactory(role=User.Role.MODERATOR, is_staff=True)
    user_suspend(user=profile.user, by=moderator, reason="Fake reviews")


def _deactivate(profile: FreelancerProfile) -> None:
    User.objects.filter(pk=profile.user_id).update(is_active=False)  # no save(), no signal: only the row changes


def _unapprove(profile: FreelancerProfile) -> None:
    FreelancerProfile.objects.filter(pk=profile.pk).update(moderation_status="pending")


@pytest.mark.parametrize("make_unshowable", [_hide, _suspend, _deactivate, _unapprove])
def test_a_freelancer_who_can_no_longer_be_shown_leaves_the_cached_list_at_once(stored, make_unshowable):
    api, url, freelancers = stored["api"], stored["url"], stored["freelancers"]
    everyone = [f.id for f in freelancers]
    assert _listed(api, url) == everyone
    assert _listed(api, url) == everyone  # served from the cache
    gone = freelancers[4]
    make_unshowable(gone)
    after = api.get(url, {"page_size": 5}).json()
    assert after["count"] == 25
    assert [r["freelancer"]["id"] for r in after["results"]] == everyone[:4] + everyone[5:6]
    assert gone.id not in _listed(api, url)
    assert _listed(api, url, page_size=5, page=5) == everyone[21:26]  # later pages move up too


def test_an_edited_name_headline_or_rate_shows_on_the_next_request(stored):
    api, url = stored["api"], stored["url"]
    listed = stored["freelancers"][0]
    before = api.get(url).json()["results"][0]["freelancer"]
    assert api.get(url).json()["results"][0]["freelancer"] == before  # cached
    freelancer_profile_update(profile=listed, by=listed.user, display_name="Ada L.", hourly_rate=Decimal("55"))
    FreelancerProfile.objects.filter(pk=listed.pk).update(headline="Polygon annotation lead", rating_count=7)
    shown = api.get(url).json()["results"][0]["freelancer"]
    assert shown["display_name"] == "Ada L." and shown["hourly_rate"] == "55.00"
    assert shown["headline"] == "Polygon annotation lead" and shown["rating_count"] == 7
    assert {k: v for k, v in shown.items() if k not in {"display_name", "hourly_rate", "headline", "rating_count"}} == {
        k: v for k, v in before.items() if k not in {"display_name", "hourly_rate", "headline", "rating_count"}
    }


def test_a_freelancer_shown_again_comes_back(stored):
    api, url, freelancers = stored["api"], stored["url"], stored["freelancers"]
    back = freelancers[2]
    _unapprove(back)
    assert back.id not in _listed(api, url)
    assert back.id not in _listed(api, url)  # cached without them
    FreelancerProfile.objects.filter(pk=back.pk).update(moderation_status="approved")
    assert _listed(api, url) == [f.id for f in freelancers]


def test_a_change_while_a_rendering_is_made_is_not_stored_under_the_older_state(stored):
    """The rendering is stored under the fingerprint read with its rows, not under the one the request
    started with: otherwise going back to the older state would serve the newer state's list."""
    from matching.api.cache import rendered_run

    api, url, freelancers = stored["api"], stored["url"], stored["freelancers"]
    passing = freelancers[1]
    run = gig_runs_visible_to(stored["owner"], stored["gig"].id).finished  # fingerprint: everyone shown
    _unapprove(passing)  # ... changes before this request reads the results
    assert passing.id not in [json.loads(r)["freelancer"]["id"] for r in rendered_run(run).results]
    FreelancerProfile.objects.filter(pk=passing.pk).update(moderation_status="approved")  # back as it was
    assert _listed(api, url) == [f.id for f in freelancers]


def test_a_new_run_replaces_the_cached_one(stored):
    api, url, gig = stored["api"], stored["url"], stored["gig"]
    old = api.get(url).json()
    assert api.get(url).json() == old  # cached
    newcomers = FreelancerFactory.create_batch(3)
    new_run = _finished_run(gig, [*newcomers, stored["freelancers"][0]], trigger="refresh")
    body = api.get(url).json()
    assert body["run"]["id"] == new_run.id and body["run"]["trigger"] == "refresh"
    assert body["count"] == 4
    assert [r["freelancer"]["id"] for r in body["results"]] == [*(f.id for f in newcomers), stored["freelancers"][0].id]


def test_a_waiting_run_shows_beside_the_cached_finished_one(stored):
    api, url, gig = stored["api"], stored["url"], stored["gig"]
    assert api.get(url).json()["pending"] is False
    waiting = MatchRun.objects.create(gig=gig, status=MatchRun.Status.PENDING, trigger="edit")
    body = api.get(url).json()
    assert body["pending"] is True and body["pending_run"]["id"] == waiting.id
    assert body["run"]["id"] == stored["run"].id and body["count"] == 26


def test_others_are_refused_as_before_once_the_list_is_cached(stored):
    api, url, gig = stored["api"], stored["url"], stored["gig"]
    assert api.get(url).status_code == 200
    assert api.get(url).status_code == 200  # cached now
    other_member = client_for(ClientFactory().memberships.get().user)
    assert other_member.get(url).status_code == 404
    assert client_for(stored["freelancers"][0].user).get(url).status_code == 404
    teammate = UserFactory(role=User.Role.CLIENT)
    gig.client.memberships.create(user=teammate)
    assert client_for(teammate).get(url).json()["count"] == 26  # a member of the same client sees it
    assert api.get("/api/v1/gigs/999999/matches/").status_code == 404
    assert api.get(f"/api/v1/gigs/{10**30}/matches/").status_code == 404  # beyond bigint: 404, not 500
    owner = stored["owner"]
    User.objects.filter(pk=owner.pk).update(is_suspended=True)
    assert api.get(url).status_code == 401


def test_a_gig_without_runs_and_a_run_without_shown_freelancers(stored):
    api, gig = stored["api"], stored["gig"]
    fresh = GigFactory(client=gig.client)
    empty = api.get(f"/api/v1/gigs/{fresh.id}/matches/").json()
    assert empty == {"gig": fresh.id, "pending": False, "pending_run": None, "run": None, "count": 0,
                     "next": None, "previous": None, "results": []}  # fmt: skip
    FreelancerProfile.objects.filter(pk__in=[f.pk for f in stored["freelancers"]]).update(visibility="hidden")
    for _ in range(2):
        body = api.get(stored["url"]).json()
        assert body["run"]["id"] == stored["run"].id and body["count"] == 0 and body["results"] == []
