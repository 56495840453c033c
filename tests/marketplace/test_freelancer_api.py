"""Freelancer directory, own profile, and the skill taxonomy through HTTP."""

from decimal import Decimal

import pytest
from django.urls import Resolver404
from rest_framework.test import APIClient

from marketplace import signals
from marketplace.api import urls as marketplace_urls
from marketplace.models import FreelancerProfile, FreelancerSkill, ModerationStatus, Skill
from tests.conftest import client_for
from tests.factories import FreelancerFactory, UserFactory

pytestmark = pytest.mark.django_db


def _ids(path="/api/v1/freelancers/", **params):
    return [f["id"] for f in APIClient().get(path, params).json()["results"]]


def test_directory_filters_and_ordering():
    python, coaching = Skill.objects.get(name="Python"), Skill.objects.get(name="Executive coaching")
    cheap = FreelancerFactory(
        hourly_rate=Decimal("30"),
        available_hours_per_week=10,
        languages=["en", "de"],
        timezone="Europe/Berlin",
        rating_avg=Decimal("4.10"),
    )
    pricey = FreelancerFactory(
        hourly_rate=Decimal("150"),
        available_hours_per_week=40,
        languages=["en"],
        timezone="America/New_York",
        rating_avg=Decimal("4.90"),
    )
    FreelancerSkill.objects.create(profile=cheap, skill=python, level="expert")
    FreelancerSkill.objects.create(profile=pricey, skill=coaching, level="expert")
    FreelancerSkill.objects.create(profile=pricey, skill=python, level="beginner")

    assert set(_ids(skill="python")) == {cheap.id, pricey.id}  # no duplicates from the join
    assert len(_ids(skill="python")) == 2
    assert _ids(category="coaching_ld") == [pricey.id]
    assert _ids(max_rate=100) == [cheap.id]
    assert _ids(min_hours=20) == [pricey.id]
    assert _ids(language="de") == [cheap.id]
    assert _ids(timezone="America/New_York") == [pricey.id]
    assert _ids(ordering="hourly_rate") == [cheap.id, pricey.id]
    assert _ids(ordering="-rating_avg") == [pricey.id, cheap.id]


def test_hidden_unapproved_and_suspended_profiles_leave_the_directory():
    shown = FreelancerFactory()
    hidden = FreelancerFactory(visibility="hidden")
    FreelancerFactory(moderation_status=ModerationStatus.REJECTED)
    FreelancerFactory(user=UserFactory(role="freelancer", is_suspended=True))
    assert _ids() == [shown.id]
    assert APIClient().get(f"/api/v1/freelancers/{hidden.id}/").status_code == 404
    # the owner still sees and can unhide it
    api = client_for(hidden.user)
    assert api.get("/api/v1/freelancers/me/").json()["visibility"] == "hidden"
    assert api.patch("/api/v1/freelancers/me/", {"visibility": "public"}, format="json").status_code == 200
    assert set(_ids()) == {shown.id, hidden.id}


def test_owner_creates_edits_and_hides_profile_with_concurrency_and_signal(django_capture_on_commit_callbacks):
    user = UserFactory(role="freelancer")
    api = client_for(user)
    assert api.get("/api/v1/freelancers/me/").status_code == 404
    seen = []

    def receiver(sender, profile_id, **kwargs):
        seen.append(profile_id)

    signals.profile_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            created = api.post(
                "/api/v1/freelancers/me/",
                {
                    "display_name": "Zoe",
                    "headline": "Annotator",
                    "hourly_rate": "25",
                    "skills": [{"name": "cvat", "level": "expert"}, {"name": "Quantum basket weaving"}],
                },
                format="json",
            )
        assert created.status_code == 201
        with django_capture_on_commit_callbacks(execute=True):
            edited = api.patch("/api/v1/freelancers/me/", {"headline": "Lead annotator", "version": 1}, format="json")
        assert edited.status_code == 200 and edited.json()["version"] == 2
        with django_capture_on_commit_callbacks(execute=True):
            stale = api.patch(
                "/api/v1/freelancers/me/", {"headline": "Lost update"}, format="json", HTTP_IF_MATCH='"1"'
            )
        assert stale.status_code == 412
    finally:
        signals.profile_changed.disconnect(receiver)
    profile = FreelancerProfile.objects.get(user=user)
    assert seen == [profile.id, profile.id]
    assert (profile.headline, profile.version) == ("Lead annotator", 2)
    # free text is normalised; an unknown skill is kept as an unreviewed skill, not dropped
    names = {c.skill.name: c.skill.review_state for c in profile.skill_claims.select_related("skill")}
    assert names == {"CVAT": "approved", "Quantum basket weaving": "unreviewed"}
    assert (
        api.post(
            "/api/v1/freelancers/me/", {"display_name": "Z", "headline": "H", "hourly_rate": "1"}, format="json"
        ).status_code
        == 409
    )


def test_clients_cannot_create_a_freelancer_profile(client_org):
    api = client_for(client_org.memberships.get().user)
    response = api.post(
        "/api/v1/freelancers/me/", {"display_name": "Z", "headline": "H", "hourly_rate": "1"}, format="json"
    )
    assert response.status_code == 403
    assert not FreelancerProfile.objects.exists()


def test_skill_search_by_name_alias_and_category():
    def names(**params):
        return [s["name"] for s in APIClient().get("/api/v1/skills/", {"page_size": 100, **params}).json()["results"]]

    assert "LLM fine-tuning" in names(search="fine tun")
    assert names(search="playwright") == ["Headless browser automation"]  # an alias
    coaching = names(category="coaching_ld")
    assert coaching and all(Skill.objects.get(name=n).category == "coaching_ld" for n in coaching)
    Skill.objects.create(name="Unreviewed thing", slug="unreviewed-thing", review_state="unreviewed")
    assert names(search="unreviewed thing") == []


def test_freelancers_me_subpaths_are_left_for_the_matching_engine():
    for pattern in marketplace_urls.urlpatterns:
        assert pattern.resolve("freelancers/me/recommended-gigs/") is None, pattern
        assert pattern.resolve("gigs/1/matches/") is None, pattern
    with pytest.raises(Resolver404):
        from django.urls import resolve

        resolve("/api/v1/freelancers/me/anything-else/")
