"""Gigs through HTTP: drafts, visibility, publishing, closing, optimistic concurrency, filters."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from marketplace import services, signals
from marketplace.models import Gig, GigSkill, ModerationStatus, Proposal, Skill
from tests.conftest import client_for
from tests.factories import ClientFactory, FreelancerFactory, GigFactory

pytestmark = pytest.mark.django_db
GIG = {"title": "Label images", "description": "Boxes", "budget_type": "hourly", "budget_min": "10", "budget_max": "20"}


@pytest.fixture
def owner(client_org):
    return client_org.memberships.get().user


def test_draft_is_visible_to_its_client_only(owner, client_org):
    api = client_for(owner)
    draft = api.post("/api/v1/gigs/", GIG, format="json").json()
    colleague_list = api.get("/api/v1/gigs/", {"mine": "true"}).json()["results"]
    assert [g["id"] for g in colleague_list] == [draft["id"]]
    assert APIClient().get(f"/api/v1/gigs/{draft['id']}/").status_code == 404
    other = client_for(ClientFactory().memberships.get().user)
    assert other.get(f"/api/v1/gigs/{draft['id']}/").status_code == 404
    assert draft["id"] not in [g["id"] for g in other.get("/api/v1/gigs/").json()["results"]]


def test_publish_close_and_illegal_transitions(owner):
    api = client_for(owner)
    gig = api.post("/api/v1/gigs/", GIG, format="json").json()
    assert api.post(f"/api/v1/gigs/{gig['id']}/publish/").json()["status"] == "published"
    again = api.post(f"/api/v1/gigs/{gig['id']}/publish/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition" and "published" in again.json()["error"]["message"]
    closed = api.post(f"/api/v1/gigs/{gig['id']}/close/").json()
    assert closed["status"] == "closed" and closed["closed_at"]
    assert api.post(f"/api/v1/gigs/{gig['id']}/close/").status_code == 409
    assert api.patch(f"/api/v1/gigs/{gig['id']}/", {"title": "x"}, format="json").status_code == 409
    assert APIClient().get(f"/api/v1/gigs/{gig['id']}/").status_code == 404  # closed leaves the public list
    assert Gig.objects.get(pk=gig["id"]).title == "Label images"


def test_stale_edit_is_refused_with_412(owner, gig):
    api = client_for(owner)
    response = api.get(f"/api/v1/gigs/{gig.id}/")
    etag = response["ETag"]
    assert etag == '"1"'
    first = api.patch(f"/api/v1/gigs/{gig.id}/", {"title": "First"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] == '"2"' and first.json()["version"] == 2
    stale = api.patch(f"/api/v1/gigs/{gig.id}/", {"title": "Second"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "precondition_failed"
    stale_body = api.patch(f"/api/v1/gigs/{gig.id}/", {"title": "Third", "version": 1}, format="json")
    assert stale_body.status_code == 412
    bad = api.patch(f"/api/v1/gigs/{gig.id}/", {"title": "x"}, format="json", HTTP_IF_MATCH="yesterday")
    assert bad.status_code == 400 and "If-Match" in bad.json()["error"]["fields"]
    gig.refresh_from_db()
    assert (gig.title, gig.version) == ("First", 2)


def test_edits_announce_the_gig_to_matching_after_commit(owner, gig, django_capture_on_commit_callbacks):
    seen = []

    def receiver(sender, gig_id, **kwargs):
        seen.append(gig_id)

    signals.gig_changed.connect(receiver)
    try:
        api = client_for(owner)
        with django_capture_on_commit_callbacks(execute=True):
            api.patch(f"/api/v1/gigs/{gig.id}/", {"skills": [{"name": "Python"}]}, format="json")
        with django_capture_on_commit_callbacks(execute=True):
            api.post(f"/api/v1/gigs/{gig.id}/close/")
        with django_capture_on_commit_callbacks(execute=True):  # a refused edit announces nothing
            api.patch(f"/api/v1/gigs/{gig.id}/", {"title": "x"}, format="json")
    finally:
        signals.gig_changed.disconnect(receiver)
    assert seen == [gig.id, gig.id]
    assert list(GigSkill.objects.filter(gig=gig).values_list("skill__name", flat=True)) == ["Python"]


def test_public_list_hides_unapproved_and_suspended_owners_gigs():
    visible = GigFactory(title="Visible")
    GigFactory(title="Pending moderation", moderation_status=ModerationStatus.PENDING)
    suspended_gig = GigFactory(title="Suspended owner")
    User.objects.filter(pk=suspended_gig.created_by_id).update(is_suspended=True)
    titles = [g["title"] for g in APIClient().get("/api/v1/gigs/").json()["results"]]
    assert titles == [visible.title]


def test_gig_filters_and_search():
    python = Skill.objects.get(name="Python")
    coaching = Skill.objects.get(name="Executive coaching")
    a = GigFactory(title="Scrape shops", budget_type="hourly", budget_min=40, budget_max=75, languages=["en", "de"])
    b = GigFactory(
        title="Coach a VP",
        description="Leadership",
        budget_type="fixed",
        budget_min=5000,
        budget_max=8000,
        languages=["en"],
    )
    GigSkill.objects.create(gig=a, skill=python)
    GigSkill.objects.create(gig=b, skill=coaching)

    def ids(**params):
        return {g["id"] for g in APIClient().get("/api/v1/gigs/", params).json()["results"]}

    assert ids(skill="python") == {a.id}
    assert ids(skill=str(coaching.id)) == {b.id}
    assert ids(category="coaching_ld") == {b.id}
    assert ids(budget_type="fixed") == {b.id}
    assert ids(min_budget=1000) == {b.id}
    assert ids(max_budget=100) == {a.id}
    assert ids(language="de") == {a.id}
    assert ids(search="leadership") == {b.id}
    assert ids(search="scrape SHOPS") == {a.id}


def test_proposal_rules(owner, gig):
    freelancer = FreelancerFactory()
    api = client_for(freelancer.user)
    body = {"gig": gig.id, "cover_letter": "Me!", "proposed_rate": "35"}
    first = api.post("/api/v1/proposals/", body, format="json")
    assert first.status_code == 201 and first.json()["status"] == "pending"
    assert api.post("/api/v1/proposals/", body, format="json").status_code == 409  # once per gig
    draft = GigFactory(client=gig.client, status=Gig.Status.DRAFT)
    response = api.post("/api/v1/proposals/", {**body, "gig": draft.id}, format="json")
    assert response.status_code == 400 and response.json()["error"]["fields"] == {"gig": ["Not found."]}

    proposal_id = first.json()["id"]
    client_api = client_for(owner)
    assert client_api.post(f"/api/v1/proposals/{proposal_id}/shortlist/").json()["status"] == "shortlisted"
    withdraw = api.post(f"/api/v1/proposals/{proposal_id}/withdraw/")
    assert withdraw.status_code == 409 and "shortlisted" in withdraw.json()["error"]["message"]
    assert client_api.get("/api/v1/proposals/", {"gig": gig.id}).json()["count"] == 1
    services.gig_close(gig=gig, by=owner)
    assert client_api.post(f"/api/v1/proposals/{proposal_id}/hire/").status_code == 409
    assert Proposal.objects.get(pk=proposal_id).status == "shortlisted"


def test_freelancer_cannot_invite_and_client_cannot_invite_hidden_profiles(owner, gig):
    hidden = FreelancerFactory(visibility="hidden")
    response = client_for(owner).post("/api/v1/invitations/", {"gig": gig.id, "freelancer": hidden.id}, format="json")
    assert response.status_code == 400 and "freelancer" in response.json()["error"]["fields"]
    visible = FreelancerFactory()
    again = {"gig": gig.id, "freelancer": visible.id}
    assert client_for(owner).post("/api/v1/invitations/", again, format="json").status_code == 201
    assert client_for(owner).post("/api/v1/invitations/", again, format="json").status_code == 409


def test_review_updates_rating_in_the_same_transaction(owner, gig):
    ratings = []
    for stars in (5, 4, 4):
        freelancer = FreelancerFactory() if not ratings else ratings[0][0]
        g = GigFactory(client=gig.client)
        p = services.proposal_create(gig=g, by=freelancer.user, cover_letter="x", proposed_rate=Decimal("1"))
        engagement = services.proposal_hire(proposal=p, by=owner)
        services.engagement_complete(engagement=engagement, by=owner)
        response = client_for(owner).post(
            "/api/v1/reviews/", {"engagement": engagement.id, "rating": stars}, format="json"
        )
        assert response.status_code == 201
        ratings.append((freelancer, stars))
    profile = ratings[0][0]
    profile.refresh_from_db()
    assert (profile.rating_avg, profile.rating_count, profile.completed_jobs) == (Decimal("4.33"), 3, 3)
    listed = APIClient().get("/api/v1/reviews/", {"freelancer": profile.id}).json()
    assert sorted(r["rating"] for r in listed["results"]) == [4, 4, 5]


def test_partial_edit_cannot_invert_the_budget(owner, gig):
    response = client_for(owner).patch(f"/api/v1/gigs/{gig.id}/", {"budget_min": "100"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"budget_min"}
    gig.refresh_from_db()
    assert (gig.budget_min, gig.version) == (Decimal("20.00"), 1)


def test_empty_edit_changes_nothing(owner, gig):
    response = client_for(owner).patch(f"/api/v1/gigs/{gig.id}/", {}, format="json")
    assert response.status_code == 200 and response.json()["version"] == 1
