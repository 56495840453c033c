"""The moderation queues and actions in Django admin, driven through HTTP as a moderator's browser does."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from marketplace import services
from marketplace.models import Gig, ModerationAction, ModerationStatus, Report, Skill
from tests.factories import FreelancerFactory, GigFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, moderator):
    client.force_login(moderator)
    return client


def _report(target, reason="spam", details=""):
    return services.report_create(reporter=UserFactory(), target=target, reason=reason, details=details)


def _act(staff, model_name, action, ids, **form):
    url = reverse(f"admin:marketplace_{model_name}_changelist")
    return staff.post(url, {"action": action, "_selected_action": [str(i) for i in ids], **form})


def test_reports_queue_has_one_row_per_item_with_counts(staff, settings):
    settings.MODERATION_REPORT_THRESHOLD = 99
    busy, quiet = GigFactory(title="Too good to be true"), GigFactory(title="Quiet gig")
    profile = FreelancerFactory(display_name="Reported Person")
    for _ in range(3):
        _report(busy, details="asks for fees")
    _report(quiet, reason="misleading")
    _report(profile, reason="inappropriate")
    dismissed = _report(GigFactory(title="Already handled"))
    dismissed.status = Report.Status.DISMISSED
    dismissed.save()

    response = staff.get(reverse("admin:marketplace_reporteditem_changelist"))
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert (rows[0].target_id, rows[0].open_count) == (busy.pk, 3)  # most reported first
    assert sorted((r.target_type.model, r.target_id, r.open_count) for r in rows) == sorted(
        [
            ("gig", busy.pk, 3),
            ("gig", quiet.pk, 1),
            ("freelancerprofile", profile.pk, 1),
        ]
    )
    html = response.content.decode()
    assert "Too good to be true" in html and "Spam or scam (3)" in html and "Already handled" not in html


def test_an_action_without_a_reason_changes_nothing(staff):
    gig = GigFactory()
    report = _report(gig)
    response = _act(staff, "reporteditem", "hide_reported", [report.pk])
    assert response.status_code == 200
    assert b'name="reason"' in response.content  # the intermediate page asks for the reason
    response = _act(staff, "reporteditem", "hide_reported", [report.pk], apply="yes", reason="  ")
    assert response.status_code == 200 and b"A reason is required" in response.content
    assert Gig.objects.get(pk=gig.pk).moderation_status == ModerationStatus.APPROVED
    assert not ModerationAction.objects.exists()


def test_hide_and_suspend_from_the_reports_queue(staff, moderator):
    gig = GigFactory()
    report = _report(gig)
    response = _act(staff, "reporteditem", "hide_reported", [report.pk], apply="yes", reason="Advance-fee scam")
    assert response.status_code == 302
    gig.refresh_from_db()
    assert (gig.moderation_status, gig.moderation_reason) == ("hidden", "Advance-fee scam")
    assert Report.objects.get().status == "actioned"

    # Reported again later: suspend the owner from the queue.
    report = _report(gig, reason="off_platform")
    _act(staff, "reporteditem", "suspend_reported_owner", [report.pk], apply="yes", reason="Second offence")
    gig.created_by.refresh_from_db()
    assert gig.created_by.is_suspended
    assert list(ModerationAction.objects.order_by("id").values_list("action", "moderator")) == [
        ("hide", moderator.pk),
        ("suspend", moderator.pk),
    ]
    assert not staff.get(reverse("admin:marketplace_reporteditem_changelist")).context["cl"].result_list


def test_dismiss_all_reports_on_an_item(staff):
    gig = GigFactory()
    first, second = _report(gig), _report(gig)
    _act(staff, "reporteditem", "dismiss_reports", [second.pk], apply="yes", reason="Legitimate")
    assert set(Report.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)) == {"dismissed"}
    assert ModerationAction.objects.filter(action="dismiss_report").count() == 2


def test_gig_review_queue_lists_pending_gigs_and_bulk_approves(staff, settings):
    held = [GigFactory(moderation_status="pending", title=f"Held {i}") for i in range(2)]
    GigFactory(title="Already public")
    response = staff.get(reverse("admin:marketplace_gigreviewqueue_changelist"))
    assert {g.pk for g in response.context["cl"].result_list} == {g.pk for g in held}
    _act(staff, "gigreviewqueue", "approve", [g.pk for g in held], apply="yes", reason="Checked both")
    assert set(Gig.objects.filter(pk__in=[g.pk for g in held]).values_list("moderation_status", flat=True)) == {
        "approved"
    }
    assert ModerationAction.objects.filter(action="approve", reason="Checked both").count() == 2


def test_reject_from_the_gig_admin_stores_the_reason_for_the_client(staff):
    gig = GigFactory(moderation_status="pending")
    _act(staff, "gig", "reject", [gig.pk], apply="yes", reason="Please remove the phone number")
    gig.refresh_from_db()
    assert (gig.moderation_status, gig.moderation_reason) == ("rejected", "Please remove the phone number")


def test_audit_trail_is_shown_on_the_objects_page_and_nothing_can_be_deleted(staff, moderator):
    gig = GigFactory()
    _act(staff, "gig", "hide", [gig.pk], apply="yes", reason="Duplicate posting of gig 12")
    page = staff.get(reverse("admin:marketplace_gig_change", args=[gig.pk])).content.decode()
    assert "Moderation audit trail" in page and "Duplicate posting of gig 12" in page and moderator.email in page
    assert staff.get(reverse("admin:marketplace_gig_delete", args=[gig.pk])).status_code == 403
    assert staff.get(reverse("admin:marketplace_report_changelist")).status_code == 200
    ct = ContentType.objects.get_for_model(ModerationAction)
    row = ModerationAction.objects.get()
    assert staff.get(reverse("admin:marketplace_moderationaction_delete", args=[row.pk])).status_code == 403
    assert ct.model == "moderationaction"


def test_moderation_state_cannot_be_edited_by_hand(staff):
    gig = GigFactory(moderation_status="pending")
    page = staff.get(reverse("admin:marketplace_gig_change", args=[gig.pk])).content.decode()
    assert 'name="moderation_status"' not in page  # read-only: decisions go through the actions


def test_user_admin_suspends_with_a_reason(staff, moderator):
    user = UserFactory()
    url = reverse("admin:accounts_user_changelist")
    staff.post(url, {"action": "suspend", "_selected_action": [str(user.pk)], "apply": "yes", "reason": "Chargebacks"})
    user.refresh_from_db()
    assert user.is_suspended and user.suspended_reason == "Chargebacks"
    page = staff.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()
    assert "Chargebacks" in page and "User suspended" in page


def test_unreviewed_skills_queue_and_merge_action(staff):
    canonical = Skill.objects.get(name="Prompt engineering")
    typed = services.skill_resolve(name="Promptcraft sorcery")
    for gig in (GigFactory(), GigFactory()):
        services.gig_skills_replace(gig, [services.SkillNeed("Promptcraft sorcery")])
    response = staff.get(reverse("admin:marketplace_skillreviewqueue_changelist"))
    assert typed in response.context["cl"].result_list and canonical not in response.context["cl"].result_list
    html = response.content.decode()
    assert '<td class="field-profiles_claiming">0</td>' in html and '<td class="field-gigs_asking">2</td>' in html
    response = _act(staff, "skillreviewqueue", "skill_merge", [typed.pk])
    assert b'name="into"' in response.content
    _act(staff, "skillreviewqueue", "skill_merge", [typed.pk], apply="yes", reason="Same skill", into=canonical.pk)
    typed.refresh_from_db()
    assert typed.merged_into == canonical
    assert typed not in staff.get(reverse("admin:marketplace_skillreviewqueue_changelist")).context["cl"].result_list


def test_rename_works_on_exactly_one_skill(staff):
    a, b = services.skill_resolve(name="Foo skill one"), services.skill_resolve(name="Bar skill two")
    response = _act(staff, "skill", "skill_rename", [a.pk, b.pk], apply="yes", reason="r", name="X")
    assert response.status_code == 302
    assert set(Skill.objects.filter(pk__in=[a.pk, b.pk]).values_list("name", flat=True)) == {
        "Foo skill one",
        "Bar skill two",
    }
    _act(staff, "skill", "skill_rename", [a.pk], apply="yes", reason="Clearer", name="Foo skill")
    assert Skill.objects.get(pk=a.pk).name == "Foo skill"


def test_gig_page_shows_latest_match_run_with_explanations(staff):
    from matching.models import MatchResult, MatchRun

    gig = GigFactory()
    profile = FreelancerFactory(display_name="Top Candidate")
    run = MatchRun.objects.create(gig=gig, status="done", trigger="gig_changed", candidate_count=1)
    MatchResult.objects.create(
        run=run,
        freelancer=profile,
        rank=1,
        score=0.8731,
        components={"semantic": 0.91},
        explanation={"summary": ["Covers 3 of 3 required skills", "Rate within budget"]},
    )
    page = staff.get(reverse("admin:marketplace_gig_change", args=[gig.pk])).content.decode()
    assert "Top Candidate" in page and "0.873" in page and "Covers 3 of 3 required skills" in page
    assert "semantic 0.91" in page
    assert reverse("admin:matching_matchrun_change", args=[run.pk]) in page


def test_recompute_and_reembed_actions_announce_to_matching(staff, django_capture_on_commit_callbacks):
    from marketplace import signals

    gig, profile = GigFactory(), FreelancerFactory()
    seen = []

    def receiver(sender, **kwargs):
        seen.append({k: v for k, v in kwargs.items() if k.endswith("_id")})

    signals.gig_changed.connect(receiver)
    signals.profile_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _act(staff, "gig", "recompute_matches", [gig.pk])
            _act(staff, "freelancerprofile", "reembed_profiles", [profile.pk])
    finally:
        signals.gig_changed.disconnect(receiver)
        signals.profile_changed.disconnect(receiver)
    assert seen == [{"gig_id": gig.pk}, {"profile_id": profile.pk}]
    assert set(ModerationAction.objects.values_list("action", flat=True)) == {"rematch", "reembed"}


def test_a_granted_moderator_who_is_not_superuser_works_the_queue_but_cannot_delete(client):
    from django.core.management import call_command

    person = UserFactory(role="client", email="mia@matchwork.example")
    call_command("moderator_grant", "MIA@matchwork.example")
    person.refresh_from_db()
    assert person.is_staff and not person.is_superuser and person.role == "moderator"
    client.force_login(person)
    gig = GigFactory()
    report = _report(gig)
    assert client.get(reverse("admin:marketplace_reporteditem_changelist")).status_code == 200
    _act(client, "reporteditem", "hide_reported", [report.pk], apply="yes", reason="Scam")
    assert Gig.objects.get(pk=gig.pk).moderation_status == "hidden"
    assert client.get(reverse("admin:marketplace_skill_delete", args=[Skill.objects.first().pk])).status_code == 403
    assert client.get(reverse("admin:accounts_user_delete", args=[gig.created_by_id])).status_code == 403
    assert client.get(reverse("admin:marketplace_client_delete", args=[gig.client_id])).status_code == 403
