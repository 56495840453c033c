"""What a ranking reads about its candidates, in the same statement as the retriever that finds them.

A retriever's statement (``candidates.dense_sql``, ``lexical_sql``, ``skill_sql``) names profile
ids; ``described`` wraps it so that the same statement returns, for each profile it finds, the
facts scoring reads (rate, hours, timezone, languages, reputation), its skill claims, the cosines
of its stored views with the gig's two views and its exact BM25 for the gig's words. A ranking so
costs two statements, run side by side (the dense retriever's, and the lexical and taxonomy
retrievers' together), instead of one per retriever and then three more for the candidates' facts,
cosines and BM25: each of those round trips cost planning, parsing, the candidate ids written into
the SQL again and a wake-up of the waiting thread (docs/benchmarks.md, tenth pass).
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

from django.db import connection

from ..models import EmbeddingView
from .candidates import _FROM, Sql, VectorParam, statement_cursor
from .lexical import LexicalQuery, exact_bm25_sql
from .scoring import CandidateFacts, ClaimFacts
from .skills import catalogue_generation, skill_catalogue

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

_FULL, _SKILLS = str(EmbeddingView.FULL), str(EmbeddingView.SKILLS)


def described(
    found: Sql, *, query: np.ndarray | None = None, words: LexicalQuery | None = None, model_version: str = ""
) -> Sql:
    """``found`` (a statement whose rows start with a profile id) with, for each profile it names
    once, the columns ``facts_from_rows`` reads.

    With ``query`` (the gig's two view vectors) each row carries the cosine of each of the
    profile's stored views (of ``model_version``) with both gig views; with ``words`` the exact
    BM25 (``exact_bm25_sql``). The profiles are looked up by primary key from the ids ``found``
    names (an array of them, so the planner keeps to the index whatever it guesses of their number).
    Rate and rating come as floats, which is what scoring reads (no ``Decimal`` per value).
    """
    params = list(found.params)
    bm25 = "NULL::float8"
    if words is not None:
        exact = exact_bm25_sql(words, "p.id")
        bm25 = exact.text
        params += exact.params
    if query is not None:
        cosines = """LEFT JOIN LATERAL (
            SELECT array_agg(e.view::text) AS views, array_agg(-(e.embedding <#> %s::vector)) AS with_full,
                   array_agg(-(e.embedding <#> %s::vector)) AS with_skills
            FROM matching_freelancerembedding e WHERE e.profile_id = p.id AND e.model_version = %s
        ) v ON true"""
        params += [VectorParam(query[0]), VectorParam(query[1]), model_version]
        views = "v.views, v.with_full, v.with_skills"
    else:
        cosines, views = "", "NULL::text[], NULL::float8[], NULL::float8[]"
    return Sql(
        f"""
        WITH candidate AS MATERIALIZED ({found.text})
        SELECT p.id, p.hourly_rate::float8, p.available_hours_per_week, p.timezone,
               p.languages, p.rating_avg::float8, p.rating_count, p.completed_jobs, c.skill_ids, c.levels, c.years,
               {views}, {bm25}
        FROM {_FROM} LEFT JOIN LATERAL (
            SELECT array_agg(fs.skill_id) AS skill_ids, array_agg(fs.level) AS levels, array_agg(fs.years) AS years
            FROM marketplace_freelancerskill fs WHERE fs.profile_id = p.id
        ) c ON true
        {cosines}
        WHERE p.id = ANY(ARRAY(SELECT candidate.profile_id FROM candidate))
        """,  # noqa: S608 - only fixed SQL fragments are interpolated; values are parameters
        params,
    )


def view_blend(full: tuple[float, float] | None, skills: tuple[float, float] | None) -> float:
    """The semantic similarity of a profile from its views' cosines with the gig's two views
    (``(with the gig's full view, with its skills view)`` for each stored profile view): half the
    mean of the like pairs (full with full, skills with skills), half the best of all four pairs."""
    sims, cross = [], []
    if full is not None:
        sims.append(full[0])  # gig full . profile full
        cross.append(full[1])  # gig skills . profile full
    if skills is not None:
        sims.append(skills[1])  # gig skills . profile skills
        cross.insert(0, skills[0])  # gig full . profile skills
    return 0.5 * (sum(sims) / len(sims)) + 0.5 * max(sims + cross) if sims else 0.0


def both_views_blend(with_full: list[float], with_skills: list[float]) -> float:
    """``view_blend`` of a profile with both views, from its views' cosines (full view first)
    with the gig's full view and with its skills view: the same arithmetic, written out for the
    usual row (every candidate of every ranking)."""
    ff, sf = with_full  # the gig's full view with the profile's full view, with its skills view
    fs, ss = with_skills  # the gig's skills view with the profile's full view, with its skills view
    return 0.5 * ((ff + ss) / 2) + 0.5 * max(ff, ss, sf, fs)


# The claims of every candidate of every ranking (~750 per ranking) are a few thousand distinct
# (skill, level, years) triples: a process builds each ``ClaimFacts`` once and shares it (they are
# frozen), again when the skill is renamed. Bounded; cleared whole when full.
CLAIM_CACHE_SIZE = 50_000
_claims: dict[tuple[int, str, int | None], ClaimFacts] = {}


def _new_claim(key: tuple[int, str, int | None], name: str) -> ClaimFacts:
    if len(_claims) >= CLAIM_CACHE_SIZE:
        _claims.clear()
    claim = _claims[key] = ClaimFacts(skill_id=key[0], name=name, level=key[1], years=key[2])
    return claim


# By name, then id: a profile claims a skill once.
_claim_order = operator.attrgetter("name", "skill_id")

# A profile's claims as scoring reads them (named, in order), kept with the arrays of its row they
# were built from and the catalogue's generation (skills.catalogue_generation): the candidates of
# a ranking are mostly candidates of earlier ones, whose claims then cost a lookup and a comparison
# of three short arrays instead of being named and ordered again (the largest part of reading a
# ranking's rows in Python; docs/benchmarks.md, seventeenth pass). The claims are shared, never
# changed. Bounded; cleared whole when full.
PROFILE_CLAIMS_CACHE_SIZE = 20_000
_profile_claims: dict[tuple[str, int], tuple[list, list, list, int, dict[int, ClaimFacts]]] = {}


def _named_claims(skill_ids: list, levels: list, years: list, catalogue: dict) -> dict[int, ClaimFacts]:
    claims = []
    for key in zip(skill_ids, levels, years, strict=True):
        entry = catalogue.get(key[0])
        if entry is None:  # a skill the catalogue does not name (any more): left out
            continue
        claim = _claims.get(key)
        if claim is None or claim.name != entry[0]:
            claim = _new_claim(key, entry[0])
        claims.append(claim)
    claims.sort(key=_claim_order)
    return {claim.skill_id: claim for claim in claims}


def facts_from_rows(rows: list[tuple]) -> dict[int, CandidateFacts]:
    """The candidates of ``described`` rows, with their claims (named from the process's skill
    catalogue, in the order of the names, as explanations list them), their semantic similarity
    (``view_blend``; 0 without cosines) and their BM25 (0 without one)."""
    # The generation after the names are read is the one kept claims must have; claims built now
    # are kept only if it did not move while they were read (then they are that generation's).
    before = catalogue_generation()
    catalogue = skill_catalogue({sid for row in rows if row[8] for sid in row[8]})
    generation = catalogue_generation()
    keep = generation == before
    database = connection.settings_dict["NAME"]
    known = _profile_claims
    facts: dict[int, CandidateFacts] = {}
    # Every candidate of every ranking passes here (~140 rows): the claims are built in one pass.
    for row in rows:
        (pid, rate, hours, tz, languages, rating, rating_count, jobs,
         skill_ids, levels, years, views, with_full, with_skills, bm25) = row  # fmt: skip
        # The row's values are already what scoring reads (float8 rate, rating and BM25; a list of
        # languages): passed as they are, in the fields' order.
        f = CandidateFacts(pid, rate, hours, tz, languages, rating, rating_count, jobs)
        if bm25 is not None:
            f.lexical = bm25
        if skill_ids:
            cached = known.get((database, pid))
            if (
                cached is not None
                and cached[3] == generation
                and cached[0] == skill_ids
                and cached[1] == levels
                and cached[2] == years
            ):
                f.claims = cached[4]
            else:
                f.claims = _named_claims(skill_ids, levels, years, catalogue)
                if keep:
                    if len(known) >= PROFILE_CLAIMS_CACHE_SIZE:
                        known.clear()
                    known[(database, pid)] = (skill_ids, levels, years, generation, f.claims)
        if views:
            if views == [_FULL, _SKILLS]:  # the usual row: both views, in the order view_blend reads
                f.semantic = both_views_blend(with_full, with_skills)
            else:
                pairs = {view: (a, b) for view, a, b in zip(views, with_full, with_skills, strict=True)}
                f.semantic = view_blend(pairs.get(_FULL), pairs.get(_SKILLS))
        facts[pid] = f
    return facts


def read_facts(statement: Sql, cursor=None) -> dict[int, CandidateFacts]:
    """Run a ``described`` statement (on ``cursor``, else on a new one) and read its candidates."""
    if cursor is None:
        with statement_cursor() as own:
            return read_facts(statement, own)
    cursor.execute(statement.text, statement.params)
    return facts_from_rows(cursor.fetchall())


def load_facts(profile_ids: list[int], model_version: str = "") -> dict[int, CandidateFacts]:
    """The facts and claims of these profiles (no cosines, no BM25), in one query."""
    return read_facts(described(Sql("SELECT unnest(%s::bigint[]) AS profile_id", [list(profile_ids)])))
