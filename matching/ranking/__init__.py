"""Ranking: hard filters and candidate generation in PostgreSQL, scoring and explanations."""

from .service import STRATEGIES, RankedCandidate, RankedGig, rank_freelancers, rank_gigs_for_freelancer
from .spec import GigSpec, SkillNeedSpec, spec_from_gig


def reset_caches() -> None:
    """Forget the per-process corpus statistics, query lexemes, eligibility estimates, language
    graphs, mean rating, query vectors, skill-name vectors and named claims (tests; after bulk loads)."""
    from . import candidates, facts, graphs, lexical, service, skills

    lexical._corpus = None
    lexical.forget_lexemes()
    candidates._estimates.clear()
    graphs.forget_language_graphs()
    service._mean_rating.clear()
    with service._query_vectors_lock:
        service._query_vectors.clear()
    skills.forget()
    facts._profile_claims.clear()


__all__ = [
    "STRATEGIES",
    "GigSpec",
    "RankedCandidate",
    "RankedGig",
    "SkillNeedSpec",
    "rank_freelancers",
    "rank_gigs_for_freelancer",
    "reset_caches",
    "spec_from_gig",
]
