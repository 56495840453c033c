"""Ranking: hard filters and candidate generation in PostgreSQL, scoring and explanations."""

from .service import STRATEGIES, RankedCandidate, rank_freelancers
from .spec import GigSpec, SkillNeedSpec, spec_from_gig

__all__ = ["STRATEGIES", "GigSpec", "RankedCandidate", "SkillNeedSpec", "rank_freelancers", "spec_from_gig"]
