"""Candidate generation in PostgreSQL: hard filters, pgvector KNN, full-text BM25, skill overlap.

Every query shares one WHERE clause (``eligibility_sql``), so a freelancer who cannot be shown
(hidden, not approved, suspended) or cannot take the gig never becomes a candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

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
# A term found in more than this share of all documents does not on its own make a candidate.
COMMON_TERM_SHARE = 0.2


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


def lexical_candidates(
    query_text: str, where: Eligibility, limit: int, profile_ids: list[int] | None = None
) -> dict[int, float]:
    """BM25 over the profiles' full-text vectors (PostgreSQL tsvector), best first.

    The query's lexemes are OR-ed; each term's contribution saturates (k1), so repeating a
    buzzword does not buy rank. ``profile_ids`` restricts scoring to given profiles.
    """
    restrict = ""
    # Scoring given profiles: every shared term counts, common or not.
    params: list = [query_text, COMMON_TERM_SHARE if profile_ids is None else float("inf")]
    if profile_ids is not None:
        restrict = "AND d.profile_id = ANY(%s)"
    # MATERIALIZED: computed once per query. Inlined, PostgreSQL re-ran the document-frequency
    # count for every (document, term) row it scored (hundreds of ms at 2k profiles).
    # Candidates are the documents matching a *distinctive* term; terms in more than
    # COMMON_TERM_SHARE of all documents ("project", "team") still score, but alone they do not
    # make a document a candidate: such a document's BM25 is far below the pool's, and scoring
    # every document that shares a common word cost seconds at 100k profiles.
    sql = f"""
        WITH terms AS MATERIALIZED (
            SELECT l.lexeme AS term, coalesce(array_length(l.positions, 1), 1)::float AS qtf
            FROM unnest(to_tsvector('english', %s)) l
        ),
        stats AS MATERIALIZED (
            SELECT count(*)::float AS n, greatest(avg(length), 1)::float AS avgdl FROM matching_freelancerdocument
        ),
        df AS MATERIALIZED (
            SELECT t.term, t.qtf, (
                SELECT count(*) FROM matching_freelancerdocument d2
                WHERE d2.search_vector @@ quote_literal(t.term)::tsquery
            )::float AS df
            FROM terms t
        ),
        q AS MATERIALIZED (
            SELECT coalesce(
                string_agg(quote_literal(df.term), ' | ') FILTER (WHERE df.df <= stats.n * %s),
                string_agg(quote_literal(df.term), ' | ')
            )::tsquery AS tsq
            FROM df CROSS JOIN stats
        ),
        cand AS (
            SELECT d.profile_id, d.length, d.search_vector
            FROM matching_freelancerdocument d JOIN {_FROM} ON p.id = d.profile_id, q
            WHERE d.search_vector @@ q.tsq {restrict} AND {where.sql}
        ),
        tf AS (
            SELECT c.profile_id, c.length, l.lexeme,
                   sum(CASE w WHEN 'A' THEN %s WHEN 'B' THEN %s WHEN 'C' THEN %s ELSE %s END) AS tf
            FROM cand c, unnest(c.search_vector) l, unnest(l.weights) w
            WHERE l.lexeme IN (SELECT term FROM terms)
            GROUP BY 1, 2, 3
        )
        SELECT tf.profile_id,
               sum(ln(1 + (stats.n - df.df + 0.5) / (df.df + 0.5)) * (%s + 1) * df.qtf / (%s + df.qtf)
                   * tf.tf * (%s + 1) / (tf.tf + %s * (1 - %s + %s * tf.length / stats.avgdl))) AS score
        FROM tf JOIN df ON df.term = tf.lexeme CROSS JOIN stats
        GROUP BY tf.profile_id
        ORDER BY score DESC, tf.profile_id
        LIMIT %s
    """  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
    if profile_ids is not None:
        params.append(list(profile_ids))
    params += where.params
    params += [FIELD_WEIGHTS["A"], FIELD_WEIGHTS["B"], FIELD_WEIGHTS["C"], FIELD_WEIGHTS["D"]]
    params += [BM25_K3, BM25_K3, BM25_K1, BM25_K1, BM25_B, BM25_B, limit]
    with connection.cursor() as cursor:
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
