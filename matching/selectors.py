"""Reads of the matching engine for other apps (the marketplace admin shows match runs to staff)."""

from __future__ import annotations

from matching.models import MatchRun


def match_run_latest(*, gig_id: int) -> MatchRun | None:
    """The gig's newest match run, with its ranked results and their freelancers preloaded."""
    return (
        MatchRun.objects.filter(gig_id=gig_id)
        .prefetch_related("results__freelancer")
        .order_by("-created_at", "-id")
        .first()
    )
