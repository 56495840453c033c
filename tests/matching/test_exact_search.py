"""Strict hard filters: when few profiles are eligible, the dense and taxonomy retrievers search
exactly among them instead of walking the HNSW graph and each skill's claims."""

from __future__ import annotations

from dataclasses import replace

import pytest

from marketplace.models import FreelancerProfile
from matching.encoder import active_model
from matching.ranking import rank_freelancers
from matching.ranking.candidates import (
    dense_candidates,
    eligibility_sql,
    exact_dense_candidates,
    few_eligible,
    skill_candidates,
)
from matching.ranking.service import query_vectors

pytestmark = pytest.mark.model


def test_few_eligible_lists_exactly_the_profiles_that_pass_the_hard_filters(german_labelling_gig):
    where = eligibility_sql(german_labelling_gig)
    expected = sorted(
        p.id
        for p in FreelancerProfile.objects.all()
        if "de" in p.languages and float(p.hourly_rate) <= 50 * 1.25 and p.available_hours_per_week > 0
    )

    assert 2 <= len(expected) < 15
    assert sorted(few_eligible(where, 5000)) == expected
    assert few_eligible(where, len(expected) - 1) is None  # more than allowed: not listed
    assert few_eligible(where, 0) is None


def test_the_planners_estimate_is_asked_once_per_filters_and_process(german_labelling_gig, django_assert_num_queries):
    where = eligibility_sql(german_labelling_gig)
    with django_assert_num_queries(2):  # the estimate, then the listing
        first = few_eligible(where, 5000)
    with django_assert_num_queries(1):  # the listing only
        assert few_eligible(where, 5000) == first
    other = eligibility_sql(replace(german_labelling_gig, languages=("en",)))
    with django_assert_num_queries(2):  # other filters: their own estimate
        assert few_eligible(other, 5000) != first


def test_exact_retrievers_find_what_the_index_walks_find(german_labelling_gig):
    spec, model = german_labelling_gig, active_model()
    where, query = eligibility_sql(spec), query_vectors(spec)
    few = few_eligible(where, 5000)
    needed = [n.skill_id for n in spec.needs]

    # On a table this small the HNSW search is exact too. The walk reads ``limit`` rows per gig
    # view and both views of a profile are in the index: its top ``limit // 2`` is exact.
    for limit in (2, 4, 8):
        exact = list(exact_dense_candidates(query, model.version, few, limit).items())[: limit // 2]
        walked = list(dense_candidates(query, model.version, where, limit).items())[: limit // 2]
        assert [pid for pid, _ in walked] == [pid for pid, _ in exact]
        assert [sim for _, sim in walked] == pytest.approx([sim for _, sim in exact])
    assert skill_candidates(needed, where, 10, among=few) == skill_candidates(needed, where, 10)
    assert skill_candidates(needed, where, 10)  # not vacuous: German speakers claim the skills


@pytest.mark.django_db(transaction=True)
def test_a_ranking_with_strict_filters_is_the_same_either_way(german_labelling_gig, settings):
    settings.MATCHING_EXACT_SEARCH_PROFILES = 5000
    exact = rank_freelancers(german_labelling_gig, strategy="hybrid", limit=10)
    settings.MATCHING_EXACT_SEARCH_PROFILES = 0  # never: HNSW iterative scan and the skill walk
    walked = rank_freelancers(german_labelling_gig, strategy="hybrid", limit=10)

    assert len(exact) >= 2
    german = set(FreelancerProfile.objects.filter(languages__contains=["de"]).values_list("id", flat=True))
    assert {c.profile_id for c in exact} <= german
    assert [(c.profile_id, round(c.score, 5)) for c in exact] == [(c.profile_id, round(c.score, 5)) for c in walked]


def test_the_exact_search_limit_grows_with_the_square_root_of_the_profiles(german_labelling_gig):
    from django.db import connection

    from matching.ranking import reset_caches
    from matching.ranking.candidates import exact_search_limit

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplace_freelancerprofile")
    reset_caches()
    profiles = FreelancerProfile.objects.count()
    assert profiles == 15
    assert exact_search_limit(3000) == round(3000 * (15 / 100_000) ** 0.5) == 37
    assert exact_search_limit(0) == 0  # never


@pytest.mark.parametrize(
    ("languages", "budget_max", "index"),
    [((), 20, "profile_listed_by_rate"), (("de",), None, "profile_listed_by_language")],
)
def test_the_listing_can_read_the_profiles_partial_indexes(german_labelling_gig, languages, budget_max, index):
    """The partial indexes' condition must follow from the hard filters' SQL, or PostgreSQL cannot
    use them and the listing scans every profile (docs/benchmarks.md)."""
    from django.db import connection

    spec = replace(
        german_labelling_gig,
        languages=languages,
        budget_type="hourly" if budget_max else "fixed",
        budget_max=budget_max or 1000,
    )
    where = eligibility_sql(spec)
    with connection.cursor() as cursor:
        # A table this small is otherwise scanned whole, or read through any index at all: only
        # the index under test is left to the planner (the test's transaction is rolled back),
        # the primary and unique keys' too, which a plan by cost alone sometimes preferred.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the fixtures' deferred checks, before ALTER TABLE
        cursor.execute(
            "SELECT c.conname FROM pg_constraint c WHERE c.conrelid = 'marketplace_freelancerprofile'::regclass"
            " AND c.contype IN ('p', 'u')"
        )
        for (key,) in cursor.fetchall():
            cursor.execute(f'ALTER TABLE marketplace_freelancerprofile DROP CONSTRAINT "{key}" CASCADE')
        cursor.execute(
            "SELECT i.indexname FROM pg_indexes i WHERE i.tablename = 'marketplace_freelancerprofile'"
            " AND i.indexname <> %s",
            [index],
        )
        for (other,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{other}"')
        cursor.execute(f"EXPLAIN SELECT p.id FROM marketplace_freelancerprofile p WHERE {where.sql}", where.params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan
    assert "user_not_listable" in plan  # the users who cannot be listed, from their small index


def test_the_hnsw_candidate_list_grows_with_the_square_root_of_the_profiles(german_labelling_gig):
    from django.db import connection

    from matching.ranking import reset_caches
    from matching.ranking.candidates import hnsw_ef_search

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplace_freelancerprofile")
        cursor.execute("UPDATE pg_class SET reltuples = 250000 WHERE relname = 'marketplace_freelancerprofile'")
    reset_caches()
    assert hnsw_ef_search(600, 60) == round(600 * 0.5) == 300  # a quarter of 1M profiles
    assert hnsw_ef_search(600, 400) == 400  # at least the rows read
    assert hnsw_ef_search(100, 60) == 100  # at least 100
    assert hnsw_ef_search(3000, 60) == 1000  # pgvector's limit
