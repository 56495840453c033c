"""Gigs: drafts, edits (optimistically locked), publish, close."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.utils import timezone as tz

from accounts.models import User
from config.errors import InvalidInput, InvalidTransition, NotAllowed, StaleVersion
from marketplace.models import Client, Gig
from marketplace.moderation import policy as moderation_policy
from marketplace.selectors import is_client_member
from marketplace.services._events import gig_changed_on_commit
from marketplace.services.skills import SkillNeed, gig_skills_replace

GIG_EDITABLE_FIELDS = (
    "title",
    "description",
    "budget_type",
    "budget_min",
    "budget_max",
    "currency",
    "hours_per_week",
    "duration_weeks",
    "timezone",
    "min_overlap_hours",
    "languages",
)
_DECIMALS = {"budget_min", "budget_max"}


def _check_budget(budget_min: Decimal, budget_max: Decimal) -> None:
    if budget_min > budget_max:
        raise InvalidInput(
            "The minimum budget is larger than the maximum.",
            fields={"budget_min": ["Must not exceed budget_max."]},
        )


def _require_member(gig_or_client: Gig | Client, by: User) -> None:
    client_id = gig_or_client.client_id if isinstance(gig_or_client, Gig) else gig_or_client.id
    if not is_client_member(by, client_id):
        raise NotAllowed("Only members of the gig's client can do this.")


@transaction.atomic
def gig_create(
    *,
    client: Client,
    created_by: User,
    title: str,
    description: str,
    budget_type: str,
    budget_min: Decimal | float | int,
    budget_max: Decimal | float | int,
    hours_per_week: int | None = None,
    duration_weeks: int | None = None,
    timezone: str = "",
    min_overlap_hours: int | None = None,
    languages: list[str] | None = None,
    currency: str = "USD",
    skills: Iterable[SkillNeed] = (),
) -> Gig:
    """Create a draft gig for ``client``; its creator must be a member."""
    _require_member(client, created_by)
    budget_min, budget_max = Decimal(str(budget_min)), Decimal(str(budget_max))
    _check_budget(budget_min, budget_max)
    gig = Gig.objects.create(
        client=client,
        created_by=created_by,
        title=title,
        description=description,
        budget_type=budget_type,
        budget_min=budget_min,
        budget_max=budget_max,
        hours_per_week=hours_per_week,
        duration_weeks=duration_weeks,
        timezone=timezone or "",
        min_overlap_hours=min_overlap_hours,
        languages=list(languages or []),
        currency=currency,
    )
    gig_skills_replace(gig, skills)
    gig_changed_on_commit(gig)
    return gig


@transaction.atomic
def gig_update(
    *,
    gig: Gig,
    by: User,
    expected_version: int | None = None,
    skills: Iterable[SkillNeed] | None = None,
    **fields,
) -> Gig:
    """Edit a draft or published gig. Editing a published gig re-triggers matching (gig_changed)."""
    unknown = set(fields) - set(GIG_EDITABLE_FIELDS)
    if unknown:
        raise NotAllowed(f"These fields cannot be edited: {', '.join(sorted(unknown))}.")
    gig = Gig.objects.select_for_update().get(pk=gig.pk)
    _require_member(gig, by)
    if expected_version is not None and expected_version != gig.version:
        raise StaleVersion(
            f"The gig was changed since version {expected_version}; it is now version {gig.version}. "
            "Reload it and apply your edit again."
        )
    if gig.status == Gig.Status.CLOSED:
        raise InvalidTransition("A closed gig cannot be edited.")
    if not fields and skills is None:
        return gig  # nothing to change: no new version, nothing to announce
    for name, value in fields.items():
        setattr(gig, name, Decimal(str(value)) if name in _DECIMALS else value)
    _check_budget(gig.budget_min, gig.budget_max)
    if skills is not None:
        gig_skills_replace(gig, skills)
    gig.version += 1
    gig.save(update_fields=[*fields, "version", "updated_at"])
    if gig.status == Gig.Status.PUBLISHED:
        moderation_policy.gig_screen(gig=gig, edited=True)  # an edit can send a public gig back to review
    gig_changed_on_commit(gig)
    return gig


@transaction.atomic
def gig_publish(*, gig: Gig, by: User) -> Gig:
    gig = Gig.objects.select_for_update().get(pk=gig.pk)
    _require_member(gig, by)
    if gig.status != Gig.Status.DRAFT:
        raise InvalidTransition(f"Only a draft can be published; this gig is {gig.status}.")
    gig.status = Gig.Status.PUBLISHED
    gig.published_at = tz.now()
    gig.version += 1
    gig.save(update_fields=["status", "published_at", "version", "updated_at"])
    moderation_policy.gig_screen(gig=gig)  # approved at once, or pending review (not public)
    gig_changed_on_commit(gig)
    return gig


@transaction.atomic
def gig_close(*, gig: Gig, by: User) -> Gig:
    """Close a draft or published gig: it leaves public lists and matching; engagements go on."""
    gig = Gig.objects.select_for_update().get(pk=gig.pk)
    _require_member(gig, by)
    if gig.status == Gig.Status.CLOSED:
        raise InvalidTransition("This gig is already closed.")
    gig.status = Gig.Status.CLOSED
    gig.closed_at = tz.now()
    gig.version += 1
    gig.save(update_fields=["status", "closed_at", "version", "updated_at"])
    gig_changed_on_commit(gig)
    return gig
