"""A ranking's statements are prepared once per connection and planned generically
(``MATCHING_PREPARED_STATEMENTS``; matching.ranking.candidates.statement_cursor)."""

from __future__ import annotations

import pytest
from django.db import connection

from marketplace.models import FreelancerProfile
from matching.ranking import rank_freelancers

pytestmark = pytest.mark.model


@pytest.fixture
def labelling_gig(german_labelling_gig, settings):
    """The German labelling gig (≤ 50/h), its exact search among few eligible profiles off: the
    ranking walks the HNSW graph and each skill's claims, as it does on a large marketplace."""
    settings.MATCHING_EXACT_SEARCH_PROFILES = 0
    return german_labelling_gig


def _ranking_statements() -> dict[str, tuple[int, int]]:
    """This connection's prepared ranking statements (``facts.described``): text -> (generic
    plans, custom plans), as PostgreSQL counts them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE NOT from_sql AND statement LIKE %s",
            ["%WITH candidate AS MATERIALIZED%"],
        )
        return {text: (generic, custom) for text, generic, custom in cursor.fetchall()}


def _shown(ranked) -> list[tuple]:
    return [(c.profile_id, c.rank, c.score, c.components, c.explanation) for c in ranked]


def test_a_rankings_two_statements_are_prepared_once_and_planned_generically(labelling_gig):
    before = _ranking_statements()
    first = rank_freelancers(labelling_gig, strategy="hybrid", limit=5)
    prepared = _ranking_statements()
    second = rank_freelancers(labelling_gig, strategy="hybrid", limit=5)
    again = _ranking_statements()

    assert first and _shown(first) == _shown(second)
    dense = {text for text in again if "ORDER BY e.embedding <=>" in text}
    lexical_and_taxonomy = {text for text in again if "matching_freelancerterm t" in text and "s(skill_id)" in text}
    assert len(dense) == 1 and len(lexical_and_taxonomy) == 1
    ours = dense | lexical_and_taxonomy
    assert prepared.keys() == again.keys()  # prepared at the first ranking, not again at the second
    for text in ours:
        generic, custom = again[text]
        assert custom == 0  # never planned with the values: plan_cache_mode (settings.py)
        assert generic - before.get(text, (0, 0))[0] == 2  # one generic plan's use per ranking


def test_with_prepared_statements_off_a_ranking_plans_every_statement_and_shows_the_same(labelling_gig, settings):
    prepared = rank_freelancers(labelling_gig, strategy="hybrid", limit=8)
    counts = _ranking_statements()
    settings.MATCHING_PREPARED_STATEMENTS = False
    unprepared = rank_freelancers(labelling_gig, strategy="hybrid", limit=8)

    assert _ranking_statements() == counts  # nothing prepared, nothing run prepared
    assert prepared and _shown(unprepared) == _shown(prepared)
    rates = dict(FreelancerProfile.objects.values_list("id", "hourly_rate"))
    languages = dict(FreelancerProfile.objects.values_list("id", "languages"))
    # the filters whose values a generic plan does not see still hold: rate cap and language
    assert all(float(rates[c.profile_id]) <= 50 * 1.25 and "de" in languages[c.profile_id] for c in prepared)
    assert any(float(r) > 50 * 1.25 and "de" in languages[pid] for pid, r in rates.items())  # some too dear


@pytest.mark.django_db
def test_a_query_vector_reaches_postgresql_exactly_when_prepared_and_as_its_text_otherwise(settings):
    import numpy as np

    from matching.ranking.candidates import VectorParam, statement_cursor, vector_literal

    rng = np.random.default_rng(5)
    vector = rng.standard_normal(384).astype(np.float32)
    vector /= np.linalg.norm(vector)
    sql = "SELECT (%s::vector)::real[], %s::vector <#> %s::vector"
    with statement_cursor() as cursor:  # prepared: pgvector's binary format, and binary rows
        cursor.execute(sql, [VectorParam(vector)] * 3)
        components, negative_dot = cursor.fetchone()
    assert np.array_equal(np.asarray(components, dtype=np.float32), vector)  # bit for bit
    assert negative_dot == pytest.approx(-float(vector @ vector), abs=1e-6)

    settings.MATCHING_PREPARED_STATEMENTS = False
    with statement_cursor() as cursor:  # Django's cursor: the value is written into the text
        cursor.execute(sql, [VectorParam(vector)] * 3)
        components, _ = cursor.fetchone()
    text = np.asarray(vector_literal(vector)[1:-1].split(","), dtype=np.float32)
    assert np.array_equal(np.asarray(components, dtype=np.float32), text)
    assert not np.array_equal(text, vector)  # 7 decimals: not the same bits
    assert np.abs(text - vector).max() < 1e-7
