"""Candidate generation in PostgreSQL: hard filters, pgvector KNN, skill overlap (BM25: lexical.py).

Every query shares one WHERE clause (``eligibility_sql``), so a freelancer who cannot be shown
(hidden, not approved, suspended) or cannot take the gig never becomes a candidate.
"""

from __future__ import annotations

import functools
import json
import math
import struct
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection, transaction
from psycopg import pq
from psycopg.adapt import Dumper

from .graphs import AVAILABLE, VISIBLE, language_clause, level_rank_sql, searched_in_language_graphs
from .parallel import in_pool
from .spec import GigSpec

_LANGUAGES_CLAUSE = "{p}.languages && %s::varchar[]"


@dataclass(frozen=True)
class Sql:
    """A statement, or a part of one, with its parameters in the order of its placeholders."""

    text: str
    params: list


@dataclass(frozen=True)
class Eligibility:
    """The hard filters as SQL: ``clauses`` name the profile's fields as ``{p}.field``.

    ``languages``: the languages of which the profile must speak one, when that filter applies.
    """

    clauses: tuple[str, ...]
    params: list
    languages: tuple[str, ...] = ()

    @property
    def sql(self) -> str:
        """On ``p`` (marketplace_freelancerprofile), as in ``_FROM``."""
        return self.on("p")

    def on(self, alias: str) -> str:
        """On another table that carries the profile's filter fields under the same names (the
        copies on each vector row, ``FreelancerEmbedding``, and on each skill claim,
        ``FreelancerSkill``), aliased ``alias``."""
        return " AND ".join(clause.format(p=alias) for clause in self.clauses)

    def for_language(self, code: str) -> Eligibility:
        """The same filters, for the profiles that speak ``code`` (one of ``languages``), with the
        language written as a constant (``language_clause``)."""
        if code not in self.languages:
            raise ValueError(f"{code!r} is not one of the filter's languages")
        at = self.clauses.index(_LANGUAGES_CLAUSE)
        param = sum(clause.count("%s") for clause in self.clauses[:at])
        clauses = (*self.clauses[:at], language_clause(code), *self.clauses[at + 1 :])
        return Eligibility(clauses=clauses, params=self.params[:param] + self.params[param + 1 :], languages=(code,))


# The user must be listable (active, not suspended). Said as an anti-join against the few users who
# are not (partial index ``user_not_listable``) rather than a join of every row to its user: the
# listing of few eligible profiles then reads profiles alone (it used to scan every user), and
# every other query looks up one small index instead of the users' table.
_USER_LISTABLE = (
    "NOT EXISTS (SELECT 1 FROM accounts_user bu WHERE bu.id = {p}.user_id AND (NOT bu.is_active OR bu.is_suspended))"
)


def eligibility_sql(spec: GigSpec, *, feasibility: bool = True) -> Eligibility:
    """The hard filters on the profile (``{p}``) and, by an anti-join, on its user.

    Always: public, approved, active, not suspended. With ``feasibility``: available hours > 0, a
    shared language when the gig names languages, and for hourly gigs a rate within
    ``MATCHING_RATE_TOLERANCE`` times the budget's maximum.
    """
    clauses = [
        *VISIBLE,
        _USER_LISTABLE,
    ]
    params: list = []
    if spec.exclude_user_ids:
        clauses.append("NOT ({p}.user_id = ANY(%s))")
        params.append(list(spec.exclude_user_ids))
    if feasibility:
        clauses.append(AVAILABLE)
        if spec.languages:
            clauses.append(_LANGUAGES_CLAUSE)
            params.append(list(spec.languages))
        if spec.budget_type == "hourly" and spec.budget_max is not None:
            clauses.append("{p}.hourly_rate <= %s::numeric")
            params.append(float(spec.budget_max) * settings.MATCHING_RATE_TOLERANCE)
    languages = tuple(spec.languages) if feasibility else ()
    return Eligibility(clauses=tuple(clauses), params=params, languages=languages)


_FROM = "marketplace_freelancerprofile p"


def _per_language(where: Eligibility) -> list[Eligibility]:
    """``where`` once per language the gig names, when every one of them has a language graph
    (graphs.py), each in the words of its graph's predicate; else ``[where]``."""
    if not searched_in_language_graphs(where.languages):
        return [where]
    return [where.for_language(code) for code in dict.fromkeys(where.languages)]


def dense_sql(vectors: np.ndarray, model_version: str, where: Eligibility, limit: int) -> Sql:
    """Rows ``(profile_id, sim)``: the ``limit`` profiles nearest to any of the query vectors (HNSW,
    cosine), by their best similarity, best first. Run with the dense settings (``dense_cursor``).

    Iterative index scans keep scanning the HNSW graph until ``limit`` rows pass the filters, so
    strict filters do not starve the result. The filters read the profile's fields copied on each
    vector row (``FreelancerEmbedding``): the scan meets thousands of rows on strict filters, and
    looking up each one's profile cost a third of the search (docs/benchmarks.md). Only the rows
    that pass are checked against the users who cannot be listed.
    """
    # A gig whose languages all have a graph of their own is searched in those graphs, one
    # search per language (graphs.py): a walk of the whole graph past every row that does not
    # speak them is what made such gigs the slowest (docs/benchmarks.md).
    wheres = _per_language(where)
    branch = " UNION ALL ".join(
        f"""
        (SELECT e.profile_id, 1 - (e.embedding <=> %s::vector) AS sim
         FROM matching_freelancerembedding e
         WHERE e.model_version = %s AND {one.on("e")}
         ORDER BY e.embedding <=> %s::vector
         LIMIT {int(limit)})
        """  # noqa: S608 - fixed SQL fragments, checked language codes (language_clause), an int; values are parameters
        for one in wheres
    )
    params: list = []
    for vector in vectors:
        literal = VectorParam(vector)
        # ``limit`` rows per vector. Both views of a profile sit in the index, so a search's rows
        # can hold fewer than ``limit`` profiles; merged by best similarity (``GROUP BY``, below), the
        # searches of all the query vectors still hold the exact top ``limit // 2`` by best
        # similarity over every view pair (a row above a profile's best belongs to a profile
        # better than it, at most two rows each) and, in practice, most of the rest. Reading twice
        # as many rows to make the whole pool exact cost 2-5 ms per ranking at 100k profiles, for
        # the same recall@20 there (docs/benchmarks.md): the walk's length grows with the rows
        # wanted. At 1M the fewer rows cost recall, which the longer HNSW list there gives back
        # (``hnsw_ef_search``).
        for one in wheres:
            params += [literal, model_version, *one.params, literal]
    searches = " UNION ALL ".join([branch] * len(vectors))
    return Sql(
        f"SELECT d.profile_id, max(d.sim) AS sim FROM ({searches}) d "  # noqa: S608 - fixed fragments
        f"GROUP BY d.profile_id ORDER BY sim DESC, d.profile_id LIMIT {int(limit)}",
        params,
    )


def statement_cursor():
    """A cursor for the ranking's statements on this thread's connection.

    With ``MATCHING_PREPARED_STATEMENTS`` (settings.py) it binds values on the server: a statement
    goes to PostgreSQL with its values apart, is prepared on the connection at its first use and
    is then planned once, generically (``plan_cache_mode``), instead of at every ranking. A
    generic plan cannot see the values: it guesses how many rows pass the filters (a language
    filter, very few). Where that guess chose a worse plan, the statement's words leave the planner
    no such choice: the BM25 retriever's eligibility check is a key lookup behind ``OFFSET 0``
    (lexical.py) and the taxonomy walk's limits stay parameters (``skill_sql``); the dense
    statement's limits are written into its text. Each statement's generic plan was checked gig by
    gig against its custom one: the same rows, faster (docs/benchmarks.md, twelfth pass).
    Otherwise Django's cursor: values bound into the text, planned every time. So it is too while
    Django records queries (``DEBUG``, a test's capture), whose record of a prepared statement
    would hold no SQL.

    Prepared, the rows also come back in PostgreSQL's binary format: a ranking reads ~140 rows
    of arrays and floats, which psycopg parses in about half the time from binary as from text
    (docs/benchmarks.md, fourteenth pass). The values are the same Python types either way.
    """
    if not settings.MATCHING_PREPARED_STATEMENTS or connection.queries_logged:
        return connection.cursor()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    cursor = psycopg.Cursor(connection.connection)
    cursor.format = pq.Format.BINARY
    # Django's wrapper runs it, so its errors are Django's as for any other query.
    return connection.make_cursor(cursor)


@contextmanager
def dense_cursor(limit: int) -> Iterator:
    """A cursor with the HNSW search settings for searches of ``limit`` rows (``_DENSE_SETTINGS_SQL``).

    A pool connection runs ranking queries only, so the settings stay on its session, which saves
    three round trips (BEGIN, SET, COMMIT) per search; elsewhere they hold for one transaction.
    """
    ef_search = str(hnsw_ef_search(settings.MATCHING_HNSW_EF_SEARCH, limit))
    if in_pool():
        with statement_cursor() as cursor:
            if _dense_session.get(connection.connection) != ef_search:
                cursor.execute(_DENSE_SETTINGS_SQL, [False, ef_search, False, False])
                _dense_session[connection.connection] = ef_search
            yield cursor
    else:
        with transaction.atomic(), statement_cursor() as cursor:
            cursor.execute(_DENSE_SETTINGS_SQL, [True, ef_search, True, True])  # SET LOCAL
            yield cursor


def dense_candidates(vectors: np.ndarray, model_version: str, where: Eligibility, limit: int) -> dict[int, float]:
    """Nearest profiles to any of the query vectors (``dense_sql``), with their best similarity."""
    statement = dense_sql(vectors, model_version, where, limit)
    with dense_cursor(limit) as cursor:
        cursor.execute(statement.text, statement.params)
        return {profile_id: float(sim) for profile_id, sim in cursor.fetchall()}


def profile_count() -> float | None:
    """How many profiles there are, by the planner's count (``pg_class.reltuples``, as of the last
    ANALYZE: no scan), kept ``ESTIMATE_TTL`` per process; None before the table's first ANALYZE."""
    key = (connection.settings_dict["NAME"], "profiles")
    now = time.monotonic()
    cached = _estimates.get(key)
    if cached is not None and cached[0] > now:
        profiles = cached[1]
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'marketplace_freelancerprofile'::regclass")
            profiles = float(cursor.fetchone()[0])
        _estimates[key] = (now + ESTIMATE_TTL, profiles)
    return profiles if profiles >= 0 else None


def _sqrt_scaled(at_reference: float, reference_profiles: int) -> float:
    """``at_reference`` at ``reference_profiles``, times the square root of profiles / that."""
    profiles = profile_count()
    return at_reference if profiles is None else at_reference * math.sqrt(profiles / reference_profiles)


# Where the exact search starts to pay off grows with the square root of the number of profiles:
# the HNSW walk reads about pool * profiles / eligible rows, the exact search every eligible
# profile, and the two cost the same where eligible² is proportional to the profiles.
# ``MATCHING_EXACT_SEARCH_PROFILES`` is that point at this many profiles (measured: ~3,000 at
# 100k, docs/benchmarks.md).
EXACT_SEARCH_REFERENCE_PROFILES = 100_000


def exact_search_limit(at_reference: int) -> int:
    """How many eligible profiles at most the exact search takes, for the profiles there are now:
    ``at_reference`` at 100k profiles, scaled by the square root of the ratio."""
    if at_reference <= 0:
        return 0
    return max(1, round(_sqrt_scaled(at_reference, EXACT_SEARCH_REFERENCE_PROFILES)))


# The HNSW candidate list a search needs for the same recall grows with the graph: at recall@20
# ~0.98, ef_search 100 (or less) at 100k profiles and ~450 at 1M on the graph of ef_construction 128
# (~200 and ~800 on the one of 64; docs/benchmarks.md). A list sized for 1M made every search at
# 100k walk three times as far as it needed. ``MATCHING_HNSW_EF_SEARCH`` is
# the list at this many profiles, scaled by the square root of the ratio.
HNSW_EF_REFERENCE_PROFILES = 1_000_000
HNSW_EF_FLOOR, HNSW_EF_CEILING = 100, 1000  # pgvector accepts at most 1000


def hnsw_ef_search(at_reference: int, rows: int) -> int:
    """``hnsw.ef_search`` for a search that reads ``rows`` rows, for the profiles there are now:
    ``at_reference`` at 1M profiles, scaled by the square root of the ratio; at least 100 and the
    rows read."""
    scaled = round(_sqrt_scaled(at_reference, HNSW_EF_REFERENCE_PROFILES))
    return min(HNSW_EF_CEILING, max(HNSW_EF_FLOOR, rows, scaled))


def few_eligible(where: Eligibility, at_most: int) -> list[int] | None:
    """The ids of the eligible profiles when the hard filters leave at most ``at_most``; else None.

    Strict filters (a rarely spoken language with a low rate cap) make the HNSW iterative scan and
    the taxonomy walk check thousands of rows, one by one, to find enough that pass. Below
    ``at_most`` profiles (``exact_search_limit``) it is cheaper to list them once and search among
    them exactly. The planner's row estimate decides whether to list them (it plans, nothing
    runs); the listing stops at ``at_most`` + 1 rows, so an estimate that was wrong costs one
    bounded scan. The listing reads the profiles' partial indexes by rate and by language
    (``FreelancerProfile.Meta.indexes``) and the few users who cannot be listed.
    """
    if at_most <= 0:
        return None
    sql = f"SELECT p.id FROM {_FROM} WHERE {where.sql}"  # noqa: S608 - fixed fragments; values are parameters
    with connection.cursor() as cursor:
        if _eligible_estimate(cursor, sql, where.params) > at_most:
            return None
        cursor.execute(sql + " LIMIT %s", [*where.params, at_most + 1])
        ids = [row[0] for row in cursor.fetchall()]
    return ids if len(ids) <= at_most else None


# The planner's estimate for a combination of filters moves only with the data (its statistics),
# so each process keeps it ESTIMATE_TTL seconds: one round trip less for most rankings, whose
# gigs share languages and budgets. Bounded; cleared whole when full.
ESTIMATE_TTL = 60.0
ESTIMATE_CACHE_SIZE = 4096
# (database, sql, params) -> (expires, rows); (database, "profiles") -> (expires, profile_count)
_estimates: dict[tuple, tuple[float, float]] = {}


def _eligible_estimate(cursor, sql: str, params: list) -> float:
    key = (connection.settings_dict["NAME"], sql, *(tuple(p) if isinstance(p, list) else p for p in params))
    now = time.monotonic()
    cached = _estimates.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
    plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    rows = float(plan[0]["Plan"]["Plan Rows"])
    if len(_estimates) >= ESTIMATE_CACHE_SIZE:
        _estimates.clear()
    _estimates[key] = (now + ESTIMATE_TTL, rows)
    return rows


def exact_dense_sql(vectors: np.ndarray, model_version: str, profile_ids: list[int], limit: int) -> Sql:
    """Rows ``(profile_id, sim)``: the ``limit`` profiles among ``profile_ids`` nearest to any of
    the query vectors, by their best similarity over every stored view, best first: an exact
    search, no index (see ``few_eligible``)."""
    sims = ", ".join(["1 - (e.embedding <=> %s::vector)"] * len(vectors))
    return Sql(
        f"""
        SELECT e.profile_id, max(GREATEST({sims})) AS sim
        FROM matching_freelancerembedding e
        WHERE e.profile_id = ANY(%s::bigint[]) AND e.model_version = %s
        GROUP BY e.profile_id
        ORDER BY sim DESC, e.profile_id
        LIMIT %s
        """,  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
        [*(VectorParam(v) for v in vectors), list(profile_ids), model_version, limit],
    )


def exact_dense_candidates(
    vectors: np.ndarray, model_version: str, profile_ids: list[int], limit: int
) -> dict[int, float]:
    """``exact_dense_sql``, run: the nearest of these profiles with their best similarity."""
    if not profile_ids:
        return {}
    statement = exact_dense_sql(vectors, model_version, profile_ids, limit)
    with statement_cursor() as cursor:
        cursor.execute(statement.text, statement.params)
        return {profile_id: float(sim) for profile_id, sim in cursor.fetchall()}


def vector_literal(vector: np.ndarray) -> str:
    """A vector as pgvector's text input (7 decimals: float32 precision for unit vectors).

    A ranking writes each of its query vectors for its searches and again for its candidates'
    cosines: the latest ones are remembered, by their bytes."""
    return _literal(np.asarray(vector, dtype=np.float32).tobytes())


class VectorParam:
    """A query vector as a statement's value (``%s::vector``) on a ``statement_cursor``.

    Where values are bound on the server (prepared statements) it goes in pgvector's binary
    format: no decimal text to write in Python nor to parse in PostgreSQL, for the six vector
    values of a ranking (docs/benchmarks.md, fourteenth pass); elsewhere (Django's cursor) as
    ``vector_literal``'s text. Every connection knows it (``register_vector_dumpers``)."""

    __slots__ = ("array",)

    def __init__(self, vector: np.ndarray) -> None:
        self.array = np.asarray(vector, dtype=np.float32)


class _VectorTextDumper(Dumper):
    def dump(self, obj: VectorParam) -> bytes:
        return vector_literal(obj.array).encode()


class _VectorBinaryDumper(Dumper):
    format = pq.Format.BINARY

    def dump(self, obj: VectorParam) -> bytes:
        # pgvector's vector_recv: the dimensions and a reserved word (int16 each), then float4s,
        # all in network byte order. The type comes from the statement's ``::vector``.
        array = obj.array
        return struct.pack(">HH", array.shape[0], 0) + array.astype(">f4").tobytes()


def register_vector_dumpers(sender=None, connection=None, **_kwargs) -> None:
    """How ``VectorParam`` goes to PostgreSQL, on a new database connection (a receiver of
    Django's ``connection_created``, connected in ``matching.apps``)."""
    adapters = connection.connection.adapters
    # The binary one last: a ``%s`` takes the latest dumper of either format; a cursor that
    # binds values into the text (Django's) asks for the text one.
    adapters.register_dumper(VectorParam, _VectorTextDumper)
    adapters.register_dumper(VectorParam, _VectorBinaryDumper)


@functools.lru_cache(maxsize=256)
def _literal(raw: bytes) -> str:
    # Python floats format in about half the time of numpy's scalars.
    return "[" + ",".join(map("{:.7f}".format, np.frombuffer(raw, dtype=np.float32).tolist())) + "]"


# The dense retriever's settings, in one round trip. Iterative scans keep strict filters from
# starving the result. Memoize is off: the planner sizes its cache for the whole table (it
# cannot know the scan stops after ``limit`` rows), and building it cost 5-6 ms per search at
# 100k profiles, against ~1.5 ms for the search itself (docs/benchmarks.md).
_DENSE_SETTINGS_SQL = (
    "SELECT set_config('hnsw.iterative_scan', 'relaxed_order', %s), set_config('hnsw.ef_search', %s, %s),"
    " set_config('enable_memoize', 'off', %s)"
)
_dense_session: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # pool connection -> ef_search


# Claims read per needed skill, strongest first (level, then the newest profile).
CLAIMS_PER_SKILL = 100
# The same expression as the ``skill_claim_walk`` index on marketplace_freelancerskill, so
# PostgreSQL reads a skill's claims in that order and stops after CLAIMS_PER_SKILL eligible ones.
_LEVEL_RANK_SQL = level_rank_sql("fs")


def skill_sql(skill_ids: list[int], where: Eligibility, limit: int, among: list[int] | None = None) -> Sql:
    """Rows ``(profile_id, overlap)``: profiles claiming the needed skills (taxonomy overlap), most
    overlapping first.

    Reads the ``CLAIMS_PER_SKILL`` strongest eligible claims of each needed skill; a profile's
    overlap is the number of needed skills among whose strongest claims it is (every needed
    skill it claims while a skill has fewer eligible claimants than that). ``among``: the
    eligible profiles, when they are few (``few_eligible``): their claims are read directly
    instead of walking each skill's claims until enough pass the filters. The walk checks the
    filters on the profile fields copied on each claim (``FreelancerSkill``): on strict filters it
    reads thousands of claims, and looking up each claimant's profile was most of its time. The
    index it walks (``skill_claim_walk``) carries those fields, so the claims' rows are not read.
    """
    if among is not None:
        return Sql(
            f"""
            SELECT h.profile_id, count(*) AS overlap
            FROM (
                SELECT fs.profile_id, row_number() OVER (
                    PARTITION BY fs.skill_id ORDER BY {_LEVEL_RANK_SQL} DESC, fs.profile_id DESC
                ) AS strength
                FROM marketplace_freelancerskill fs
                WHERE fs.skill_id = ANY(%s::bigint[]) AND fs.profile_id = ANY(%s::bigint[])
            ) h
            WHERE h.strength <= %s
            GROUP BY h.profile_id ORDER BY overlap DESC, h.profile_id DESC LIMIT %s
            """,  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
            [sorted(set(skill_ids)), list(among), CLAIMS_PER_SKILL, limit],
        )
    # Each language's own index when the gig's languages all have a graph (graphs.py): a skill's
    # strongest claims of that language's speakers, the languages' lists merged strongest first.
    # The limits are parameters, not constants: a generic plan (statement_cursor) that knows it
    # needs 100 rows, and guesses that fewer pass a language filter, reads and sorts every claim
    # of the skill (~12 ms per skill at 100k) instead of walking the index until enough pass.
    wheres = _per_language(where)
    walks = " UNION ".join(
        f"""
                (SELECT fs.profile_id, {_LEVEL_RANK_SQL} AS strength
                 FROM marketplace_freelancerskill fs
                 WHERE fs.skill_id = s.skill_id AND {one.on("fs")}
                 ORDER BY {_LEVEL_RANK_SQL} DESC, fs.profile_id DESC
                 LIMIT %s)"""  # noqa: S608 - fixed fragments and checked language codes
        for one in wheres
    )
    params: list = []
    for one in wheres:
        params += [*one.params, CLAIMS_PER_SKILL]
    return Sql(
        f"""
        SELECT h.profile_id, count(*) AS overlap
        FROM unnest(%s::bigint[]) AS s(skill_id) CROSS JOIN LATERAL (
            SELECT w.profile_id FROM ({walks}) w
            ORDER BY w.strength DESC, w.profile_id DESC
            LIMIT %s
        ) h
        GROUP BY h.profile_id ORDER BY overlap DESC, h.profile_id DESC LIMIT %s
        """,  # noqa: S608 - fixed SQL fragments and checked language codes (language_clause); values are parameters
        [list(dict.fromkeys(skill_ids)), *params, CLAIMS_PER_SKILL, limit],
    )


def skill_candidates(
    skill_ids: list[int], where: Eligibility, limit: int, among: list[int] | None = None
) -> dict[int, int]:
    """``skill_sql``, run: profiles claiming the needed skills, with their overlap."""
    if not skill_ids:
        return {}
    statement = skill_sql(skill_ids, where, limit, among)
    with statement_cursor() as cursor:
        cursor.execute(statement.text, statement.params)
        return dict(cursor.fetchall())


def profile_ids_of(parts: list[Sql]) -> Sql:
    """The profiles any of these statements (rows starting with a profile id) finds, each once."""
    return Sql(
        " UNION ".join(f"SELECT r{i}.profile_id FROM ({part.text}) r{i}" for i, part in enumerate(parts)),  # noqa: S608
        [param for part in parts for param in part.params],
    )
