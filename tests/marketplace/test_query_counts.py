"""List endpoints run a bounded number of queries, whatever the page size (no N+1)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from marketplace import services
from marketplace.models import FreelancerSkill, GigSkill, Skill
from tests.conftest import client_for
from tests.factories import ClientFactory, FreelancerFactory, GigFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def market():
    """30 freelancers with skills, 30 gigs with skills, and a client with proposals, invitations, engagements."""
    skills = list(Skill.objects.all()[:3])
    client = ClientFactory()
    owner = client.memberships.get().user
    freelancers = FreelancerFactory.create_batch(30)
    for f in freelancers:
        for skill in skills:
            FreelancerSkill.objects.create(profile=f, skill=skill)
    gigs = GigFactory.create_batch(30, client=client)
    for g in gigs:
        for skill in skills:
            GigSkill.objects.create(gig=g, skill=skill)
    for f, g in zip(freelancers, gigs, strict=True):
        services.invitation_create(gig=g, freelancer=f, by=owner)
        p = services.proposal_create(gig=g, by=f.user, cover_letter="x", proposed_rate=Decimal("1"))
        e = services.proposal_hire(proposal=p, by=owner)
        services.engagement_complete(engagement=e, by=owner)
        services.review_create(engagement=e, by=owner, rating=5)
        services.report_create(reporter=owner, target=g, reason="spam")
    return client_for(owner)


ENDPOINTS = [
    "/api/v1/freelancers/",
    "/api/v1/gigs/",
    "/api/v1/skills/",
    "/api/v1/proposals/",
    "/api/v1/invitations/",
    "/api/v1/engagements/",
    "/api/v1/reviews/",
    "/api/v1/reports/",
]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_list_query_count_does_not_grow_with_page_size(market, path, django_assert_max_num_queries):
    market.get("/api/v1/me/")  # first use of the token records last_used_at: keep it out of the count
    counts = []
    for size in (2, 25):
        with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(8):
            response = market.get(path, {"page_size": size})
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("path", ["/api/v1/freelancers/", "/api/v1/gigs/", "/api/v1/reviews/"])
def test_anonymous_list_query_count(market, path, django_assert_max_num_queries):
    for size in (2, 25):
        with django_assert_max_num_queries(4):
            assert APIClient().get(path, {"page_size": size}).status_code == 200


def test_match_list_reads_a_page_of_a_stored_run_in_three_queries(market, django_assert_max_num_queries):
    """Token, runs, page (its total comes with it): the same at any page size, and the total and links
    agree with the freelancers still shown."""
    from marketplace.models import Gig
    from matching.models import MatchResult, MatchRun

    gig = Gig.objects.get(pk=market.get("/api/v1/gigs/", {"mine": "true"}).json()["results"][0]["id"])
    freelancers = FreelancerFactory.create_batch(26)
    run = MatchRun.objects.create(gig=gig, status=MatchRun.Status.DONE, candidate_count=len(freelancers))
    MatchResult.objects.bulk_create(
        MatchResult(run=run, freelancer=f, rank=i + 1, score=1 - i / 100) for i, f in enumerate(freelancers)
    )
    hidden = freelancers[3]
    hidden.visibility = "hidden"
    hidden.save(update_fields=["visibility"])
    url = f"/api/v1/gigs/{gig.id}/matches/"
    for size in (2, 25):
        with django_assert_max_num_queries(3):
            body = market.get(url, {"page_size": size}).json()
        assert body["count"] == len(freelancers) - 1
        assert len(body["results"]) == size
        assert hidden.id not in {r["freelancer"]["id"] for r in body["results"]}
    last = market.get(url, {"page_size": 10, "page": "last"}).json()
    assert last["next"] is None and [r["rank"] for r in last["results"]] == list(range(22, 27))
    assert market.get(url, {"page_size": 10, "page": 4}).status_code == 404
    assert market.get(url, {"page": "x"}).status_code == 404
