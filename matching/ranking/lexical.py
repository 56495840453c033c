"""Full-text retrieval: BM25 over the postings table ``matching_freelancerterm``.

The gig's words become a weighted query (``lexical_query``: idf from corpus statistics cached per
process, query-term saturation); ``lexical_sql`` finds the best eligible profiles by reading each
term's best postings under a budget; ``exact_bm25_sql`` scores one profile over every query term,
in the statement that describes the ranking's candidates (facts.py).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from django.db import connection

from .candidates import _FROM, Eligibility, Sql, statement_cursor

# BM25 parameters; headline and skill terms weigh more than the bio (field weighting).
BM25_K1 = 1.2
BM25_B = 0.75
# Query-term saturation: a term repeated in the gig's title, skills and description weighs more.
BM25_K3 = 1.5
FIELD_WEIGHTS = {"A": 2.0, "B": 1.5, "C": 1.0, "D": 1.0}


# Postings are read in order of BM25's tf factor at this document length (see FreelancerTerm).
BM25_REFERENCE_LENGTH = 60.0


@dataclass
class CorpusStats:
    """BM25 corpus statistics: document count, mean length, and document frequency per term."""

    key: tuple
    n: float
    avgdl: float
    df: dict[str, float] = field(default_factory=dict)
    expires: float = 0.0


# Corpus statistics are cached per process and keyed by the newest document (highest id, latest
# update). After a change, a small corpus (fewer than CORPUS_EXACT_BELOW documents) is recounted
# at once, so its scores stay exact; a large one keeps its statistics up to CORPUS_STATS_TTL
# seconds, since idf and the mean length move slowly there and recounting costs a scan per term.
# Deletions do not move the key: they are counted at the next change.
CORPUS_STATS_TTL = 60.0
CORPUS_EXACT_BELOW = 5000
_corpus_lock = threading.Lock()
_corpus: CorpusStats | None = None


# The newest document: the key of the cached statistics.
_CORPUS_KEY_SQL = (
    "(SELECT max(id) FROM matching_freelancerdocument), (SELECT max(updated_at) FROM matching_freelancerdocument)"
)


def _corpus_stats(cursor, terms: list[str], newest: tuple | None = None) -> CorpusStats:
    """Statistics for these terms; ``newest`` is the corpus key when the caller read it already."""
    global _corpus
    if newest is None:
        cursor.execute(f"SELECT {_CORPUS_KEY_SQL}")
        newest = cursor.fetchone()
    key = (connection.settings_dict["NAME"], *newest)
    now = time.monotonic()
    with _corpus_lock:
        stats = _corpus
    # Unchanged documents keep their statistics exact however old they are; changed ones are
    # recounted at once in a small corpus and after the TTL in a large one.
    stale = stats is None or (stats.key != key and not _current_whatever_the_key(stats, key[0], now))
    if not stale and stats.key == key and stats.expires < now:
        stats.expires = now + CORPUS_STATS_TTL  # still exact: trusted (``_usable_stats``) a TTL more
    if stale:
        cursor.execute("SELECT count(*)::float, greatest(avg(length), 1)::float FROM matching_freelancerdocument")
        n, avgdl = cursor.fetchone()
        stats = CorpusStats(key=key, n=n, avgdl=avgdl, expires=now + CORPUS_STATS_TTL)
    missing = [t for t in terms if t not in stats.df]
    if missing:
        cursor.execute(
            """
            SELECT q.t, (SELECT count(*) FROM matching_freelancerterm ft WHERE ft.term = q.t)::float
            FROM unnest(%s::text[]) AS q(t)
            """,
            [missing],
        )
        stats.df.update(dict(cursor.fetchall()))
    with _corpus_lock:
        _corpus = stats
    return stats


# How many postings one lexical search reads at most, shared among its terms by weight (rare
# terms get more, and a term with fewer postings than its share is read whole); at least
# MIN_POSTINGS_PER_TERM per term.
POSTINGS_BUDGET = 1200
MIN_POSTINGS_PER_TERM = 40


def postings_per_term(weight: dict[str, float], df: dict[str, float], budget: int | None = None) -> dict[str, int]:
    """Share ``budget`` postings among terms by weight, giving terms with few postings all of theirs."""
    left, total = float(POSTINGS_BUDGET if budget is None else budget), sum(weight.values())
    share: dict[str, int] = {}
    for term in sorted(weight, key=lambda t: (df[t], t)):
        fair = left * weight[term] / total if total > 0 else left
        take = int(min(df[term], max(MIN_POSTINGS_PER_TERM, math.ceil(fair))))
        share[term] = take
        left = max(0.0, left - take)
        total -= weight[term]
    return share


@dataclass(frozen=True)
class LexicalQuery:
    """A text's BM25 query: its lexemes with their weights (idf and query-term saturation)."""

    terms: list[str]
    weights: list[float]
    df: dict[str, float]
    avgdl: float

    @property
    def bm25_params(self) -> list[float]:
        return [BM25_K1 + 1, BM25_K1, BM25_B, BM25_B, self.avgdl]


# BM25 of one posting ``{t}`` for query term ``q`` (parameters: LexicalQuery.bm25_params).
_BM25_SQL = (
    "q.w * {t}.tf * %s::float8 / ({t}.tf + %s::float8 * (1 - %s::float8 + %s::float8 * {t}.length / %s::float8))"
)


def _term_weights(qtf: dict[str, float], stats: CorpusStats) -> dict[str, float]:
    """idf times query-term saturation (k3), for the terms that occur in some profile."""
    return {
        t: math.log(1 + (stats.n - stats.df[t] + 0.5) / (stats.df[t] + 0.5)) * (BM25_K3 + 1) * q / (BM25_K3 + q)
        for t, q in qtf.items()
        if stats.df[t] > 0
    }


# A text's lexemes and their counts (``to_tsvector('english', ...)``: a function of the text alone)
# are remembered per process, by the text's digest, for the latest QUERY_LEXEMES_CACHE_SIZE texts
# (a gig's text has tens of lexemes; the longest description allowed, a few hundred). With the
# statistics of a large corpus still current (``_usable_stats``), a gig ranked again (its stored
# matches are re-run as profiles change) or a search asked again starts its statements without a
# round trip first (0.7-1.7 ms per ranking at 100k, docs/benchmarks.md, twelfth pass).
QUERY_LEXEMES_CACHE_SIZE = 1024
_lexemes: OrderedDict[bytes, dict[str, float]] = OrderedDict()
_lexemes_lock = threading.Lock()


def _digest(query_text: str) -> bytes:
    return hashlib.blake2b(query_text.encode(), digest_size=16).digest()


def _remembered_lexemes(query_text: str) -> dict[str, float] | None:
    key = _digest(query_text)
    with _lexemes_lock:
        qtf = _lexemes.get(key)
        if qtf is not None:
            _lexemes.move_to_end(key)
        return qtf


def _remember_lexemes(query_text: str, qtf: dict[str, float]) -> None:
    key = _digest(query_text)
    with _lexemes_lock:
        _lexemes[key] = qtf
        while len(_lexemes) > QUERY_LEXEMES_CACHE_SIZE:
            _lexemes.popitem(last=False)


def forget_lexemes() -> None:
    with _lexemes_lock:
        _lexemes.clear()


def _current_whatever_the_key(stats: CorpusStats, database: str, now: float) -> bool:
    """Statistics that no change of the corpus key makes stale: this database's, of a large corpus,
    within their TTL (``_corpus_stats`` keeps them; ``_usable_stats`` uses them without the key)."""
    return stats.key[0] == database and stats.n >= CORPUS_EXACT_BELOW and stats.expires >= now


def _usable_stats(terms) -> CorpusStats | None:
    """The cached statistics, when reading the corpus key could not change them and they know
    every one of ``terms``."""
    with _corpus_lock:
        stats = _corpus
    if (
        stats is None
        or not _current_whatever_the_key(stats, connection.settings_dict["NAME"], time.monotonic())
        or any(t not in stats.df for t in terms)
    ):
        return None
    return stats


def _read_lexemes(cursor, query_text: str) -> tuple[dict[str, float], tuple | None]:
    """The text's lexemes with their counts, and the corpus key, in one round trip (remembered)."""
    cursor.execute(
        f"SELECT l.lexeme, coalesce(array_length(l.positions, 1), 1)::float, {_CORPUS_KEY_SQL} "  # noqa: S608
        "FROM unnest(to_tsvector('english', %s)) l",
        [query_text],
    )
    rows = cursor.fetchall()
    qtf = {lexeme: q for lexeme, q, *_ in rows}
    _remember_lexemes(query_text, qtf)
    return qtf, (tuple(rows[0][2:]) if rows else None)


def lexical_query(query_text: str) -> LexicalQuery | None:
    """The text's lexemes (English stemming, as the documents) weighted against the corpus; None if
    none of them occurs in any profile."""
    qtf = _remembered_lexemes(query_text)
    stats = _usable_stats(qtf) if qtf is not None else None
    if stats is None:
        with connection.cursor() as cursor:
            newest = None  # the corpus key, read by _corpus_stats unless read with the lexemes
            if qtf is None:
                qtf, newest = _read_lexemes(cursor, query_text)
            if qtf:
                stats = _corpus_stats(cursor, list(qtf), newest=newest)
    if not qtf:
        return None
    weight = _term_weights(qtf, stats)
    if not weight:
        return None
    terms = sorted(weight)
    return LexicalQuery(
        terms=terms, weights=[weight[t] for t in terms], df={t: stats.df[t] for t in terms}, avgdl=stats.avgdl
    )


def lexical_scores_of_profile(query_texts: list[str], profile_id: int) -> list[float]:
    """One profile's exact BM25 for each of several query texts (the gigs recommended to it), in
    three queries whatever the number of texts; equal to ``lexical_scores`` text by text."""
    if not query_texts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT x.i, l.lexeme, coalesce(array_length(l.positions, 1), 1)::float "
            "FROM unnest(%s::text[]) WITH ORDINALITY AS x(txt, i), unnest(to_tsvector('english', x.txt)) l",
            [list(query_texts)],
        )
        qtfs: list[dict[str, float]] = [{} for _ in query_texts]
        for i, lexeme, q in cursor.fetchall():
            qtfs[i - 1][lexeme] = q
        terms = sorted({t for qtf in qtfs for t in qtf})
        if not terms:
            return [0.0] * len(query_texts)
        stats = _corpus_stats(cursor, terms)
        cursor.execute(
            "SELECT term, tf, length FROM matching_freelancerterm WHERE profile_id = %s AND term = ANY(%s)",
            [profile_id, terms],
        )
        postings = {term: (tf, length) for term, tf, length in cursor.fetchall()}
    scores = []
    for qtf in qtfs:
        score = 0.0
        for term, w in _term_weights(qtf, stats).items():
            if term in postings:
                tf, length = postings[term]
                score += w * tf * (BM25_K1 + 1) / (tf + BM25_K1 * (1 - BM25_B + BM25_B * length / stats.avgdl))
        scores.append(score)
    return scores


def lexical_sql(query: LexicalQuery, where: Eligibility, limit: int) -> Sql:
    """Rows ``(profile_id, score)``: eligible profiles sharing the query's words, best BM25 first
    (``lexical_scores`` scores them exactly).

    The query's lexemes are OR-ed; each term's contribution saturates (k1), so repeating a
    buzzword does not buy rank; a term repeated in the gig's title, skills and description weighs
    more (k3). Each term's best postings are read (impact order, ``postings_per_term``); the
    profiles found are ranked by the part of their BM25 those postings carry and the eligible
    ones kept. When every term's postings fit in the budget the values are the exact BM25 and
    the top ``limit`` is exact; otherwise a profile's value omits terms whose postings were not
    read far enough to reach it.

    The profiles found are sorted before the filters, which PostgreSQL (17 and later) then
    checks best first and only until ``limit`` pass: checking all of them (about a thousand, two
    index lookups each) was most of this query's time. Each check is a lookup of the profile by
    its key, kept so by ``OFFSET 0`` (a subquery the planner cannot merge into a join): the
    statement's generic plan (``statement_cursor``), which cannot see the languages asked for,
    turned the check into a scan of every speaker of the language (~50 ms instead of ~5).
    """
    weight = dict(zip(query.terms, query.weights, strict=True))
    take = postings_per_term(weight, query.df)
    return Sql(
        f"""
        WITH q AS (SELECT * FROM unnest(%s::text[], %s::float8[], %s::int[]) AS q(term, w, k)),
        found AS MATERIALIZED (
            SELECT h.profile_id, sum({_BM25_SQL.format(t="h")}) AS score
            FROM q CROSS JOIN LATERAL (
                SELECT t.profile_id, t.tf, t.length FROM matching_freelancerterm t
                WHERE t.term = q.term ORDER BY t.impact DESC LIMIT q.k
            ) h
            GROUP BY h.profile_id
            ORDER BY score DESC, h.profile_id
        )
        SELECT f.profile_id, f.score FROM found f
        CROSS JOIN LATERAL (SELECT 1 FROM {_FROM} WHERE p.id = f.profile_id AND {where.sql} OFFSET 0) eligible
        ORDER BY f.score DESC, f.profile_id
        LIMIT {int(limit)}
        """,  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
        [query.terms, query.weights, [take[t] for t in query.terms], *query.bm25_params, *where.params],
    )


def lexical_candidates(query: LexicalQuery | None, where: Eligibility, limit: int) -> dict[int, float]:
    """``lexical_sql``, run: eligible profiles sharing the query's words, with that BM25."""
    if query is None:
        return {}
    statement = lexical_sql(query, where, limit)
    with statement_cursor() as cursor:
        cursor.execute(statement.text, statement.params)
        return {pid: float(score) for pid, score in cursor.fetchall()}


def exact_bm25_sql(query: LexicalQuery, profile: str) -> Sql:
    """A scalar subquery: the exact BM25 over every query term of the profile whose id is the SQL
    expression ``profile`` (NULL when it shares no word with the query). One index range of the
    profile's postings (the primary key, profile then term)."""
    return Sql(
        f"""(SELECT sum({_BM25_SQL.format(t="t")})
             FROM unnest(%s::text[], %s::float8[]) AS q(term, w)
             JOIN matching_freelancerterm t ON t.profile_id = {profile} AND t.term = q.term)""",  # noqa: S608
        [*query.bm25_params, query.terms, query.weights],
    )


def lexical_scores(query: LexicalQuery | None, profile_ids: list[int]) -> dict[int, float]:
    """Exact BM25 of these profiles (profiles sharing no word with the query are left out)."""
    if query is None or not profile_ids:
        return {}
    bm25 = exact_bm25_sql(query, "x.id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT x.id, {bm25.text} FROM unnest(%s::bigint[]) AS x(id)",  # noqa: S608 - fixed fragments
            [*bm25.params, list(profile_ids)],
        )
        return {pid: float(score) for pid, score in cursor.fetchall() if score is not None}
