"""Candidate generation in PostgreSQL: hard filters, pgvector KNN, full-text BM25, skill overlap.

Every query shares one WHERE clause (``eligibility_sql``), so a freelancer who cannot be shown
(hidden, not approved, suspended) or cannot take the gig never becomes a candidate.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection, transaction

from .spec import GigSpec

# BM25 parameters; headline and skill terms weigh more than the bio (field weighting).
BM25_K1 = 1.2
BM25_B = 0.75
# Query-term saturation: a term repeated in the gig's title, skills and description weighs more.
BM25_K3 = 1.5
FIELD_WEIGHTS = {"A": 2.0, "B": 1.5, "C": 1.0, "D": 1.0}


@dataclass(frozen=True)
class Eligibility:
    sql: str
    params: list


def eligibility_sql(spec: GigSpec, *, feasibility: bool = True) -> Eligibility:
    """The hard filters on ``p`` (profile) and ``u`` (user).

    Always: public, approved, active, not suspended. With ``feasibility``: available hours > 0, a
    shared language when the gig names languages, and for hourly gigs a rate within
    ``MATCHING_RATE_TOLERANCE`` times the budget's maximum.
    """
    clauses = [
        "p.visibility = 'public'",
        "p.moderation_status = 'approved'",
        "u.is_active",
        "NOT u.is_suspended",
    ]
    params: list = []
    if spec.exclude_user_ids:
        clauses.append("NOT (p.user_id = ANY(%s))")
        params.append(list(spec.exclude_user_ids))
    if feasibility:
        clauses.append("p.available_hours_per_week > 0")
        if spec.languages:
            clauses.append("p.languages && %s::varchar[]")
            params.append(list(spec.languages))
        if spec.budget_type == "hourly" and spec.budget_max is not None:
            clauses.append("p.hourly_rate <= %s")
            params.append(float(spec.budget_max) * settings.MATCHING_RATE_TOLERANCE)
    return Eligibility(sql=" AND ".join(clauses), params=params)


_FROM = "marketplace_freelancerprofile p JOIN accounts_user u ON u.id = p.user_id"


def dense_candidates(vectors: np.ndarray, model_version: str, where: Eligibility, limit: int) -> dict[int, float]:
    """Nearest profiles to any of the query vectors (HNSW, cosine), with their best similarity.

    Iterative index scans keep scanning the HNSW graph until ``limit`` rows pass the filters, so
    strict filters do not starve the result.
    """
    best: dict[int, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(40, min(1000, limit * 2))])
        for vector in vectors:
            literal = "[" + ",".join(f"{x:.7f}" for x in vector) + "]"
            cursor.execute(
                f"""
                SELECT e.profile_id, 1 - (e.embedding <=> %s::vector) AS sim
                FROM matching_freelancerembedding e JOIN {_FROM} ON p.id = e.profile_id
                WHERE e.model_version = %s AND {where.sql}
                ORDER BY e.embedding <=> %s::vector
                LIMIT %s
                """,  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
                [literal, model_version, *where.params, literal, limit * 2],
            )
            for profile_id, sim in cursor.fetchall():
                if sim > best.get(profile_id, -2.0):
                    best[profile_id] = float(sim)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:limit]
    return dict(ranked)


@dataclass
class CorpusStats:
    """BM25 corpus statistics: document count, mean length, and document frequency per term."""

    key: tuple
    n: float
    avgdl: float
    df: dict[str, float] = field(default_factory=dict)
    expires: float = 0.0


# Corpus statistics are cached per process and keyed by the newest document (highest id, latest
# update), so any insert or edit refreshes them at once; deletions are picked up within the TTL.
# Counting them per query cost a full scan plus one index scan per term (~35 ms at 10k
# profiles, ten times that at 100k).
CORPUS_STATS_TTL = 60.0
_corpus_lock = threading.Lock()
_corpus: CorpusStats | None = None


def _corpus_stats(cursor, terms: list[str]) -> CorpusStats:
    global _corpus
    cursor.execute(
        "SELECT (SELECT max(id) FROM matching_freelancerdocument), "
        "(SELECT max(updated_at) FROM matching_freelancerdocument)"
    )
    key = (connection.settings_dict["NAME"], *cursor.fetchone())
    now = time.monotonic()
    with _corpus_lock:
        stats = _corpus
    if stats is None or stats.key != key or stats.expires < now:
        cursor.execute("SELECT count(*)::float, greatest(avg(length), 1)::float FROM matching_freelancerdocument")
        n, avgdl = cursor.fetchone()
        stats = CorpusStats(key=key, n=n, avgdl=avgdl, expires=now + CORPUS_STATS_TTL)
    missing = [t for t in terms if t not in stats.df]
    if missing:
        cursor.execute(
            """
            SELECT t, (SELECT count(*) FROM matching_freelancerdocument d
                       WHERE d.search_vector @@ quote_literal(t)::tsquery)::float
            FROM unnest(%s::text[]) t
            """,
            [missing],
        )
        stats.df.update(dict(cursor.fetchall()))
    with _corpus_lock:
        _corpus = stats
    return stats


# MaxScore: score the documents that contain the rarest terms first (about this many documents),
# then widen only while a document holding none of them could still reach the top ``limit``.
ESSENTIAL_DOCS = 1500


def lexical_candidates(
    query_text: str, where: Eligibility, limit: int, profile_ids: list[int] | None = None
) -> dict[int, float]:
    """BM25 over the profiles' full-text vectors (PostgreSQL tsvector), best first.

    The query's lexemes are OR-ed; each term's contribution saturates (k1), so repeating a
    buzzword does not buy rank. ``profile_ids`` restricts scoring to given profiles.

    The top ``limit`` is exact but does not score every document sharing a common word: terms are
    taken rarest first (highest upper bound), documents containing those are scored with *all*
    query terms, and the result stands once the ``limit``-th score exceeds the most a document
    holding only the remaining terms could score (the sum of their upper bounds, idf·(k1+1));
    otherwise more terms are added (MaxScore, Turtle & Flood 1995).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.lexeme, coalesce(array_length(l.positions, 1), 1)::float "
            "FROM unnest(to_tsvector('english', %s)) l",
            [query_text],
        )
        qtf = dict(cursor.fetchall())
        if not qtf:
            return {}
        stats = _corpus_stats(cursor, list(qtf))
        weight = {
            t: math.log(1 + (stats.n - stats.df[t] + 0.5) / (stats.df[t] + 0.5)) * (BM25_K3 + 1) * q / (BM25_K3 + q)
            for t, q in qtf.items()
        }
        terms = sorted(weight, key=lambda t: (-weight[t], t))
        if profile_ids is not None:
            return _bm25(cursor, terms, weight, stats, terms, where, limit, profile_ids)
        essential, docs = 0, 0.0
        budget = ESSENTIAL_DOCS
        while True:
            while essential < len(terms) and (essential == 0 or docs + stats.df[terms[essential]] <= budget):
                docs += stats.df[terms[essential]]
                essential += 1
            scores = _bm25(cursor, terms, weight, stats, terms[:essential], where, limit, None)
            rest = sum(weight[t] for t in terms[essential:]) * (BM25_K1 + 1)
            if essential == len(terms):
                return scores
            kth = min(scores.values()) if len(scores) >= limit else 0.0
            if rest < kth:
                return scores
            budget *= 4


def _bm25(cursor, terms, weight, stats, match_terms, where, limit, profile_ids) -> dict[int, float]:
    """BM25 with every query term of the eligible documents that contain any of ``match_terms``."""
    restrict = "AND d.profile_id = ANY(%s)" if profile_ids is not None else ""
    sql = f"""
        WITH terms AS (SELECT * FROM unnest(%s::text[], %s::float8[]) AS t(term, w)),
        cand AS (
            SELECT d.profile_id, d.length, d.search_vector
            FROM matching_freelancerdocument d JOIN {_FROM} ON p.id = d.profile_id
            WHERE d.search_vector @@ (SELECT string_agg(quote_literal(x), ' | ') FROM unnest(%s::text[]) x)::tsquery
              {restrict} AND {where.sql}
        ),
        tf AS (
            SELECT c.profile_id, c.length, l.lexeme,
                   sum(CASE w WHEN 'A' THEN %s WHEN 'B' THEN %s WHEN 'C' THEN %s ELSE %s END) AS tf
            FROM cand c, unnest(c.search_vector) l, unnest(l.weights) w
            WHERE l.lexeme = ANY(%s::text[])
            GROUP BY 1, 2, 3
        )
        SELECT tf.profile_id, sum(terms.w * tf.tf * (%s + 1) / (tf.tf + %s * (1 - %s + %s * tf.length / %s))) AS score
        FROM tf JOIN terms ON terms.term = tf.lexeme
        GROUP BY tf.profile_id
        ORDER BY score DESC, tf.profile_id
        LIMIT %s
    """  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
    params: list = [terms, [weight[t] for t in terms], list(match_terms)]
    if profile_ids is not None:
        params.append(list(profile_ids))
    params += where.params
    params += [FIELD_WEIGHTS["A"], FIELD_WEIGHTS["B"], FIELD_WEIGHTS["C"], FIELD_WEIGHTS["D"], terms]
    params += [BM25_K1, BM25_K1, BM25_B, BM25_B, stats.avgdl, limit]
    cursor.execute(sql, params)
    return {pid: float(score) for pid, score in cursor.fetchall()}


def skill_candidates(skill_ids: list[int], where: Eligibility, limit: int) -> dict[int, int]:
    """Profiles claiming any of the skills (taxonomy overlap), most overlapping first."""
    if not skill_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT fs.profile_id, count(*) AS overlap
            FROM marketplace_freelancerskill fs JOIN {_FROM} ON p.id = fs.profile_id
            WHERE fs.skill_id = ANY(%s) AND {where.sql}
            GROUP BY fs.profile_id ORDER BY overlap DESC, fs.profile_id LIMIT %s
            """,  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
            [list(skill_ids), *where.params, limit],
        )
        return dict(cursor.fetchall())
