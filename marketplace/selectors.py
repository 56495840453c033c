"""Reads of the marketplace: what each user may see. The API's scoping mixin calls these.

Visibility rules in one place:
- public profiles: visibility public, moderation approved, user active and not suspended;
- public gigs: published, moderation approved, creator active and not suspended;
- a client member also sees all of their own client's gigs (drafts, closed) and what hangs off them;
- a freelancer sees their own proposals, invitations and engagements.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Func, Prefetch, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat, Lower

from accounts.models import User
from marketplace.models import (
    Client,
    ClientMembership,
    Engagement,
    FreelancerProfile,
    FreelancerSkill,
    Gig,
    GigSkill,
    Invitation,
    ModerationStatus,
    Proposal,
    Report,
    Review,
    Skill,
)

AnyUser = User | AnonymousUser


def _authenticated(user: AnyUser | None) -> bool:
    return bool(user is not None and user.is_authenticated)


def membership_of(user: AnyUser | None) -> ClientMembership | None:
    """The user's client membership (cached on the user instance after the first call)."""
    if not _authenticated(user):
        return None
    try:
        return user.client_membership
    except ClientMembership.DoesNotExist:
        return None


def client_of(user: AnyUser | None) -> Client | None:
    membership = membership_of(user)
    return membership.client if membership else None


def is_client_member(user: AnyUser | None, client_id: int) -> bool:
    membership = membership_of(user)
    return membership is not None and membership.client_id == client_id


def client_member_ids(client_id: int) -> tuple[int, ...]:
    """The user ids of a client's members (a talent search never lists its own team)."""
    return tuple(ClientMembership.objects.filter(client_id=client_id).values_list("user_id", flat=True))


def freelancer_profile_of(user: AnyUser | None) -> FreelancerProfile | None:
    if not _authenticated(user):
        return None
    try:
        return user.freelancer_profile
    except FreelancerProfile.DoesNotExist:
        return None


# --------------------------------------------------------------------------- skills


def _words(text: str, limit: int = 10) -> list[str]:
    return [w for w in text.replace("-", " ").lower().split() if w][:limit]


def skills_matching(qs: QuerySet[Skill], search: str) -> QuerySet[Skill]:
    """Skills whose name or an alias contains every word of ``search``.

    Hyphens count as spaces, so ``fine tun`` finds "LLM fine-tuning".
    """
    words = _words(search)
    if not words:
        return qs
    text = TextField()
    aliases = Func("aliases", Value(" "), function="array_to_string", output_field=text)
    haystack = Func(
        Lower(Concat("name", Value(" "), aliases, output_field=text)),
        Value("-"),
        Value(" "),
        function="replace",
        output_field=text,
    )
    qs = qs.annotate(haystack=haystack)
    for word in words:
        qs = qs.filter(haystack__contains=word)
    return qs


def skills_visible() -> QuerySet[Skill]:
    """The reviewed taxonomy (unreviewed free-text skills wait for a moderator)."""
    return Skill.objects.filter(review_state=Skill.ReviewState.APPROVED).order_by("name")


def skills_search(*, search: str = "", category: str = "") -> QuerySet[Skill]:
    qs = skills_visible()
    if category:
        qs = qs.filter(category=category)
    return skills_matching(qs, search)


# --------------------------------------------------------------------------- freelancers

_PUBLIC_PROFILE = Q(
    visibility=FreelancerProfile.Visibility.PUBLIC,
    moderation_status=ModerationStatus.APPROVED,
    user__is_suspended=False,
    user__is_active=True,
)


def _with_profile_skills(qs: QuerySet[FreelancerProfile]) -> QuerySet[FreelancerProfile]:
    return qs.prefetch_related(
        Prefetch("skill_claims", queryset=FreelancerSkill.objects.select_related("skill").order_by("skill__name"))
    )


def freelancers_public() -> QuerySet[FreelancerProfile]:
    return _with_profile_skills(FreelancerProfile.objects.filter(_PUBLIC_PROFILE))


def profile_is_public(profile: FreelancerProfile) -> bool:
    return FreelancerProfile.objects.filter(_PUBLIC_PROFILE, pk=profile.pk).exists()


def freelancer_own_profile(user: AnyUser) -> QuerySet[FreelancerProfile]:
    if not _authenticated(user):
        return FreelancerProfile.objects.none()
    return _with_profile_skills(FreelancerProfile.objects.filter(user=user))


# --------------------------------------------------------------------------- clients


def clients_visible_to(user: AnyUser) -> QuerySet[Client]:
    """A client's own data is visible to its members only."""
    if not _authenticated(user):
        return Client.objects.none()
    return Client.objects.filter(memberships__user=user)


# --------------------------------------------------------------------------- gigs

_PUBLIC_GIG = Q(
    status=Gig.Status.PUBLISHED,
    moderation_status=ModerationStatus.APPROVED,
    created_by__is_suspended=False,
    created_by__is_active=True,
)


# The skill columns a gig or profile is rendered with (marketplace.api.serializers.GigSkillOutput).
_SKILL_SHOWN = ("skill__id", "skill__name", "skill__slug", "skill__category")


def _with_gig_relations(qs: QuerySet[Gig]) -> QuerySet[Gig]:
    needs = (
        GigSkill.objects.select_related("skill")
        .only("gig_id", "required", "min_level", *_SKILL_SHOWN)
        .order_by("-required", "skill__name")
    )
    return qs.select_related("client").prefetch_related(Prefetch("skill_needs", queryset=needs))


def _own_client_ids(user: AnyUser) -> QuerySet[ClientMembership]:
    """The user's client id as a subquery: filters on it cost no query of their own."""
    return ClientMembership.objects.filter(user=user).values("client_id")


def gigs_visible_to(user: AnyUser) -> QuerySet[Gig]:
    """Public gigs, plus every gig of the user's own client (drafts and closed ones too)."""
    visible = _PUBLIC_GIG
    if _authenticated(user):
        visible = visible | Q(client_id__in=_own_client_ids(user))
    return _with_gig_relations(Gig.objects.filter(visible))


def gigs_matching(qs: QuerySet[Gig], search: str) -> QuerySet[Gig]:
    """Gigs whose title or description contains every word of ``search``."""
    for word in _words(search):
        qs = qs.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return qs


def gig_is_public(gig: Gig) -> bool:
    return Gig.objects.filter(_PUBLIC_GIG, pk=gig.pk).exists()


# --------------------------------------------------------------------------- hiring loop


def _party_filter(user: AnyUser, *, freelancer_path: str, client_path: str) -> Q | None:
    if not _authenticated(user):
        return None
    return Q(**{f"{freelancer_path}__user": user}) | Q(**{f"{client_path}__in": _own_client_ids(user)})


def proposals_visible_to(user: AnyUser) -> QuerySet[Proposal]:
    """The freelancer's own proposals and the proposals to the user's client's gigs."""
    q = _party_filter(user, freelancer_path="freelancer", client_path="gig__client_id")
    if q is None:
        return Proposal.objects.none()
    return Proposal.objects.filter(q).select_related("gig", "freelancer")


def invitations_visible_to(user: AnyUser) -> QuerySet[Invitation]:
    q = _party_filter(user, freelancer_path="freelancer", client_path="gig__client_id")
    if q is None:
        return Invitation.objects.none()
    return Invitation.objects.filter(q).select_related("gig", "freelancer")


def engagements_visible_to(user: AnyUser) -> QuerySet[Engagement]:
    q = _party_filter(user, freelancer_path="freelancer", client_path="client_id")
    if q is None:
        return Engagement.objects.none()
    return Engagement.objects.filter(q).select_related("gig", "freelancer", "client")


def reviews_visible_to(user: AnyUser) -> QuerySet[Review]:
    """Approved reviews are public (they back the public rating); authors also see their own."""
    q = Q(moderation_status=ModerationStatus.APPROVED)
    if _authenticated(user):
        q |= Q(author=user)
    return Review.objects.filter(q).select_related("engagement", "engagement__freelancer", "engagement__client")


def reports_visible_to(user: AnyUser) -> QuerySet[Report]:
    """Reporters see their own reports; moderators work in the admin."""
    if not _authenticated(user):
        return Report.objects.none()
    return Report.objects.filter(reporter=user).select_related("target_type")


REPORT_TARGETS = {
    "gig": lambda user: gigs_visible_to(user),
    "freelancer": lambda user: freelancers_public() | freelancer_own_profile(user),
    "review": lambda user: reviews_visible_to(user),
}


def report_target_find(*, user: AnyUser, target_type: str, target_id: int):
    """The object a user reports, only if they can see it (else None: no probing of hidden ids)."""
    source = REPORT_TARGETS.get(target_type)
    if source is None:
        return None
    return source(user).filter(pk=target_id).first()
