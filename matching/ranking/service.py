"""The ranking service: one entry point for the API, the Celery tasks and the evaluation command."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection

from marketplace.models import FreelancerProfile

from ..encoder import active_model, get_encoder
from ..models import EmbeddingView, FreelancerEmbedding, GigEmbedding
from .candidates import (
    Eligibility,
    dense_cursor,
    dense_sql,
    eligibility_sql,
    exact_dense_sql,
    exact_search_limit,
    few_eligible,
    profile_count,
    profile_ids_of,
    skill_sql,
    vector_literal,
)
from .facts import described, load_facts, read_facts, view_blend
from .lexical import LexicalQuery, lexical_query, lexical_scores_of_profile, lexical_sql
from .parallel import side_by_side
from .scoring import DEFAULT_PRIOR_RATING, RELATED_FLOOR, CandidateFacts, Scored, blend, own_score, score_candidate
from .skills import remember_skill_vectors, skill_names_to_encode, skill_similarities
from .spec import GigSpec

log = logging.getLogger("matchwork.matching.ranking")

STRATEGIES = ("lexical", "dense", "hybrid")
VIEWS = (EmbeddingView.FULL, EmbeddingView.SKILLS)
# How many candidates each retriever contributes before scoring, at least (and at least these
# multiples of the number of results asked for). Every candidate is scored in Python, so the
# pools bound the cost of a ranking whatever the number of profiles.
DENSE_POOL, DENSE_POOL_FACTOR = 60, 3
LEXICAL_POOL, SKILL_POOL, POOL_FACTOR = 40, 40, 2


@dataclass(frozen=True)
class RankedCandidate:
    profile_id: int
    rank: int
    score: float
    components: dict
    explanation: dict


def query_vectors(spec: GigSpec) -> np.ndarray:
    """The gig's view vectors: stored ones when current for the active model, else encoded now."""
    return query_vectors_many([spec])[0]


# A vector is a function of the model and the text, so the process remembers the latest ones by
# the hash of both (``Document.hash_for``): a gig ranked again, or a search asked again, costs no
# read and no encoding. Bounded; the oldest entries go first.
QUERY_VECTOR_CACHE_SIZE = 4096
_query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
_query_vectors_lock = threading.Lock()


def _remember_vectors(pairs: list[tuple[str, np.ndarray]]) -> None:
    with _query_vectors_lock:
        for key, vector in pairs:
            vector.setflags(write=False)
            _query_vectors[key] = vector
            _query_vectors.move_to_end(key)
        while len(_query_vectors) > QUERY_VECTOR_CACHE_SIZE:
            _query_vectors.popitem(last=False)


def query_vectors_many(specs: list[GigSpec]) -> list[np.ndarray]:
    """``query_vectors`` of several specs: at most one query for the stored vectors and one
    encoding call, for the texts this process has not seen yet."""
    model = active_model()
    hashes = [[spec.document().hash_for(v, model.key) for v in VIEWS] for spec in specs]
    with _query_vectors_lock:
        known = [[_query_vectors.get(h) for h in row] for row in hashes]
    unknown = [i for i, row in enumerate(known) if any(v is None for v in row)]
    gig_ids = [specs[i].gig_id for i in unknown if specs[i].gig_id is not None]
    stored = {}
    if gig_ids:
        rows = GigEmbedding.objects.filter(gig_id__in=gig_ids, model_version=model.version)
        stored = {(e.gig_id, e.view): e for e in rows}
    missing: list[tuple[int, list[str]]] = []
    for i in unknown:
        spec = specs[i]
        rows = [stored.get((spec.gig_id, v)) for v in VIEWS]
        if all(r is not None and r.content_hash == h for r, h in zip(rows, hashes[i], strict=True)):
            known[i] = [np.asarray(r.embedding, dtype=np.float32) for r in rows]
        else:
            missing.append((i, [spec.document().views[v] for v in VIEWS]))
    if missing:
        texts = [t for _, views in missing for t in views]
        # The skill names of a talent search that the taxonomy does not know are encoded in the
        # same call: the ranking needs their vectors too (attach_skill_relations), and a second
        # call to the model cost ~15-20 ms more (docs/benchmarks.md).
        names = skill_names_to_encode({n.name for i, _ in missing for n in specs[i].needs if (n.skill_id or 0) < 0})
        encoded = get_encoder().encode_query(texts + names)
        remember_skill_vectors(dict(zip(names, encoded[len(texts) :], strict=True)))
        for k, (i, _) in enumerate(missing):
            known[i] = list(encoded[k * len(VIEWS) : (k + 1) * len(VIEWS)])
    _remember_vectors([(h, v) for i in unknown for h, v in zip(hashes[i], known[i], strict=True)])
    return [np.array(row) for row in known]


def semantic_similarity(query: np.ndarray, profile_vectors: dict[str, np.ndarray]) -> float:
    """Blend of view-pair cosines (``facts.view_blend``) of a profile's stored vectors."""
    full = profile_vectors.get(EmbeddingView.FULL)
    skills = profile_vectors.get(EmbeddingView.SKILLS)
    return view_blend(
        (float(query[0] @ full), float(query[1] @ full)) if full is not None else None,
        (float(query[0] @ skills), float(query[1] @ skills)) if skills is not None else None,
    )


def load_vectors(profile_ids: list[int], model_version: str) -> dict[int, dict[str, np.ndarray]]:
    out: dict[int, dict[str, np.ndarray]] = {}
    rows = FreelancerEmbedding.objects.filter(profile_id__in=profile_ids, model_version=model_version)
    for e in rows.only("profile_id", "view", "embedding"):
        out.setdefault(e.profile_id, {})[e.view] = np.asarray(e.embedding, dtype=np.float32)
    return out


def attach_skill_relations(
    spec: GigSpec, facts: dict[int, CandidateFacts], sims: dict[int, dict[int, float]] | None = None
) -> None:
    """For each need a candidate does not claim as such, find the closest claimed skill.

    Closeness is the best cosine between any name or taxonomy alias of the needed skill and any of
    the claimed skill, so plain wording ("checking data for errors") meets the specialist's skill
    through the taxonomy's vocabulary ("data validation" of Data quality analysis).
    """
    needs = [n for n in spec.needs if n.skill_id is not None]
    if not needs:
        return
    claim_ids = {cid for f in facts.values() for cid in f.claims}
    if sims is None:
        # The claims are named from the catalogue (facts.py), which skill_texts reads anyway: only
        # the needs' names are the caller's (an ad-hoc need's free text).
        sims = skill_similarities([n.skill_id for n in needs], claim_ids, {n.skill_id: n.name for n in needs})
    # A claimed skill is relevant when it is needed or close to a need, whoever claims it.
    relevant = claim_ids.intersection(n.skill_id for n in needs)
    for need in needs:
        row = sims[need.skill_id]
        relevant.update(cid for cid in claim_ids if row.get(cid, -1.0) >= RELATED_FLOOR)
    # Every candidate of every ranking passes here: the closest claim is found by the rows' own
    # lookup (``skill_similarities`` gives each need a cosine for every claimed skill).
    rows = [(need.skill_id, sims[need.skill_id]) for need in needs]
    for f in facts.values():
        claims = f.claims
        if not claims:
            f.focus = 0.0
            continue
        for need_id, row in rows:
            if need_id not in claims:
                best = max(claims, key=row.__getitem__)
                f.related[need_id] = (best, row[best])
        f.focus = len(relevant.intersection(claims)) / len(claims)


# The marketplace's mean rating moves slowly; averaging every rated profile per ranking cost a
# full scan (~6 ms at 10k profiles, ~60 ms at 100k), so each process keeps it this long. Above
# MEAN_RATING_SAMPLE_ABOVE profiles (by the planner's count) it is the mean of a sample of the
# table's pages, about MEAN_RATING_SAMPLE_ROWS profiles: at 1M the full scan took 200-300 ms, paid
# once a minute by one ranking of every process; a prior needs no more precision than a sample's
# (when the sample holds fewer than MEAN_RATING_SAMPLE_MIN_RATED rated profiles, all are read).
MEAN_RATING_TTL = 60.0
MEAN_RATING_SAMPLE_ABOVE = 100_000
MEAN_RATING_SAMPLE_ROWS = 20_000
MEAN_RATING_SAMPLE_MIN_RATED = 1_000
_mean_rating: dict[str, tuple[float, float]] = {}  # database name -> (expires, mean)


def marketplace_mean_rating() -> float:
    database = connection.settings_dict["NAME"]
    cached = _mean_rating.get(database)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    profiles = profile_count()
    mean, rated = None, 0
    with connection.cursor() as cursor:
        if profiles is not None and profiles > MEAN_RATING_SAMPLE_ABOVE:
            # SYSTEM samples whole pages: a few hundred page reads instead of every page.
            share = min(100.0, 100.0 * MEAN_RATING_SAMPLE_ROWS / profiles)
            cursor.execute(
                "SELECT avg(rating_avg), count(*) FROM marketplace_freelancerprofile TABLESAMPLE SYSTEM (%s)"
                " WHERE rating_count > 0",
                [share],
            )
            mean, rated = cursor.fetchone()
        if rated < MEAN_RATING_SAMPLE_MIN_RATED:  # few rated profiles: all of them
            cursor.execute("SELECT avg(rating_avg) FROM marketplace_freelancerprofile WHERE rating_count > 0")
            mean = cursor.fetchone()[0]
    value = float(mean) if mean is not None else DEFAULT_PRIOR_RATING
    _mean_rating[database] = (time.monotonic() + MEAN_RATING_TTL, value)
    return value


def _minmax(values: dict[int, float]) -> dict[int, float]:
    if not values:
        return {}
    lo, hi = min(values.values()), max(values.values())
    if hi - lo < 1e-9:
        return {k: 1.0 for k in values}
    return {k: (v - lo) / (hi - lo) for k, v in values.items()}


def dense_retrieval(
    query: np.ndarray,
    words: LexicalQuery | None,
    where: Eligibility,
    pool: int,
    few: list[int] | None,
    model_version: str,
) -> dict[int, CandidateFacts]:
    """The dense retriever's candidates, described (facts.py), in one statement: the ``pool``
    profiles nearest to either gig view by their best view pair, by HNSW (``dense_sql``: one
    search per gig view, merged), or exactly among ``few`` eligible profiles."""
    if few is not None:
        if not few:
            return {}
        found = exact_dense_sql(query, model_version, few, pool)
        return read_facts(described(found, query=query, words=words, model_version=model_version))
    found = dense_sql(query, model_version, where, pool)
    with dense_cursor(pool) as cursor:
        return read_facts(described(found, query=query, words=words, model_version=model_version), cursor)


def lexical_and_taxonomy_retrieval(
    words: LexicalQuery | None,
    needed: list[int],
    where: Eligibility,
    pools: tuple[int, int],
    few: list[int] | None,
    query: np.ndarray | None,
    model_version: str,
) -> dict[int, CandidateFacts]:
    """The BM25 retriever's candidates (``lexical_sql``, ``pools[0]`` profiles) and the taxonomy
    retriever's (``skill_sql``, ``pools[1]``; among ``few`` when they are few), described
    (facts.py), in one statement."""
    parts = []
    if words is not None:
        parts.append(lexical_sql(words, where, pools[0]))
    if needed:
        parts.append(skill_sql(needed, where, pools[1], few))
    if not parts:
        return {}
    return read_facts(described(profile_ids_of(parts), query=query, words=words, model_version=model_version))


def fitted(fit: tuple[GigSpec, float] | None, retrieve, args: tuple) -> dict[int, CandidateFacts]:
    """``retrieve(*args)``'s candidates, and for a hybrid ranking (``fit``: the spec and the rating
    prior) their skill relations (``attach_skill_relations``) and ``own_score``: computed in the
    thread that read them, as soon as they arrive, while the other retriever's statement may
    still run. Every part of it is the candidate's own (``relevant`` claims are so whoever claims
    them), so each retriever's candidates get what they would among all of the ranking's."""
    facts = retrieve(*args)
    if fit is not None and facts:
        spec, prior = fit
        attach_skill_relations(spec, facts)
        for f in facts.values():
            f.own = own_score(spec, f, prior)
    return facts


def rank_freelancers(spec: GigSpec, *, strategy: str = "hybrid", limit: int = 20) -> list[RankedCandidate]:
    """Rank eligible freelancers for a gig (or an ad-hoc spec), best first, with explanations."""
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    model = active_model()
    hybrid = strategy == "hybrid"
    # The single-signal baselines apply only the visibility rules: they measure what one retriever
    # does on its own. The full pipeline (hybrid, used by the product) applies every hard filter.
    where = eligibility_sql(spec, feasibility=hybrid)

    query = query_vectors(spec) if strategy in ("dense", "hybrid") else None
    dense_pool = max(DENSE_POOL, DENSE_POOL_FACTOR * limit)
    needed = [n.skill_id for n in spec.needs if n.skill_id] if hybrid else []
    # The gig's words first: both statements below score their candidates' BM25 with them.
    words = lexical_query(spec.query_text) if strategy in ("lexical", "hybrid") else None

    # Few eligible profiles: the dense and taxonomy retrievers search exactly among them.
    few = (
        few_eligible(where, exact_search_limit(settings.MATCHING_EXACT_SEARCH_PROFILES))
        if query is not None or needed
        else None
    )
    # The marketplace's mean rating (kept a minute per process) is read first: each retriever's
    # candidates are scored as soon as their rows arrive (``fitted``).
    prior = marketplace_mean_rating() if hybrid else DEFAULT_PRIOR_RATING
    fit = (spec, prior) if hybrid else None
    # Two statements side by side (parallel.py), each a retriever's search with its candidates'
    # facts, claims, cosines and BM25 (facts.py): the lexical and taxonomy retrievers here, the
    # dense one (an HNSW search per gig view, or the exact search among few profiles) in the pool.
    calls = []
    if words is not None or needed:
        pools = (max(LEXICAL_POOL, POOL_FACTOR * limit), max(SKILL_POOL, POOL_FACTOR * limit))
        args = (words, needed, where, pools, few, query, model.version)
        calls.append((fitted, (fit, lexical_and_taxonomy_retrieval, args)))
    if query is not None:
        calls.append((fitted, (fit, dense_retrieval, (query, words, where, dense_pool, few, model.version))))
    facts: dict[int, CandidateFacts] = {}
    for found in side_by_side(*calls):
        facts.update(found)
    if not facts:
        return []
    candidate_ids = sorted(facts)
    best_lexical = max(f.lexical for f in facts.values())
    lex_norm = {pid: f.lexical / best_lexical if best_lexical > 0 else 0.0 for pid, f in facts.items()}
    sem_norm = _minmax({pid: f.semantic for pid, f in facts.items()}) if query is not None else {}

    # Every candidate is scored (its own components already are: ``fitted``); only the ones
    # returned are explained, by the same arithmetic (``score_candidate``).
    scored: list[tuple[float, int]] = []
    for pid, f in facts.items():
        if strategy == "lexical":
            key = f.lexical
        elif strategy == "dense":
            key = f.semantic
        else:
            key = blend(sem_norm.get(pid, 0.0), lex_norm.get(pid, 0.0), f.own)
        scored.append((key, pid))
    scored.sort(key=lambda t: (-t[0], t[1]))
    result = []
    for i, (key, pid) in enumerate(scored[:limit]):
        s = score_candidate(
            spec,
            facts[pid],
            lexical_norm=lex_norm.get(pid, 0.0),
            semantic_norm=sem_norm.get(pid, 0.0),
            prior_rating=prior,
        )
        result.append(
            RankedCandidate(
                profile_id=pid,
                rank=i + 1,
                score=round(float(key), 6),
                components=s.components,
                explanation=s.explanation,
            )
        )
    log.info(
        "ranked freelancers",
        extra={"gig_id": spec.gig_id, "strategy": strategy, "candidates": len(candidate_ids), "returned": len(result)},
    )
    return result


@dataclass(frozen=True)
class RankedGig:
    gig_id: int
    rank: int
    score: float
    components: dict
    explanation: dict


GIG_POOL = 60


def _eligible_gigs_sql(profile: FreelancerProfile) -> tuple[str, list]:
    """Hard filters for gigs (alias ``g``): open, approved, posted by an active, unsuspended user,
    and feasible for this freelancer (shared language, rate within the hourly tolerance)."""
    sql = """
        g.status = 'published' AND g.moderation_status = 'approved'
        AND EXISTS (
            SELECT 1 FROM accounts_user cu WHERE cu.id = g.created_by_id AND cu.is_active AND NOT cu.is_suspended
        )
        AND NOT EXISTS (SELECT 1 FROM marketplace_clientmembership m WHERE m.client_id = g.client_id AND m.user_id = %s)
        AND (cardinality(g.languages) = 0 OR g.languages && %s::varchar[])
        AND (g.budget_type <> 'hourly' OR %s <= g.budget_max * %s)
    """
    return sql, [profile.user_id, list(profile.languages), float(profile.hourly_rate), settings.MATCHING_RATE_TOLERANCE]


def rank_gigs_for_freelancer(profile: FreelancerProfile, *, limit: int = 20) -> list[RankedGig]:
    """Published gigs the freelancer can take, best first, scored by the same components as matches.

    Candidates come from the gig vectors nearest to the profile's (HNSW) and from gigs needing a
    skill the profile claims; each is scored with ``score_candidate`` from the gig's side.
    """
    from django.db import connection, transaction

    from .spec import gigs_for_specs, spec_from_gig

    if profile.available_hours_per_week <= 0:
        return []
    model = active_model()
    where, params = _eligible_gigs_sql(profile)
    vectors = load_vectors([profile.id], model.version).get(profile.id, {})
    gig_ids: set[int] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        for vector in vectors.values():
            literal = vector_literal(vector)
            cursor.execute(
                f"""
                SELECT e.gig_id FROM matching_gigembedding e JOIN marketplace_gig g ON g.id = e.gig_id
                WHERE e.model_version = %s AND {where}
                ORDER BY e.embedding <=> %s::vector LIMIT %s
                """,  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
                [model.version, *params, literal, GIG_POOL],
            )
            gig_ids.update(row[0] for row in cursor.fetchall())
        cursor.execute(
            f"""
            SELECT DISTINCT g.id FROM marketplace_gig g JOIN marketplace_gigskill gs ON gs.gig_id = g.id
            WHERE gs.skill_id IN (SELECT skill_id FROM marketplace_freelancerskill WHERE profile_id = %s) AND {where}
            ORDER BY g.id DESC LIMIT %s
            """,  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
            [profile.id, *params, GIG_POOL],
        )
        gig_ids.update(row[0] for row in cursor.fetchall())
    if not gig_ids:
        return []
    prior = marketplace_mean_rating()
    facts = load_facts([profile.id], model.version)
    f = facts[profile.id]
    # Everything per gig is read in bulk: specs, vectors, skill similarities, BM25.
    specs = [spec_from_gig(gig) for gig in gigs_for_specs(gig_ids)]
    queries = query_vectors_many(specs)
    needs = {n.skill_id: n.name for spec in specs for n in spec.needs if n.skill_id is not None}
    sims = skill_similarities(list(needs), set(f.claims), {**needs, **{c.skill_id: c.name for c in f.claims.values()}})
    bm25 = lexical_scores_of_profile([spec.query_text for spec in specs], profile.id)
    scored: list[tuple[float, int, Scored]] = []
    for spec, query, lexical in zip(specs, queries, bm25, strict=True):
        f.related, f.focus = {}, 1.0  # per gig (a gig without skill needs leaves them so)
        f.semantic = semantic_similarity(query, vectors)
        attach_skill_relations(spec, facts, sims)
        f.lexical = lexical
        # Without other candidates to compare with, raw signals are mapped onto [0, 1] directly.
        semantic_norm = min(1.0, max(0.0, (f.semantic - 0.2) / 0.5))
        lexical_norm = f.lexical / (f.lexical + 10.0)
        s = score_candidate(spec, f, lexical_norm=lexical_norm, semantic_norm=semantic_norm, prior_rating=prior)
        scored.append((s.score, spec.gig_id, s))
    scored.sort(key=lambda t: (-t[0], -t[1]))
    return [
        RankedGig(gig_id=gid, rank=i + 1, score=key, components=s.components, explanation=s.explanation)
        for i, (key, gid, s) in enumerate(scored[:limit])
    ]
