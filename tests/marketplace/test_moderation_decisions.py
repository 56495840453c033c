"""Moderators' decisions: what the author, the public API and matching see afterwards, and the audit trail."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client as BrowserClient
from rest_framework.test import APIClient

from accounts.services import token_create
from marketplace import services
from marketplace.models import Gig, ModerationAction, ModerationStatus, Report
from marketplace.moderation import decisions
from marketplace.moderation.decisions import ModerationError
from tests.factories import FreelancerFactory, GigFactory, UserFactory

pytestmark = pytest.mark.django_db


def public_gig_ids() -> list[int]:
    return [g["id"] for g in APIClient().get("/api/v1/gigs/").json()["results"]]


def public_profile_ids() -> list[int]:
    return [p["id"] for p in APIClient().get("/api/v1/freelancers/").json()["results"]]


def test_a_reason_is_required_and_only_moderators_decide(moderator, gig):
    with pytest.raises(ModerationError, match="reason is required"):
        decisions.content_hide(target=gig, by=moderator, reason="   ")
    with pytest.raises(ModerationError, match="staff moderator"):
        decisions.content_hide(target=gig, by=UserFactory(role="client"), reason="I don't like it")
    assert Gig.objects.get(pk=gig.pk).moderation_status == ModerationStatus.APPROVED
    assert not ModerationAction.objects.exists()


def test_reject_shows_the_reason_to_the_client_through_the_api(moderator, gig):
    decisions.content_reject(target=gig, by=moderator, reason="Unpaid trial work is not allowed")
    owner_api = APIClient()
    owner_api.force_authenticate(gig.created_by)
    body = owner_api.get(f"/api/v1/gigs/{gig.pk}/").json()
    assert (body["moderation_status"], body["moderation_reason"]) == ("rejected", "Unpaid trial work is not allowed")
    assert gig.pk not in public_gig_ids()
    assert APIClient().get(f"/api/v1/gigs/{gig.pk}/").status_code == 404


def test_hide_closes_open_reports_and_writes_the_audit_trail(moderator, gig):
    reporters = [UserFactory(), UserFactory()]
    for reporter in reporters:
        services.report_create(reporter=reporter, target=gig, reason="spam")
    assert gig.pk in public_gig_ids()

    decisions.content_hide(target=gig, by=moderator, reason="Scam: asks for upfront fees")

    assert gig.pk not in public_gig_ids()
    assert set(Report.objects.values_list("status", flat=True)) == {"actioned"}
    assert Report.objects.filter(resolved_by=moderator, resolution_note__contains="upfront fees").count() == 2
    row = ModerationAction.objects.get(action="hide")
    assert row.moderator == moderator and row.target == Gig.objects.get(pk=gig.pk)
    assert row.reason == "Scam: asks for upfront fees"
    assert row.before["moderation_status"] in ("approved", "pending")
    assert row.after == {
        "moderation_status": "hidden",
        "moderation_reason": "Scam: asks for upfront fees",
        "reports_actioned": 2,
    }
    assert Gig.objects.filter(pk=gig.pk).exists()  # nothing deleted


def test_suspension_signs_the_user_out_and_hides_their_gigs_and_profile(moderator):
    gig = GigFactory()
    owner = gig.created_by
    profile = FreelancerFactory()
    assert gig.pk in public_gig_ids() and profile.pk in public_profile_ids()

    # The owner has a browser session and an API token.
    browser = BrowserClient()
    browser.force_login(owner)
    issued = token_create(user=owner)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    assert api.get("/api/v1/gigs/").status_code == 200
    sessions_before = Session.objects.count()

    decisions.user_suspend(user=owner, by=moderator, reason="Repeated scam gigs")
    decisions.user_suspend(user=profile.user, by=moderator, reason="Identity theft")

    owner.refresh_from_db()
    assert owner.is_suspended and owner.suspended_reason == "Repeated scam gigs" and owner.suspended_at
    assert Session.objects.count() == sessions_before - 1
    assert api.get("/api/v1/gigs/").status_code == 401
    assert gig.pk not in public_gig_ids()
    assert profile.pk not in public_profile_ids()
    row = ModerationAction.objects.get(action="suspend", target_id=owner.pk)
    assert row.after["sessions_deleted"] == 1 and row.after["tokens_revoked"] == 1

    decisions.user_unsuspend(user=owner, by=moderator, reason="Appeal accepted")
    assert gig.pk in public_gig_ids()


def test_suspension_announces_the_users_things_to_matching(moderator, django_capture_on_commit_callbacks):
    from marketplace import signals

    gig, profile = GigFactory(), FreelancerFactory()
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs.get("gig_id") or kwargs.get("profile_id"))

    signals.gig_changed.connect(receiver)
    signals.profile_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            decisions.user_suspend(user=gig.created_by, by=moderator, reason="Scam")
            decisions.user_suspend(user=profile.user, by=moderator, reason="Fake identity")
    finally:
        signals.gig_changed.disconnect(receiver)
        signals.profile_changed.disconnect(receiver)
    assert seen == [gig.pk, profile.pk]


def test_moderator_cannot_suspend_themselves(moderator):
    with pytest.raises(ModerationError):
        decisions.user_suspend(user=moderator, by=moderator, reason="oops")


def test_dismissing_a_report_leaves_the_target_alone(moderator, gig):
    report = services.report_create(reporter=UserFactory(), target=gig, reason="other", details="Looks odd")
    decisions.report_dismiss(report=report, by=moderator, reason="Legitimate gig")
    report.refresh_from_db()
    assert report.status == "dismissed" and report.resolution_note == "Legitimate gig"
    assert Gig.objects.get(pk=gig.pk).moderation_status == ModerationStatus.APPROVED
    with pytest.raises(ModerationError, match="already dismissed"):
        decisions.report_dismiss(report=report, by=moderator, reason="again")


def test_suspending_a_reported_items_owner_closes_its_reports(moderator, gig):
    services.report_create(reporter=UserFactory(), target=gig, reason="spam")
    decisions.target_owner_suspend(target=gig, by=moderator, reason="Spammer")
    assert gig.created_by.__class__.objects.get(pk=gig.created_by_id).is_suspended
    assert Report.objects.get().status == "actioned"


def test_hiding_a_review_takes_it_out_of_the_freelancers_rating(moderator):
    from decimal import Decimal

    from marketplace.models import Engagement, FreelancerProfile, Proposal, Review

    profile = FreelancerFactory()
    ratings = {}
    for stars in (5, 1):
        gig = GigFactory()
        proposal = Proposal.objects.create(gig=gig, freelancer=profile, cover_letter="Hi", proposed_rate=40)
        engagement = Engagement.objects.create(
            proposal=proposal, gig=gig, freelancer=profile, client=gig.client, agreed_rate=40, status="completed"
        )
        ratings[stars] = Review.objects.create(
            engagement=engagement, author=gig.created_by, direction="client_to_freelancer", rating=stars, text="."
        )
    services.freelancer_aggregates_refresh(profile.pk)
    assert FreelancerProfile.objects.get(pk=profile.pk).rating_avg == Decimal("3.00")

    decisions.content_hide(target=ratings[1], by=moderator, reason="Retaliation review from a banned client")
    profile.refresh_from_db()
    assert (profile.rating_avg, profile.rating_count) == (Decimal("5.00"), 1)
    decisions.content_approve(target=ratings[1], by=moderator, reason="Appeal: the review was fair")
    profile.refresh_from_db()
    assert (profile.rating_avg, profile.rating_count) == (Decimal("3.00"), 2)
