"""Reads of the matching engine: latest runs, match entries, gigs a user may see matches of."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Subquery

from accounts.models import User
from marketplace.models import FreelancerProfile, Gig

from .models import MatchResult, MatchRun


@dataclass(frozen=True)
class MatchEntry:
    run_id: int
    rank: int
    score: float


@dataclass(frozen=True)
class GigRuns:
    """A gig's latest finished match run and the run that is scheduled or under way, if any."""

    gig_id: int
    finished: MatchRun | None
    waiting: MatchRun | None


def gigs_with_matches_visible_to(user: User) -> QuerySet[Gig]:
    """Gigs whose matches the user may read: those of the user's own client organisation.

    The membership is a join, not a query of its own (a user belongs to at most one client)."""
    if not user.is_authenticated or user.is_suspended:
        return Gig.objects.none()
    return Gig.objects.filter(client__memberships__user=user)


def _finished_runs(gig) -> QuerySet[MatchRun]:
    return MatchRun.objects.filter(gig=gig, status=MatchRun.Status.DONE).order_by("-finished_at", "-id")


def _waiting_runs(gig) -> QuerySet[MatchRun]:
    return MatchRun.objects.filter(gig=gig, status__in=[MatchRun.Status.PENDING, MatchRun.Status.RUNNING]).order_by(
        "-created_at", "-id"
    )


def latest_finished_run(gig: Gig) -> MatchRun | None:
    return _finished_runs(gig).first()


def waiting_run(gig: Gig) -> MatchRun | None:
    """A run that is scheduled or under way (the API says the ranking is being refreshed)."""
    return _waiting_runs(gig).first()


def gig_runs_visible_to(user: User, gig_id: int) -> GigRuns | None:
    """``latest_finished_run`` and ``waiting_run`` of a gig whose matches the user may read, else None.

    Read on every view of a match list, so in one query: the runs whose id is either subquery's,
    of the gig if the user may see it. Only when that finds no run does a second query tell a gig
    without runs from one the user may not see.
    """
    visible = gigs_with_matches_visible_to(user).filter(pk=gig_id)
    runs = list(
        MatchRun.objects.filter(gig__in=visible).filter(
            Q(pk=Subquery(_finished_runs(gig_id).values("id")[:1]))
            | Q(pk=Subquery(_waiting_runs(gig_id).values("id")[:1]))
        )
    )
    if not runs and not visible.exists():
        return None
    finished = next((r for r in runs if r.status == MatchRun.Status.DONE), None)
    waiting = next((r for r in runs if r.status != MatchRun.Status.DONE), None)
    return GigRuns(gig_id=gig_id, finished=finished, waiting=waiting)


# What the API shows of a listed freelancer (matching.api.serializers.FreelancerSummarySerializer).
SUMMARY_FIELDS = (
    "display_name",
    "headline",
    "hourly_rate",
    "currency",
    "available_hours_per_week",
    "timezone",
    "languages",
    "rating_avg",
    "rating_count",
    "completed_jobs",
)


def run_results(run: MatchRun) -> QuerySet[MatchResult]:
    """Results of a run, excluding freelancers who became unshowable since the run.

    Reads the freelancer columns the match list shows; the user is joined to filter, not loaded.
    """
    return (
        run.results.select_related("freelancer")
        .only("run_id", "rank", "score", "components", "explanation", "freelancer_id",
              *(f"freelancer__{f}" for f in SUMMARY_FIELDS))
        .filter(
            freelancer__visibility=FreelancerProfile.Visibility.PUBLIC,
            freelancer__moderation_status="approved",
            freelancer__user__is_suspended=False,
            freelancer__user__is_active=True,
        )
        .order_by("rank")
    )  # fmt: skip


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
