"""The hiring loop: invitations, proposals, hires, engagements and reviews.

Every state change is an explicit function with its allowed source states; anything else is an
InvalidTransition (HTTP 409). Rows are locked (select_for_update) before their state is checked,
so two concurrent requests cannot both move the same object.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.utils import timezone

from accounts.models import User
from config.errors import AlreadyExists, InvalidInput, InvalidTransition, NotAllowed
from marketplace.models import Engagement, FreelancerProfile, Gig, Invitation, ModerationStatus, Proposal, Review
from marketplace.selectors import freelancer_profile_of, is_client_member, profile_is_public

# --------------------------------------------------------------------------- helpers


def _require_gig_member(gig: Gig, by: User) -> None:
    if not is_client_member(by, gig.client_id):
        raise NotAllowed("Only members of the gig's client can do this.")


def _require_open_gig(gig: Gig) -> None:
    if gig.status != Gig.Status.PUBLISHED or gig.moderation_status != ModerationStatus.APPROVED:
        raise InvalidTransition("The gig is not open: only published, approved gigs take proposals.")


def _move(obj, status: str, allowed_from: tuple[str, ...], what: str) -> None:
    if obj.status not in allowed_from:
        raise InvalidTransition(
            f"Cannot {what} a {type(obj).__name__.lower()} that is {obj.status} "
            f"(allowed from: {', '.join(allowed_from)})."
        )
    obj.status = status


# --------------------------------------------------------------------------- invitations


@transaction.atomic
def invitation_create(
    *,
    gig: Gig,
    freelancer: FreelancerProfile,
    by: User,
    message: str = "",
    match_run_id: int | None = None,
) -> Invitation:
    """Invite a freelancer to a gig; when they appear in the gig's match run, record rank and score."""
    from matching.selectors import match_entry_for

    gig = Gig.objects.select_for_update().get(pk=gig.pk)
    _require_gig_member(gig, by)
    _require_open_gig(gig)
    if not profile_is_public(freelancer):
        raise InvalidInput("This freelancer cannot be invited.", fields={"freelancer": ["Not found."]})
    if Proposal.objects.filter(gig=gig, freelancer=freelancer).exists():
        raise AlreadyExists("This freelancer has already applied to the gig.")
    entry = match_entry_for(gig=gig, freelancer=freelancer, run_id=match_run_id)
    try:
        with transaction.atomic():
            return Invitation.objects.create(
                gig=gig,
                freelancer=freelancer,
                invited_by=by,
                message=message,
                match_rank=entry.rank if entry else None,
                match_score=entry.score if entry else None,
            )
    except IntegrityError:
        raise AlreadyExists("This freelancer has already been invited to the gig.") from None


def _require_invitee(invitation: Invitation, by: User) -> None:
    if invitation.freelancer.user_id != by.id:
        raise NotAllowed("Only the invited freelancer can answer an invitation.")


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, by: User, cover_letter: str = "", proposed_rate: Decimal | None = None
) -> Proposal:
    """Accepting an invitation applies to the gig: it creates a pending proposal linked to it."""
    invitation = Invitation.objects.select_for_update().select_related("freelancer", "gig").get(pk=invitation.pk)
    _require_invitee(invitation, by)
    _move(invitation, Invitation.Status.ACCEPTED, (Invitation.Status.PENDING,), "accept")
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at", "updated_at"])
    return _proposal_insert(
        gig=invitation.gig,
        freelancer=invitation.freelancer,
        cover_letter=cover_letter or "Accepted the invitation.",
        proposed_rate=proposed_rate if proposed_rate is not None else invitation.freelancer.hourly_rate,
        invitation=invitation,
    )


@transaction.atomic
def invitation_decline(*, invitation: Invitation, by: User) -> Invitation:
    invitation = Invitation.objects.select_for_update().select_related("freelancer").get(pk=invitation.pk)
    _require_invitee(invitation, by)
    _move(invitation, Invitation.Status.DECLINED, (Invitation.Status.PENDING,), "decline")
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["status", "responded_at", "updated_at"])
    return invitation


# --------------------------------------------------------------------------- proposals


def _proposal_insert(
    *,
    gig: Gig,
    freelancer: FreelancerProfile,
    cover_letter: str,
    proposed_rate: Decimal,
    invitation: Invitation | None = None,
) -> Proposal:
    gig = Gig.objects.select_for_update().get(pk=gig.pk)
    _require_open_gig(gig)
    try:
        with transaction.atomic():
            return Proposal.objects.create(
                gig=gig,
                freelancer=freelancer,
                cover_letter=cover_letter,
                proposed_rate=Decimal(str(proposed_rate)),
                invitation=invitation,
            )
    except IntegrityError:
        raise AlreadyExists("You have already applied to this gig.") from None


@transaction.atomic
def proposal_create(*, gig: Gig, by: User, cover_letter: str, proposed_rate: Decimal) -> Proposal:
    """A freelancer applies to a published gig, once."""
    profile = freelancer_profile_of(by)
    if profile is None:
        raise NotAllowed("Only freelancers with a profile can apply to gigs.")
    return _proposal_insert(gig=gig, freelancer=profile, cover_letter=cover_letter, proposed_rate=proposed_rate)


def _locked_proposal(proposal: Proposal) -> Proposal:
    return Proposal.objects.select_for_update().select_related("gig", "freelancer").get(pk=proposal.pk)


@transaction.atomic
def proposal_shortlist(*, proposal: Proposal, by: User) -> Proposal:
    proposal = _locked_proposal(proposal)
    _require_gig_member(proposal.gig, by)
    _move(proposal, Proposal.Status.SHORTLISTED, (Proposal.Status.PENDING,), "shortlist")
    proposal.save(update_fields=["status", "updated_at"])
    return proposal


@transaction.atomic
def proposal_decline(*, proposal: Proposal, by: User) -> Proposal:
    proposal = _locked_proposal(proposal)
    _require_gig_member(proposal.gig, by)
    _move(proposal, Proposal.Status.DECLINED, (Proposal.Status.PENDING, Proposal.Status.SHORTLISTED), "decline")
    proposal.save(update_fields=["status", "updated_at"])
    return proposal


@transaction.atomic
def proposal_withdraw(*, proposal: Proposal, by: User) -> Proposal:
    proposal = _locked_proposal(proposal)
    if proposal.freelancer.user_id != by.id:
        raise NotAllowed("Only the freelancer who applied can withdraw a proposal.")
    _move(proposal, Proposal.Status.WITHDRAWN, (Proposal.Status.PENDING,), "withdraw")
    proposal.save(update_fields=["status", "updated_at"])
    return proposal


@transaction.atomic
def proposal_hire(*, proposal: Proposal, by: User) -> Engagement:
    """Hire the freelancer: the proposal becomes hired and an active engagement starts."""
    proposal = _locked_proposal(proposal)
    _require_gig_member(proposal.gig, by)
    if proposal.gig.status != Gig.Status.PUBLISHED:
        raise InvalidTransition(f"Cannot hire on a gig that is {proposal.gig.status}.")
    _move(proposal, Proposal.Status.HIRED, (Proposal.Status.PENDING, Proposal.Status.SHORTLISTED), "hire on")
    proposal.save(update_fields=["status", "updated_at"])
    return Engagement.objects.create(
        proposal=proposal,
        gig=proposal.gig,
        freelancer=proposal.freelancer,
        client_id=proposal.gig.client_id,
        agreed_rate=proposal.proposed_rate,
    )


# --------------------------------------------------------------------------- engagements and reviews


def _side_of(engagement: Engagement, user: User) -> str | None:
    if engagement.freelancer.user_id == user.id:
        return Review.Direction.FREELANCER_TO_CLIENT
    if is_client_member(user, engagement.client_id):
        return Review.Direction.CLIENT_TO_FREELANCER
    return None


def freelancer_aggregates_refresh(profile_id: int) -> None:
    """Recompute rating and completed jobs from their sources, under the profile's row lock.

    Idempotent; call it in the transaction of anything that changes a review's or an engagement's
    status (moderation hiding a review included).
    """
    profile = FreelancerProfile.objects.select_for_update().get(pk=profile_id)
    agg = Review.objects.filter(
        engagement__freelancer_id=profile_id,
        direction=Review.Direction.CLIENT_TO_FREELANCER,
        moderation_status=ModerationStatus.APPROVED,
    ).aggregate(avg=Avg("rating"), n=Count("id"))
    profile.rating_count = agg["n"]
    profile.rating_avg = (
        Decimal(str(agg["avg"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if agg["n"] else None
    )
    profile.completed_jobs = Engagement.objects.filter(
        freelancer_id=profile_id, status=Engagement.Status.COMPLETED
    ).count()
    profile.save(update_fields=["rating_avg", "rating_count", "completed_jobs", "updated_at"])


@transaction.atomic
def engagement_complete(*, engagement: Engagement, by: User) -> Engagement:
    engagement = Engagement.objects.select_for_update().select_related("freelancer").get(pk=engagement.pk)
    if _side_of(engagement, by) is None:
        raise NotAllowed("Only the freelancer or the client of this engagement can complete it.")
    _move(engagement, Engagement.Status.COMPLETED, (Engagement.Status.ACTIVE,), "complete")
    engagement.completed_at = timezone.now()
    engagement.completed_by = by
    engagement.save(update_fields=["status", "completed_at", "completed_by", "updated_at"])
    freelancer_aggregates_refresh(engagement.freelancer_id)
    return engagement


@transaction.atomic
def review_create(*, engagement: Engagement, by: User, rating: int, text: str = "") -> Review:
    """Each side reviews the other once after completion; the freelancer's aggregates follow."""
    engagement = Engagement.objects.select_for_update().select_related("freelancer").get(pk=engagement.pk)
    direction = _side_of(engagement, by)
    if direction is None:
        raise NotAllowed("Only the freelancer or the client of this engagement can review it.")
    if engagement.status != Engagement.Status.COMPLETED:
        raise InvalidTransition("An engagement can be reviewed only after it is completed.")
    if not 1 <= int(rating) <= 5:
        raise InvalidInput("Ratings are 1 to 5 stars.", fields={"rating": ["Must be between 1 and 5."]})
    try:
        with transaction.atomic():
            review = Review.objects.create(
                engagement=engagement, author=by, direction=direction, rating=rating, text=text
            )
    except IntegrityError:
        raise AlreadyExists("Your side has already reviewed this engagement.") from None
    if direction == Review.Direction.CLIENT_TO_FREELANCER:
        freelancer_aggregates_refresh(engagement.freelancer_id)
    return review
