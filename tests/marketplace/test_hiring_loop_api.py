"""The whole hiring loop through HTTP only, as a web front end would drive it."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from marketplace.models import Engagement, FreelancerProfile, Gig, Invitation, Proposal, Review, Skill
from marketplace.moderation.decisions import content_approve

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-and-unusual-passphrase-42"


def _register_and_sign_in(api: APIClient, **body) -> APIClient:
    response = api.post("/api/v1/auth/register/", {"password": PASSWORD, **body}, format="json")
    assert response.status_code == 202, response.json()
    response = api.post("/api/v1/auth/token/", {"email": body["email"], "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.json()
    signed_in = APIClient()
    signed_in.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return signed_in


def test_register_profile_gig_invite_accept_hire_complete_review(moderator):
    anon = APIClient()
    client = _register_and_sign_in(
        anon,
        role="client",
        email="owner@northwind.example",
        full_name="Nora Owner",
        client={"name": "Northwind Retail", "country": "us"},
    )
    freelancer = _register_and_sign_in(anon, role="freelancer", email="ana@freelancer.example", full_name="Ana Costa")

    me = client.get("/api/v1/me/").json()
    assert me["role"] == "client" and me["client_membership"]["client_name"] == "Northwind Retail"

    # freelancer fills profile and skills (free text is normalised onto the taxonomy)
    response = freelancer.post(
        "/api/v1/freelancers/me/",
        {
            "display_name": "Ana Costa",
            "headline": "ML engineer: LLM fine-tuning",
            "hourly_rate": "120.00",
            "available_hours_per_week": 30,
            "timezone": "Europe/Lisbon",
            "languages": ["en", "pt"],
            "skills": [{"name": "llm fine tuning", "level": "expert", "years": 4}, {"name": "PyTorch"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    profile = response.json()
    assert {s["name"] for s in profile["skills"]} == {"LLM fine-tuning", "PyTorch"}
    assert profile["version"] == 1 and response["ETag"] == '"1"'

    # client posts a draft and publishes it
    response = client.post(
        "/api/v1/gigs/",
        {
            "title": "Fine-tune an open LLM to triage claims",
            "description": "Classify claim emails.",
            "budget_type": "hourly",
            "budget_min": "100",
            "budget_max": "150",
            "hours_per_week": 20,
            "languages": ["en"],
            "skills": [{"name": "LLM fine-tuning", "min_level": "advanced"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    gig = response.json()
    assert gig["status"] == "draft"
    assert anon.get(f"/api/v1/gigs/{gig['id']}/").status_code == 404  # drafts are private
    response = client.post(f"/api/v1/gigs/{gig['id']}/publish/")
    assert response.status_code == 200 and response.json()["status"] == "published"
    # A new client's first gig waits for a moderator (moderation policy, issue 7) before it is public.
    assert response.json()["moderation_status"] == "pending"
    assert gig["id"] not in [g["id"] for g in anon.get("/api/v1/gigs/").json()["results"]]
    content_approve(target=Gig.objects.get(pk=gig["id"]), by=moderator, reason="Looks legitimate")
    assert gig["id"] in [g["id"] for g in anon.get("/api/v1/gigs/").json()["results"]]

    # the freelancer shows up in the public directory by skill; the client invites them
    listed = anon.get("/api/v1/freelancers/", {"skill": "llm-fine-tuning"}).json()["results"]
    assert [f["id"] for f in listed] == [profile["id"]]
    response = client.post(
        "/api/v1/invitations/", {"gig": gig["id"], "freelancer": profile["id"], "message": "Keen?"}, format="json"
    )
    assert response.status_code == 201, response.json()
    invitation = response.json()

    # the freelancer sees it and accepts: that creates a proposal
    assert [i["id"] for i in freelancer.get("/api/v1/invitations/").json()["results"]] == [invitation["id"]]
    response = freelancer.post(
        f"/api/v1/invitations/{invitation['id']}/accept/", {"cover_letter": "Happy to help."}, format="json"
    )
    assert response.status_code == 201, response.json()
    proposal = response.json()
    assert proposal["status"] == "pending" and proposal["invitation"] == invitation["id"]
    assert proposal["proposed_rate"] == "120.00"  # defaults to the profile's rate

    # the client hires: the engagement starts
    response = client.post(f"/api/v1/proposals/{proposal['id']}/hire/")
    assert response.status_code == 201, response.json()
    engagement = response.json()
    assert engagement["status"] == "active" and engagement["agreed_rate"] == "120.00"

    # reviewing before completion is refused
    response = client.post("/api/v1/reviews/", {"engagement": engagement["id"], "rating": 5}, format="json")
    assert response.status_code == 409

    response = freelancer.post(f"/api/v1/engagements/{engagement['id']}/complete/")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert client.post(f"/api/v1/engagements/{engagement['id']}/complete/").status_code == 409

    response = client.post(
        "/api/v1/reviews/", {"engagement": engagement["id"], "rating": 5, "text": "Excellent."}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["direction"] == "client_to_freelancer"
    response = freelancer.post("/api/v1/reviews/", {"engagement": engagement["id"], "rating": 4}, format="json")
    assert response.status_code == 201 and response.json()["direction"] == "freelancer_to_client"
    # once per side
    again = client.post("/api/v1/reviews/", {"engagement": engagement["id"], "rating": 1}, format="json")
    assert again.status_code == 409

    public = anon.get(f"/api/v1/freelancers/{profile['id']}/").json()
    assert public["rating_avg"] == "5.00" and public["rating_count"] == 1 and public["completed_jobs"] == 1

    # and the database agrees
    stored = FreelancerProfile.objects.get(pk=profile["id"])
    assert (stored.rating_avg, stored.rating_count, stored.completed_jobs) == (Decimal("5.00"), 1, 1)
    assert Gig.objects.get(pk=gig["id"]).status == Gig.Status.PUBLISHED
    assert Invitation.objects.get(pk=invitation["id"]).status == Invitation.Status.ACCEPTED
    assert Proposal.objects.get(pk=proposal["id"]).status == Proposal.Status.HIRED
    assert Engagement.objects.get(pk=engagement["id"]).status == Engagement.Status.COMPLETED
    assert Review.objects.filter(engagement_id=engagement["id"]).count() == 2
    assert not Skill.objects.filter(review_state=Skill.ReviewState.UNREVIEWED).exists()
