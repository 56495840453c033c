"""The moderation policy, rule by rule, and its hooks in publishing, profile edits and reports."""

import pytest
from rest_framework.test import APIClient

from marketplace import services
from marketplace.models import FreelancerProfile, Gig, ModerationAction, ModerationStatus
from marketplace.moderation import policy
from marketplace.moderation.decisions import content_approve, content_hide
from tests.factories import ClientFactory, FreelancerFactory, GigFactory, UserFactory

pytestmark = pytest.mark.django_db


def rules(text: str) -> set[str]:
    return {flag.rule for flag in policy.text_flags(text)}


# --------------------------------------------------------------------------- text rules


@pytest.mark.parametrize(
    "text",
    [
        "Send your CV to jane.doe@example.com",
        "write to jane at gmail dot com",
        "Call me on +44 20 7946 0958",
        "my number is 0176 1234 5678",
        "(415) 555-0132 after 6pm",
    ],
)
def test_contact_details_trip_the_rule(text):
    assert "contact_details" in rules(text)


@pytest.mark.parametrize(
    "text",
    [
        "Label 10,000 images between 2024-01-15 and 2024-03-01",
        "Budget 1500 USD, 20 hours/week for 12 weeks",
        "Experience with pandas 2.2 and Python 3.11 required",
        "Reach 95% inter-annotator agreement on 250000 items",
    ],
)
def test_ordinary_numbers_are_not_contact_details(text):
    assert rules(text) == set()


@pytest.mark.parametrize(
    "text",
    [
        "Contact me on WhatsApp for details",
        "Please message me via Telegram",
        "telegram: @quickmoney",
        "DM me on discord for the brief",
    ],
)
def test_off_platform_contact_trips_the_rule(text):
    assert "off_platform_contact" in rules(text)


@pytest.mark.parametrize(
    "text",
    [
        "Build a Telegram bot that answers FAQs",
        "Classify WhatsApp support chats by intent",
        "Integrate the Signal messenger API",
    ],
)
def test_messenger_names_as_work_topics_are_fine(text):
    assert rules(text) == set()


@pytest.mark.parametrize(
    "text",
    [
        "I will pay via PayPal to save fees",
        "Payment by Western Union only",
        "we pay in crypto (USDT)",
        "Bitcoin payment on delivery",
        "send the deposit with a gift card",
    ],
)
def test_off_platform_payment_trips_the_rule(text):
    assert "off_platform_payment" in rules(text)


@pytest.mark.parametrize(
    "text",
    [
        "Annotate crypto exchange order books for fraud research",
        "Migrate our PayPal checkout integration to the new API",
    ],
)
def test_payment_providers_as_work_topics_are_fine(text):
    assert rules(text) == set()


def test_banned_terms_come_from_settings_and_match_whole_words(settings):
    settings.MODERATION_BANNED_TERMS = ["essay mill", "casino"]
    assert "banned_term" in rules("Write for our Essay Mill, good money")
    assert "banned_term" in rules("Online CASINO reviews")
    assert rules("Casinos are not mentioned here") == set()  # whole words only
    settings.MODERATION_BANNED_TERMS = []
    assert rules("Online casino reviews") == set()


# --------------------------------------------------------------------------- gigs at publication


def _draft(client, **fields) -> Gig:
    owner = client.memberships.get(is_owner=True).user
    return services.gig_create(
        client=client,
        created_by=owner,
        budget_type="hourly",
        budget_min=20,
        budget_max=40,
        **{"title": "Label shelf photos", "description": "Bounding boxes around products.", **fields},
    )


def _publish(gig: Gig) -> Gig:
    return services.gig_publish(gig=gig, by=gig.created_by)


def test_new_clients_first_gig_waits_for_review_then_trusted(moderator):
    client = ClientFactory()
    first = _publish(_draft(client))
    assert first.moderation_status == ModerationStatus.PENDING
    assert "new client" in first.moderation_reason
    row = ModerationAction.objects.get(target_id=first.pk, action=ModerationAction.Action.AUTO_HOLD)
    assert row.moderator is None and row.after["rules"] == ["new_client"]

    content_approve(target=first, by=moderator, reason="Checked the company")
    second = _publish(_draft(client, title="Second batch"))
    assert second.moderation_status == ModerationStatus.APPROVED
    assert ModerationAction.objects.filter(target_id=second.pk, action=ModerationAction.Action.AUTO_APPROVE).exists()


def test_new_client_rule_can_be_switched_off(settings):
    settings.MODERATION_NEW_CLIENT_GIGS = 0
    assert _publish(_draft(ClientFactory())).moderation_status == ModerationStatus.APPROVED


@pytest.mark.parametrize(
    ("description", "rule_text"),
    [
        ("Email me at boss@shady.example to start", "contact details"),
        ("Contact me on WhatsApp before applying", "contacted outside"),
        ("We pay via PayPal friends and family", "payment outside"),
    ],
)
def test_an_established_clients_gig_with_a_tripping_text_is_held(settings, description, rule_text):
    settings.MODERATION_NEW_CLIENT_GIGS = 0
    gig = _publish(_draft(ClientFactory(), description=description))
    assert gig.moderation_status == ModerationStatus.PENDING
    assert rule_text in gig.moderation_reason  # the client sees why, through the API


def test_held_gig_is_not_public_until_approved(settings, moderator):
    settings.MODERATION_NEW_CLIENT_GIGS = 0
    gig = _publish(_draft(ClientFactory(), description="Pay via Western Union"))
    anon = APIClient()
    assert gig.pk not in [g["id"] for g in anon.get("/api/v1/gigs/").json()["results"]]
    assert anon.get(f"/api/v1/gigs/{gig.pk}/").status_code == 404
    content_approve(target=gig, by=moderator, reason="Payment sentence removed with the client by phone")
    assert gig.pk in [g["id"] for g in anon.get("/api/v1/gigs/").json()["results"]]


def test_editing_a_public_gig_to_add_contact_details_sends_it_back_to_review(settings):
    settings.MODERATION_NEW_CLIENT_GIGS = 0
    gig = _publish(_draft(ClientFactory()))
    assert gig.moderation_status == ModerationStatus.APPROVED
    gig = services.gig_update(gig=gig, by=gig.created_by, description="Text me: +1 415 555 0132")
    assert gig.moderation_status == ModerationStatus.PENDING
    # An innocent edit of a held gig does not approve it: only a moderator does.
    gig = services.gig_update(gig=gig, by=gig.created_by, description="Plain text again")
    assert Gig.objects.get(pk=gig.pk).moderation_status == ModerationStatus.PENDING


# --------------------------------------------------------------------------- profiles


def test_profile_with_contact_details_is_held_and_released_by_a_clean_edit():
    user = UserFactory(role="freelancer")
    profile = services.freelancer_profile_create(
        user=user, display_name="Ana", headline="Annotator", hourly_rate=30, bio="WhatsApp me: +351 912 345 678"
    )
    assert profile.moderation_status == ModerationStatus.PENDING
    assert profile.pk not in [p["id"] for p in APIClient().get("/api/v1/freelancers/").json()["results"]]
    profile = services.freelancer_profile_update(profile=profile, by=user, bio="Careful image annotation.")
    assert profile.moderation_status == ModerationStatus.APPROVED
    assert profile.pk in [p["id"] for p in APIClient().get("/api/v1/freelancers/").json()["results"]]


def test_clean_profile_is_approved_at_once_and_an_edit_can_hold_it():
    user = UserFactory(role="freelancer")
    profile = services.freelancer_profile_create(user=user, display_name="Ben", headline="Coach", hourly_rate=90)
    assert profile.moderation_status == ModerationStatus.APPROVED
    profile = services.freelancer_profile_update(profile=profile, by=user, bio="Pay me in bitcoin, payment upfront")
    assert profile.moderation_status == ModerationStatus.PENDING


def test_policy_never_overrides_a_moderators_hide(moderator):
    profile = FreelancerFactory()
    content_hide(target=profile, by=moderator, reason="Fake credentials")
    profile = services.freelancer_profile_update(profile=profile, by=profile.user, bio="All clean now")
    assert profile.moderation_status == ModerationStatus.HIDDEN


# --------------------------------------------------------------------------- reports


def test_enough_open_reports_take_a_gig_out_of_public_view(settings):
    settings.MODERATION_REPORT_THRESHOLD = 2
    gig = GigFactory()
    services.report_create(reporter=UserFactory(), target=gig, reason="spam")
    assert Gig.objects.get(pk=gig.pk).moderation_status == ModerationStatus.APPROVED
    services.report_create(reporter=UserFactory(), target=gig, reason="off_platform")
    gig.refresh_from_db()
    assert gig.moderation_status == ModerationStatus.PENDING
    assert "reported" in gig.moderation_reason
    assert ModerationAction.objects.filter(target_id=gig.pk, action="auto_hold", after__rules=["reports"]).exists()


def test_reports_over_threshold_hold_a_profile_through_the_api(settings):
    settings.MODERATION_REPORT_THRESHOLD = 1
    profile = FreelancerFactory()
    reporter = UserFactory(role="client")
    api = APIClient()
    api.force_authenticate(reporter)
    response = api.post(
        "/api/v1/reports/",
        {"target_type": "freelancer", "target_id": profile.pk, "reason": "misleading", "details": "Fake reviews"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert FreelancerProfile.objects.get(pk=profile.pk).moderation_status == ModerationStatus.PENDING
