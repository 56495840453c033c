"""The ranking service: one entry point for the API, the Celery tasks and the evaluation command."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from marketplace.models import FreelancerProfile, FreelancerSkill

from ..encoder import active_model, get_encoder
from ..models import EmbeddingView, FreelancerEmbedding, GigEmbedding
from .candidates import dense_candidates, eligibility_sql, lexical_candidates, skill_candidates
from .scoring import CandidateFacts, ClaimFacts, Scored, score_candidate
from .spec import GigSpec

log = logging.getLogger("matchwork.matching.ranking")

STRATEGIES = ("lexical", "dense", "hybrid")
VIEWS = (EmbeddingView.FULL, EmbeddingView.SKILLS)
# How many candidates each retriever contributes before scoring.
CANDIDATE_POOL = 100


@dataclass(frozen=True)
class RankedCandidate:
    profile_id: int
    rank: int
    score: float
    components: dict
    explanation: dict


def query_vectors(spec: GigSpec) -> np.ndarray:
    """The gig's view vectors: stored ones when current for the active model, else encoded now."""
    model = active_model()
    doc = spec.document()
    if spec.gig_id is not None:
        stored = {
            e.view: e
            for e in GigEmbedding.objects.filter(gig_id=spec.gig_id, model_version=model.version)
        }
        if all(v in stored and stored[v].content_hash == doc.hash_for(v, model.key) for v in VIEWS):
            return np.array([np.asarray(stored[v].embedding, dtype=np.float32) for v in VIEWS])
    return get_encoder().encode([doc.views[v] for v in VIEWS])


def semantic_similarity(query: np.ndarray, profile_vectors: dict[str, np.ndarray]) -> float:
    """Blend of view-pair cosines: text vs text, skills vs skills, and the best cross pair."""
    if not profile_vectors:
        return 0.0
    full = profile_vectors.get(EmbeddingView.FULL)
    skills = profile_vectors.get(EmbeddingView.SKILLS)
    sims = []
    if full is not None:
        sims.append(float(query[0] @ full))
    if skills is not None:
        sims.append(float(query[1] @ skills))
    cross = [float(query[0] @ skills)] if skills is not None else []
    if full is not None:
        cross.append(float(query[1] @ full))
    return 0.5 * (sum(sims) / len(sims)) + 0.5 * max(sims + cross)


def load_facts(profile_ids: list[int], model_version: str) -> dict[int, CandidateFacts]:
    facts: dict[int, CandidateFacts] = {}
    for p in FreelancerProfile.objects.filter(id__in=profile_ids):
        facts[p.id] = CandidateFacts(
            profile_id=p.id,
            display_name=p.display_name,
            headline=p.headline,
            hourly_rate=float(p.hourly_rate),
            available_hours_per_week=p.available_hours_per_week,
            timezone=p.timezone,
            languages=list(p.languages),
            rating_avg=float(p.rating_avg) if p.rating_avg is not None else None,
            rating_count=p.rating_count,
            completed_jobs=p.completed_jobs,
        )
    for claim in FreelancerSkill.objects.filter(profile_id__in=profile_ids).select_related("skill"):
        facts[claim.profile_id].claims[claim.skill_id] = ClaimFacts(
            skill_id=claim.skill_id, name=claim.skill.name, level=claim.level, years=claim.years
        )
    return facts


def load_vectors(profile_ids: list[int], model_version: str) -> dict[int, dict[str, np.ndarray]]:
    out: dict[int, dict[str, np.ndarray]] = {}
    rows = FreelancerEmbedding.objects.filter(profile_id__in=profile_ids, model_version=model_version)
    for e in rows.only("profile_id", "view", "embedding"):
        out.setdefault(e.profile_id, {})[e.view] = np.asarray(e.embedding, dtype=np.float32)
    return out


def _minmax(values: dict[int, float]) -> dict[int, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    if hi - lo < 1e-9:
        return {k: 1.0 for k in values}
    return {k: (v - lo) / (hi - lo) for k, v in values.items()}


def rank_freelancers(spec: GigSpec, *, strategy: str = "hybrid", limit: int = 20) -> list[RankedCandidate]:
    """Rank eligible freelancers for a gig (or an ad-hoc spec), best first, with explanations."""
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    model = active_model()
    where = eligibility_sql(spec, feasibility=True)
    pool = max(CANDIDATE_POOL, limit * 3)

    lexical: dict[int, float] = {}
    dense: dict[int, float] = {}
    query = None
    if strategy in ("lexical", "hybrid"):
        lexical = lexical_candidates(spec.query_text, where, pool)
    if strategy in ("dense", "hybrid"):
        query = query_vectors(spec)
        dense = dense_candidates(query, model.version, where, pool)
    overlap: dict[int, int] = {}
    if strategy == "hybrid":
        overlap = skill_candidates([n.skill_id for n in spec.needs if n.skill_id], where, pool)

    candidate_ids = sorted(set(lexical) | set(dense) | set(overlap))
    if not candidate_ids:
        return []
    facts = load_facts(candidate_ids, model.version)
    if query is not None:
        vectors = load_vectors(candidate_ids, model.version)
        for pid, f in facts.items():
            f.semantic = semantic_similarity(query, vectors.get(pid, {}))
    if strategy == "hybrid":
        # Lexical scores for candidates found by the other retrievers too.
        missing = [pid for pid in candidate_ids if pid not in lexical]
        if missing:
            lexical.update(lexical_candidates(spec.query_text, where, len(missing), profile_ids=missing))
    for pid, f in facts.items():
        f.lexical = lexical.get(pid, 0.0)

    lex_norm = {pid: f.lexical / max(lexical.values()) if lexical else 0.0 for pid, f in facts.items()}
    sem_norm = _minmax({pid: f.semantic for pid, f in facts.items()}) if query is not None else {}
    scored: list[tuple[float, int, Scored]] = []
    for pid, f in facts.items():
        s = score_candidate(spec, f, lexical_norm=lex_norm.get(pid, 0.0), semantic_norm=sem_norm.get(pid, 0.0))
        if strategy == "lexical":
            key = f.lexical
        elif strategy == "dense":
            key = f.semantic
        else:
            key = s.score
        scored.append((key, pid, s))
    scored.sort(key=lambda t: (-t[0], t[1]))
    result = [
        RankedCandidate(profile_id=pid, rank=i + 1, score=round(float(key), 6), components=s.components,
                        explanation=s.explanation)
        for i, (key, pid, s) in enumerate(scored[:limit])
    ]
    log.info(
        "ranked freelancers",
        extra={"gig_id": spec.gig_id, "strategy": strategy, "candidates": len(candidate_ids), "returned": len(result)},
    )
    return result
