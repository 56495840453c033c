"""Ranking: hard filters and candidate generation in PostgreSQL, scoring and explanations."""

from .service import STRATEGIES, RankedCandidate, RankedGig, rank_freelancers, rank_gigs_for_freelancer
from .spec import GigSpec, SkillNeedSpec, spec_from_gig

__all__ = [
    "STRATEGIES",
    "GigSpec",
    "RankedCandidate",
    "RankedGig",
    "SkillNeedSpec",
    "rank_freelancers",
    "rank_gigs_for_freelancer",
    "spec_from_gig",
]
