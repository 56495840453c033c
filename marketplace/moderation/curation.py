"""Taxonomy curation: moderators turn the skills people typed into a clean taxonomy.

Free text that matched nothing became an *unreviewed* skill (``services.skill_resolve``). A moderator
approves it as canonical, merges it into a canonical skill (it becomes an alias; claims and gig
requirements move over), renames or recategorises it. Every profile and gig whose skills changed is
announced after commit, so matching re-embeds and re-matches it through the normal pipeline.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from accounts.models import User
from marketplace.models import FreelancerSkill, GigSkill, ModerationAction, Skill, skill_level_rank
from marketplace.moderation.audit import announce_gig_changed, announce_profile_changed, audit_record
from marketplace.moderation.decisions import ModerationError, moderator_reason_check


def _normalise(text: str) -> str:
    return " ".join(text.split()).lower()


def _announce_users_of(skill_ids: list[int]) -> tuple[int, int]:
    profile_ids = sorted(
        set(FreelancerSkill.objects.filter(skill_id__in=skill_ids).values_list("profile_id", flat=True))
    )
    gig_ids = sorted(set(GigSkill.objects.filter(skill_id__in=skill_ids).values_list("gig_id", flat=True)))
    for pid in profile_ids:
        announce_profile_changed(pid)
    for gid in gig_ids:
        announce_gig_changed(gid)
    return len(profile_ids), len(gig_ids)


def _stronger_level(a: str, b: str) -> str:
    return a if skill_level_rank(a) >= skill_level_rank(b) else b


@transaction.atomic
def skill_merge(*, source: Skill, into: Skill, by: User, reason: str) -> Skill:
    """Merge ``source`` into the canonical ``into``: source's name becomes an alias of ``into``.

    A profile or gig that has both keeps one row on ``into`` with the stronger level (and the larger
    years of experience) or, for gigs, "required" if either was and the higher minimum level.
    ``source`` is kept (state "merged", pointing at ``into``) so history and old links still resolve.
    """
    reason = moderator_reason_check(by, reason)
    source = Skill.objects.select_for_update().get(pk=source.pk)
    into = Skill.objects.select_for_update().get(pk=into.pk)
    if source.pk == into.pk:
        raise ModerationError("A skill cannot be merged into itself")
    if source.review_state == Skill.ReviewState.MERGED:
        raise ModerationError(f"{source.name} is already merged into {source.merged_into}")
    if into.review_state == Skill.ReviewState.MERGED:
        raise ModerationError(f"{into.name} is itself merged into {into.merged_into}; merge into that skill")

    moved = {"claims_moved": 0, "claims_combined": 0, "needs_moved": 0, "needs_combined": 0}
    for claim in FreelancerSkill.objects.select_for_update().filter(skill=source):
        existing = FreelancerSkill.objects.select_for_update().filter(profile_id=claim.profile_id, skill=into).first()
        if existing is None:
            claim.skill = into
            claim.save(update_fields=["skill"])
            moved["claims_moved"] += 1
        else:
            existing.level = _stronger_level(existing.level, claim.level)
            existing.years = max(filter(None, [existing.years, claim.years]), default=None)
            existing.save(update_fields=["level", "years"])
            claim.delete()
            moved["claims_combined"] += 1
    for need in GigSkill.objects.select_for_update().filter(skill=source):
        existing = GigSkill.objects.select_for_update().filter(gig_id=need.gig_id, skill=into).first()
        if existing is None:
            need.skill = into
            need.save(update_fields=["skill"])
            moved["needs_moved"] += 1
        else:
            existing.required = existing.required or need.required
            existing.min_level = _stronger_level(existing.min_level, need.min_level)
            existing.save(update_fields=["required", "min_level"])
            need.delete()
            moved["needs_combined"] += 1

    new_aliases = [_normalise(source.name), *(_normalise(a) for a in source.aliases)]
    into.aliases = list(dict.fromkeys([*into.aliases, *(a for a in new_aliases if a != _normalise(into.name))]))[:50]
    into.save(update_fields=["aliases", "updated_at"])
    # Skills merged into the source earlier now point at the final canonical skill.
    Skill.objects.filter(merged_into=source).update(merged_into=into)
    before = {"review_state": source.review_state, "merged_into": None}
    source.review_state = Skill.ReviewState.MERGED
    source.merged_into = into
    source.save(update_fields=["review_state", "merged_into", "updated_at"])
    profiles, gigs = _announce_users_of([into.pk])
    after = {
        "review_state": source.review_state,
        "merged_into": into.pk,
        "merged_into_name": into.name,
        **moved,
        "profiles_announced": profiles,
        "gigs_announced": gigs,
    }
    audit_record(
        target=source, action=ModerationAction.Action.SKILL_MERGE, reason=reason, by=by, before=before, after=after
    )
    audit_record(
        target=into,
        action=ModerationAction.Action.SKILL_MERGE,
        reason=f"Absorbed {source.name}: {reason}",
        by=by,
        before={},
        after={"aliases_added": new_aliases, **moved},
    )
    return into


@transaction.atomic
def skill_approve(*, skill: Skill, by: User, reason: str) -> Skill:
    """Accept an unreviewed skill as canonical, as typed."""
    reason = moderator_reason_check(by, reason)
    skill = Skill.objects.select_for_update().get(pk=skill.pk)
    if skill.review_state != Skill.ReviewState.UNREVIEWED:
        raise ModerationError(f"{skill.name} is {skill.get_review_state_display().lower()}, not unreviewed")
    skill.review_state = Skill.ReviewState.APPROVED
    skill.save(update_fields=["review_state", "updated_at"])
    audit_record(
        target=skill,
        action=ModerationAction.Action.SKILL_APPROVE,
        reason=reason,
        by=by,
        before={"review_state": Skill.ReviewState.UNREVIEWED},
        after={"review_state": skill.review_state},
    )
    return skill


@transaction.atomic
def skill_rename(*, skill: Skill, name: str, by: User, reason: str) -> Skill:
    """Rename a skill; the old name stays as an alias so what people type still finds it."""
    reason = moderator_reason_check(by, reason)
    name = " ".join(name.split())[:100]
    if not name:
        raise ModerationError("A skill name cannot be empty")
    skill = Skill.objects.select_for_update().get(pk=skill.pk)
    if Skill.objects.filter(Q(name__iexact=name)).exclude(pk=skill.pk).exists():
        raise ModerationError(f"Another skill is already called {name}; merge into it instead")
    old = skill.name
    skill.name = name
    skill.aliases = list(dict.fromkeys([*(a for a in skill.aliases if a != _normalise(name)), _normalise(old)]))[:50]
    skill.save(update_fields=["name", "aliases", "updated_at"])
    profiles, gigs = _announce_users_of([skill.pk])
    audit_record(
        target=skill,
        action=ModerationAction.Action.SKILL_RENAME,
        reason=reason,
        by=by,
        before={"name": old},
        after={"name": name, "profiles_announced": profiles, "gigs_announced": gigs},
    )
    return skill


@transaction.atomic
def skill_recategorise(*, skill: Skill, category: str, by: User, reason: str) -> Skill:
    """Move a skill to another category of the taxonomy."""
    reason = moderator_reason_check(by, reason)
    if category not in Skill.Category.values:
        raise ModerationError(f"Unknown category {category!r}")
    skill = Skill.objects.select_for_update().get(pk=skill.pk)
    old = skill.category
    if old == category:
        return skill
    skill.category = category
    skill.save(update_fields=["category", "updated_at"])
    profiles, gigs = _announce_users_of([skill.pk])
    audit_record(
        target=skill,
        action=ModerationAction.Action.SKILL_RECATEGORISE,
        reason=reason,
        by=by,
        before={"category": old},
        after={"category": category, "profiles_announced": profiles, "gigs_announced": gigs},
    )
    return skill
