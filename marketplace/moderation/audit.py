"""The moderation audit trail: one ``ModerationAction`` row per decision."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from accounts.models import User
from marketplace.models import FreelancerProfile, Gig, ModerationAction


def audit_record(
    *,
    target: models.Model,
    action: str,
    reason: str,
    by: User | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> ModerationAction:
    """Write one audit row. ``by`` is None for the automatic policy."""
    return ModerationAction.objects.create(
        moderator=by,
        action=action,
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=True),
        target_id=target.pk,
        target_repr=str(target)[:200],
        reason=reason[:2000],
        before=before or {},
        after=after or {},
    )


def audit_trail(target: models.Model):
    """The audit rows of one object, newest first."""
    return ModerationAction.objects.filter(
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=True), target_id=target.pk
    ).select_related("moderator")


def announce_profile_changed(profile_id: int) -> None:
    """After commit, tell matching the profile changed (re-embed, leave or re-enter match runs)."""
    from marketplace import signals

    transaction.on_commit(lambda: signals.profile_changed.send(sender=FreelancerProfile, profile_id=profile_id))


def announce_gig_changed(gig_id: int) -> None:
    from marketplace import signals

    transaction.on_commit(lambda: signals.gig_changed.send(sender=Gig, gig_id=gig_id))
