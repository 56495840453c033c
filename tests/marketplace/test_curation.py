"""Taxonomy curation: merging free-text skills into canonical ones, renaming, recategorising."""

import pytest

from marketplace import services, signals
from marketplace.models import FreelancerSkill, GigSkill, ModerationAction, Skill
from marketplace.moderation import curation
from marketplace.moderation.decisions import ModerationError
from marketplace.services import SkillClaim, SkillNeed
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced():
    """Profile and gig ids announced to matching (after commit) during the test."""
    seen = {"profiles": [], "gigs": []}

    def on_profile(sender, profile_id, **kwargs):
        seen["profiles"].append(profile_id)

    def on_gig(sender, gig_id, **kwargs):
        seen["gigs"].append(gig_id)

    signals.profile_changed.connect(on_profile)
    signals.gig_changed.connect(on_gig)
    yield seen
    signals.profile_changed.disconnect(on_profile)
    signals.gig_changed.disconnect(on_gig)


def _profile(skills):
    return services.freelancer_profile_create(
        user=UserFactory(role="freelancer"), display_name="P", headline="Annotator", hourly_rate=30, skills=skills
    )


def _gig(needs):
    client = ClientFactory()
    return services.gig_create(
        client=client,
        created_by=client.memberships.get().user,
        title="Gig",
        description="Work",
        budget_type="hourly",
        budget_min=10,
        budget_max=20,
        skills=needs,
    )


def test_merge_moves_claims_and_needs_keeping_the_stronger_one(
    moderator, announced, django_capture_on_commit_callbacks
):
    canonical = Skill.objects.get(name="Data annotation")
    typed = services.skill_resolve(name="Polygon tracing wizardry")
    assert typed.review_state == Skill.ReviewState.UNREVIEWED

    only_typed = _profile([SkillClaim("Polygon tracing wizardry", level="advanced", years=3)])
    both = _profile(
        [
            SkillClaim("Polygon tracing wizardry", level="expert", years=2),
            SkillClaim("Data annotation", level="beginner", years=6),
        ]
    )
    untouched = _profile([SkillClaim("MLOps", level="expert")])
    gig_both = _gig(
        [
            SkillNeed("Polygon tracing wizardry", required=True, min_level="advanced"),
            SkillNeed("Data annotation", required=False, min_level="beginner"),
        ]
    )
    gig_typed = _gig([SkillNeed("Polygon tracing wizardry", required=False)])

    with django_capture_on_commit_callbacks(execute=True):
        curation.skill_merge(source=typed, into=canonical, by=moderator, reason="Same thing")

    assert not FreelancerSkill.objects.filter(skill=typed).exists()
    assert not GigSkill.objects.filter(skill=typed).exists()
    moved = FreelancerSkill.objects.get(profile=only_typed)
    assert (moved.skill, moved.level, moved.years) == (canonical, "advanced", 3)
    combined = FreelancerSkill.objects.get(profile=both)  # one row, not two
    assert (combined.skill, combined.level, combined.years) == (canonical, "expert", 6)
    need = GigSkill.objects.get(gig=gig_both)
    assert (need.skill, need.required, need.min_level) == (canonical, True, "advanced")
    assert GigSkill.objects.get(gig=gig_typed).skill == canonical

    typed.refresh_from_db()
    canonical.refresh_from_db()
    assert typed.review_state == Skill.ReviewState.MERGED and typed.merged_into == canonical
    assert "polygon tracing wizardry" in canonical.aliases
    # What people type now lands on the canonical skill.
    assert services.skill_resolve(name="polygon tracing wizardry") == canonical
    # Affected profiles and gigs go through the normal matching pipeline again; others do not.
    assert {only_typed.pk, both.pk} <= set(announced["profiles"])
    assert untouched.pk not in announced["profiles"]
    assert {gig_both.pk, gig_typed.pk} <= set(announced["gigs"])
    row = ModerationAction.objects.get(action="skill_merge", target_id=typed.pk)
    assert row.after["claims_moved"] == 1 and row.after["claims_combined"] == 1
    assert row.after["needs_moved"] == 1 and row.after["needs_combined"] == 1


def test_merge_refuses_nonsense(moderator):
    canonical = Skill.objects.get(name="Data annotation")
    typed = services.skill_resolve(name="Zorb painting")
    with pytest.raises(ModerationError):
        curation.skill_merge(source=canonical, into=canonical, by=moderator, reason="x")
    curation.skill_merge(source=typed, into=canonical, by=moderator, reason="dup")
    with pytest.raises(ModerationError, match="already merged"):
        curation.skill_merge(source=typed, into=canonical, by=moderator, reason="again")
    other = services.skill_resolve(name="Quux modelling")
    with pytest.raises(ModerationError, match="itself merged"):
        curation.skill_merge(source=other, into=typed, by=moderator, reason="into a merged one")


def test_rename_keeps_the_old_name_as_alias(moderator):
    skill = services.skill_resolve(name="reinforcment lerning")
    curation.skill_rename(skill=skill, name="Reinforcement learning from human feedback", by=moderator, reason="Typo")
    skill.refresh_from_db()
    assert skill.name == "Reinforcement learning from human feedback"
    assert "reinforcment lerning" in skill.aliases
    assert services.skill_resolve(name="reinforcment lerning") == skill
    with pytest.raises(ModerationError, match="already called"):
        curation.skill_rename(skill=skill, name="data annotation", by=moderator, reason="clash")


def test_recategorise_and_approve(moderator):
    skill = services.skill_resolve(name="Team offsite facilitation")
    curation.skill_recategorise(skill=skill, category="coaching_ld", by=moderator, reason="It is L&D")
    curation.skill_approve(skill=skill, by=moderator, reason="Real, distinct skill")
    skill.refresh_from_db()
    assert (skill.category, skill.review_state) == ("coaching_ld", "approved")
    assert list(
        ModerationAction.objects.filter(target_id=skill.pk).order_by("id").values_list("action", flat=True)
    ) == [
        "skill_recategorise",
        "skill_approve",
    ]
    with pytest.raises(ModerationError):
        curation.skill_recategorise(skill=skill, category="astrology", by=moderator, reason="no")
