"""Reads of the matching engine: latest runs, match entries, gigs a user may see matches of."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import User
from marketplace.models import FreelancerProfile, Gig

from .models import MatchResult, MatchRun


@dataclass(frozen=True)
class MatchEntry:
    run_id: int
    rank: int
    score: float


def gigs_with_matches_visible_to(user: User) -> QuerySet[Gig]:
    """Gigs whose matches the user may read: those of the user's own client organisation."""
    membership = getattr(user, "client_membership", None) if user.is_authenticated else None
    if membership is None or user.is_suspended:
        return Gig.objects.none()
    return Gig.objects.filter(client_id=membership.client_id)


def latest_finished_run(gig: Gig) -> MatchRun | None:
    return MatchRun.objects.filter(gig=gig, status=MatchRun.Status.DONE).order_by("-finished_at", "-id").first()


def waiting_run(gig: Gig) -> MatchRun | None:
    """A run that is scheduled or under way (the API says the ranking is being refreshed)."""
    return (
        MatchRun.objects.filter(gig=gig, status__in=[MatchRun.Status.PENDING, MatchRun.Status.RUNNING])
        .order_by("-created_at", "-id")
        .first()
    )


def run_results(run: MatchRun) -> QuerySet[MatchResult]:
    """Results of a run, excluding freelancers who became unshowable since the run."""
    return (
        run.results.select_related("freelancer", "freelancer__user")
        .filter(
            freelancer__visibility=FreelancerProfile.Visibility.PUBLIC,
            freelancer__moderation_status="approved",
            freelancer__user__is_suspended=False,
            freelancer__user__is_active=True,
        )
        .order_by("rank")
    )


def match_entry_for(*, gig: Gig, freelancer: FreelancerProfile, run_id: int | None = None) -> MatchEntry | None:
    """Rank and score the freelancer had in a finished match run of the gig, if listed.

    ``run_id`` names the run the client was looking at; without it (or when it is not a finished
    run of this gig) the latest finished run counts. The invitation service records these on an
    invitation sent from a match list, so what is stored is what the engine showed, not user input.
    """
    run = None
    if run_id is not None:
        run = MatchRun.objects.filter(gig=gig, pk=run_id, status=MatchRun.Status.DONE).first()
    run = run or latest_finished_run(gig)
    if run is None:
        return None
    result = run.results.filter(freelancer=freelancer).only("rank", "score").first()
    if result is None:
        return None
    return MatchEntry(run_id=run.id, rank=result.rank, score=result.score)


def match_run_latest(*, gig_id: int) -> MatchRun | None:
    """The gig's newest run whatever its status (staff see pending and failed runs too), results preloaded."""
    return (
        MatchRun.objects.filter(gig_id=gig_id)
        .prefetch_related("results__freelancer")
        .order_by("-created_at", "-id")
        .first()
    )
