"""Moderators' decisions. Each one requires a reason, is written to the audit trail and deletes nothing.

Approve, reject and hide apply to gigs, freelancer profiles and reviews. Rejecting or hiding also
closes the open reports against the object as "actioned". Suspending a user signs them out
everywhere (sessions deleted, API tokens revoked) and takes their profile and gigs out of public lists
and matching (the API and matching leave out suspended users' objects; the signals make matching
drop them now).
"""

from __future__ import annotations

import logging

from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_tokens_revoke_all
from marketplace.models import Client, FreelancerProfile, Gig, ModerationAction, ModerationStatus, Report, Review
from marketplace.moderation.audit import announce_gig_changed, announce_profile_changed, audit_record

log = logging.getLogger("matchwork.moderation")

Moderatable = Gig | FreelancerProfile | Review


class ModerationError(ValueError):
    """A decision that cannot be taken (no reason, not a moderator, wrong kind of object)."""


def moderator_reason_check(by: User, reason: str) -> str:
    if by is None or not by.is_moderator:
        raise ModerationError("Only a staff moderator can take moderation decisions")
    reason = (reason or "").strip()
    if not reason:
        raise ModerationError("A reason is required")
    return reason


def _state(target: models.Model) -> dict:
    state = {"moderation_status": target.moderation_status}
    if hasattr(target, "moderation_reason"):
        state["moderation_reason"] = target.moderation_reason
    return state


def _announce(target: models.Model) -> None:
    if isinstance(target, Gig):
        announce_gig_changed(target.pk)
    elif isinstance(target, FreelancerProfile):
        announce_profile_changed(target.pk)


def _reports_close(target: models.Model, *, by: User, status: str, note: str) -> int:
    """Close every open report against the target; returns how many."""
    return Report.objects.filter(
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=True),
        target_id=target.pk,
        status=Report.Status.OPEN,
    ).update(status=status, resolved_by=by, resolved_at=timezone.now(), resolution_note=note, updated_at=timezone.now())


def _decide(target: Moderatable, *, status: str, action: str, by: User, reason: str, author_sees: str) -> Moderatable:
    reason = moderator_reason_check(by, reason)
    if not isinstance(target, Moderatable):
        raise ModerationError(f"{type(target).__name__} cannot be moderated this way")
    target = type(target).objects.select_for_update().get(pk=target.pk)
    before = _state(target)
    target.moderation_status = status
    fields = ["moderation_status", "updated_at"]
    if hasattr(target, "moderation_reason"):
        # The author reads this through the API: why their gig or profile is not public.
        target.moderation_reason = author_sees
        fields.append("moderation_reason")
    target.save(update_fields=fields)
    after = _state(target)
    if status in (ModerationStatus.REJECTED, ModerationStatus.HIDDEN):
        after["reports_actioned"] = _reports_close(
            target, by=by, status=Report.Status.ACTIONED, note=f"{ModerationAction.Action(action).label}: {reason}"
        )
    if isinstance(target, Review) and target.direction == Review.Direction.CLIENT_TO_FREELANCER:
        # Only approved reviews count towards the freelancer's rating (and so their ranking).
        from marketplace.services import freelancer_aggregates_refresh

        freelancer_id = target.engagement.freelancer_id
        freelancer_aggregates_refresh(freelancer_id)
        announce_profile_changed(freelancer_id)
    audit_record(target=target, action=action, reason=reason, by=by, before=before, after=after)
    _announce(target)
    return target


@transaction.atomic
def content_approve(*, target: Moderatable, by: User, reason: str) -> Moderatable:
    """Make a gig, profile or review public (again)."""
    return _decide(
        target,
        status=ModerationStatus.APPROVED,
        action=ModerationAction.Action.APPROVE,
        by=by,
        reason=reason,
        author_sees="",
    )


@transaction.atomic
def content_reject(*, target: Moderatable, by: User, reason: str) -> Moderatable:
    """Refuse a gig, profile or review; the author sees the reason."""
    return _decide(
        target,
        status=ModerationStatus.REJECTED,
        action=ModerationAction.Action.REJECT,
        by=by,
        reason=reason,
        author_sees=reason.strip(),
    )


@transaction.atomic
def content_hide(*, target: Moderatable, by: User, reason: str) -> Moderatable:
    """Take a gig, profile or review out of public view; the author sees the reason."""
    return _decide(
        target,
        status=ModerationStatus.HIDDEN,
        action=ModerationAction.Action.HIDE,
        by=by,
        reason=reason,
        author_sees=reason.strip(),
    )


def content_owner(target: models.Model) -> User | None:
    """The user answerable for a gig (who posted it), a profile (its freelancer) or a review (its author)."""
    if isinstance(target, Gig):
        return target.created_by
    if isinstance(target, FreelancerProfile):
        return target.user
    if isinstance(target, Review):
        return target.author
    if isinstance(target, User):
        return target
    return None


def _sessions_delete(user: User) -> int:
    """Delete every database session of the user (sessions are signed blobs keyed by user id)."""
    doomed = [
        s.session_key
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    Session.objects.filter(session_key__in=doomed).delete()
    return len(doomed)


def _tokens_revoke(user: User) -> int:
    return user_tokens_revoke_all(user=user)


def _users_gigs(user: User):
    owned_clients = Client.objects.filter(memberships__user=user, memberships__is_owner=True)
    return Gig.objects.filter(models.Q(created_by=user) | models.Q(client__in=owned_clients)).distinct()


@transaction.atomic
def user_suspend(*, user: User, by: User, reason: str) -> User:
    """Suspend a user: signed out everywhere, their profile and gigs out of public lists and matching."""
    reason = moderator_reason_check(by, reason)
    if user.pk == by.pk:
        raise ModerationError("A moderator cannot suspend themselves")
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {"is_suspended": user.is_suspended, "suspended_reason": user.suspended_reason}
    user.is_suspended = True
    user.suspended_reason = reason
    user.suspended_at = timezone.now()
    user.save(update_fields=["is_suspended", "suspended_reason", "suspended_at"])
    after = {
        "is_suspended": True,
        "suspended_reason": reason,
        "sessions_deleted": _sessions_delete(user),
        "tokens_revoked": _tokens_revoke(user),
    }
    audit_record(target=user, action=ModerationAction.Action.SUSPEND, reason=reason, by=by, before=before, after=after)
    _announce_users_things(user)
    log.info("user suspended", extra={"user_id": user.pk, "moderator_id": by.pk})
    return user


@transaction.atomic
def user_unsuspend(*, user: User, by: User, reason: str) -> User:
    """Lift a suspension; the user's approved profile and gigs become public again."""
    reason = moderator_reason_check(by, reason)
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {"is_suspended": user.is_suspended, "suspended_reason": user.suspended_reason}
    user.is_suspended = False
    user.suspended_reason = ""
    user.suspended_at = None
    user.save(update_fields=["is_suspended", "suspended_reason", "suspended_at"])
    audit_record(
        target=user,
        action=ModerationAction.Action.UNSUSPEND,
        reason=reason,
        by=by,
        before=before,
        after={"is_suspended": False},
    )
    _announce_users_things(user)
    return user


def _announce_users_things(user: User) -> None:
    profile = FreelancerProfile.objects.filter(user=user).first()
    if profile is not None:
        announce_profile_changed(profile.pk)
    for gig_id in _users_gigs(user).values_list("pk", flat=True):
        announce_gig_changed(gig_id)


@transaction.atomic
def target_owner_suspend(*, target: models.Model, by: User, reason: str) -> User:
    """Suspend whoever is answerable for a reported object and close the object's open reports."""
    owner = content_owner(target)
    if owner is None:
        raise ModerationError(f"{type(target).__name__} has no owner to suspend")
    user = user_suspend(user=owner, by=by, reason=reason)
    _reports_close(target, by=by, status=Report.Status.ACTIONED, note=f"Owner suspended: {reason.strip()}")
    return user


@transaction.atomic
def report_dismiss(*, report: Report, by: User, reason: str) -> Report:
    """Close a report without action against its target."""
    reason = moderator_reason_check(by, reason)
    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.status != Report.Status.OPEN:
        raise ModerationError(f"Report #{report.pk} is already {report.get_status_display().lower()}")
    before = {"status": report.status}
    report.status = Report.Status.DISMISSED
    report.resolved_by = by
    report.resolved_at = timezone.now()
    report.resolution_note = reason
    report.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note", "updated_at"])
    audit_record(
        target=report,
        action=ModerationAction.Action.DISMISS_REPORT,
        reason=reason,
        by=by,
        before=before,
        after={"status": report.status},
    )
    return report


@transaction.atomic
def target_reports_dismiss(*, target: models.Model, by: User, reason: str) -> int:
    """Dismiss every open report against one object (the reports queue's "dismiss" on a target)."""
    reports = Report.objects.filter(
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=True),
        target_id=target.pk,
        status=Report.Status.OPEN,
    )
    count = 0
    for report in reports:
        report_dismiss(report=report, by=by, reason=reason)
        count += 1
    return count


@transaction.atomic
def profile_reembed_request(*, profile: FreelancerProfile, by: User, reason: str = "Requested by staff") -> None:
    """Ask matching to re-embed a profile (through the normal pipeline: ``profile_changed``)."""
    audit_record(target=profile, action=ModerationAction.Action.REEMBED, reason=reason, by=by)
    announce_profile_changed(profile.pk)


@transaction.atomic
def gig_matches_recompute_request(*, gig: Gig, by: User, reason: str = "Requested by staff") -> None:
    """Ask matching to re-embed a gig and recompute its matches (through ``gig_changed``)."""
    audit_record(target=gig, action=ModerationAction.Action.REMATCH, reason=reason, by=by)
    announce_gig_changed(gig.pk)
