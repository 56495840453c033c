"""Freelancer profiles: create, edit (optimistically locked), hide."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction

from accounts.models import User
from config.errors import AlreadyExists, NotAllowed, StaleVersion
from marketplace.models import FreelancerProfile
from marketplace.moderation import policy as moderation_policy
from marketplace.services._events import profile_changed_on_commit
from marketplace.services.skills import SkillClaim, profile_skills_replace

PROFILE_EDITABLE_FIELDS = (
    "display_name",
    "headline",
    "bio",
    "hourly_rate",
    "currency",
    "available_hours_per_week",
    "timezone",
    "languages",
    "visibility",
)


@transaction.atomic
def freelancer_profile_create(
    *,
    user: User,
    display_name: str,
    headline: str,
    hourly_rate: Decimal | float | int,
    bio: str = "",
    currency: str = "USD",
    available_hours_per_week: int = 0,
    timezone: str = "UTC",
    languages: list[str] | None = None,
    visibility: str = FreelancerProfile.Visibility.PUBLIC,
    skills: Iterable[SkillClaim] = (),
) -> FreelancerProfile:
    if user.role != User.Role.FREELANCER:
        raise NotAllowed("Only freelancer accounts can have a freelancer profile.")
    if FreelancerProfile.objects.filter(user=user).exists():
        raise AlreadyExists("You already have a profile; edit it instead.", code="profile_exists")
    try:
        with transaction.atomic():
            profile = FreelancerProfile.objects.create(
                user=user,
                display_name=display_name,
                headline=headline,
                bio=bio,
                hourly_rate=Decimal(str(hourly_rate)),
                currency=currency,
                available_hours_per_week=available_hours_per_week,
                timezone=timezone,
                languages=list(languages or []),
                visibility=visibility,
            )
    except IntegrityError:
        raise AlreadyExists("You already have a profile; edit it instead.", code="profile_exists") from None
    profile_skills_replace(profile, skills)
    moderation_policy.profile_screen(profile=profile, created=True)  # public at once, or pending review
    profile_changed_on_commit(profile)
    return profile


@transaction.atomic
def freelancer_profile_update(
    *,
    profile: FreelancerProfile,
    by: User,
    expected_version: int | None = None,
    skills: Iterable[SkillClaim] | None = None,
    **fields,
) -> FreelancerProfile:
    """Edit a profile. ``expected_version`` (from If-Match or the body) guards against lost updates.

    Rating, completed jobs, moderation state and version are not in PROFILE_EDITABLE_FIELDS, so no
    caller can set them through this service.
    """
    unknown = set(fields) - set(PROFILE_EDITABLE_FIELDS)
    if unknown:
        raise NotAllowed(f"These fields cannot be edited: {', '.join(sorted(unknown))}.")
    profile = FreelancerProfile.objects.select_for_update().get(pk=profile.pk)
    if profile.user_id != by.id:
        raise NotAllowed("Only the freelancer can edit their profile.")
    if expected_version is not None and expected_version != profile.version:
        raise StaleVersion(
            f"The profile was changed since version {expected_version}; it is now version {profile.version}. "
            "Reload it and apply your edit again."
        )
    if not fields and skills is None:
        return profile  # nothing to change: no new version, nothing to announce
    for name, value in fields.items():
        setattr(profile, name, Decimal(str(value)) if name == "hourly_rate" else value)
    if skills is not None:
        profile_skills_replace(profile, skills)
    profile.version += 1
    profile.save(update_fields=[*fields, "version", "updated_at"])
    moderation_policy.profile_screen(profile=profile)  # an edit can send a public profile back to review
    profile_changed_on_commit(profile)
    return profile
