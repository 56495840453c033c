"""A ranking's retrievers run side by side on the pool's own connections (matching/ranking/parallel.py).

These tests commit their data (transactional), since the pool's connections cannot see a test
transaction's rows; every other ranking test runs inside one and so covers the sequential path.
"""

import threading
from dataclasses import replace

import pytest
from django.db import connection, transaction

from marketplace.models import FreelancerProfile
from matching.encoder import active_model
from matching.ranking import parallel, rank_freelancers, spec_from_gig
from matching.ranking.candidates import dense_candidates, eligibility_sql
from matching.ranking.service import query_vectors
from matching.services import freelancer_embeddings_refresh, gig_embeddings_refresh

pytestmark = [pytest.mark.model, pytest.mark.django_db(transaction=True)]


def best_of(found: list[dict[int, float]], limit: int) -> dict[int, float]:
    """The reference merge of searches: the ``limit`` profiles with the best similarity in any of
    ``found``, best first (``dense_sql`` merges its searches the same way, in SQL)."""
    best: dict[int, float] = {}
    for sims in found:
        for profile_id, sim in sims.items():
            if sim > best.get(profile_id, -2.0):
                best[profile_id] = sim
    return dict(sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])


@pytest.fixture
def pool(settings):
    settings.MATCHING_PARALLEL_QUERIES = 2
    parallel.shutdown()
    yield
    # The pool's connections would keep the test database from being dropped.
    parallel.shutdown()


def _select_one():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def test_calls_run_in_the_pool_outside_a_transaction_and_inline_inside_one(pool):
    def database_and_thread():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0], threading.get_ident()

    (pid_here, thread_here), (pid_pool, thread_pool) = parallel.side_by_side(
        (database_and_thread, ()), (database_and_thread, ())
    )
    assert thread_here == threading.get_ident()
    assert thread_pool != thread_here and pid_pool != pid_here  # another thread, another connection

    with transaction.atomic():
        results = parallel.side_by_side((database_and_thread, ()), (database_and_thread, ()))
    assert {thread for _, thread in results} == {threading.get_ident()}
    assert {pid for pid, _ in results} == {pid_here}

    def nested():  # a pool thread never waits on the pool: its calls run inline
        return {thread for _, thread in parallel.side_by_side((database_and_thread, ()), (database_and_thread, ()))}

    _, inner = parallel.side_by_side((database_and_thread, ()), (nested, ()))
    assert len(inner) == 1 and threading.get_ident() not in inner


def test_an_error_in_the_pool_reaches_the_caller_after_every_call_ends(pool):
    finished = []

    def slow_ok():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.2)")
        finished.append("slow")
        return "ok"

    def broken():
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    with pytest.raises(Exception, match="no_such_table"):
        parallel.side_by_side((slow_ok, ()), (broken, ()))
    assert finished == ["slow"]
    # The pool's connection is usable again for the next ranking.
    assert parallel.side_by_side((_select_one, ()), (_select_one, ())) == [1, 1]


def test_side_by_side_ranking_equals_the_sequential_one(pool, settings, encoder, make_freelancer, make_gig):
    skills = [
        [("Data annotation", "expert"), ("Image annotation", "advanced"), ("CVAT", "intermediate")],
        [("Prompt engineering", "expert"), ("Python", "advanced")],
        [("Data quality analysis", "advanced"), ("SQL", "expert"), ("dbt", "advanced")],
        [("Image annotation", "expert"), ("Semantic segmentation", "advanced")],
        [("Executive coaching", "expert"), ("Leadership development", "advanced")],
        [("MLOps", "advanced"), ("Python", "expert"), ("Docker", "advanced")],
    ]
    for i in range(12):
        make_freelancer(
            headline=f"Freelancer {i}: " + ", ".join(name for name, _ in skills[i % len(skills)]),
            skills=skills[i % len(skills)],
            rate=30 + 5 * i,
        )
    gig = make_gig(
        title="Label 20k product photos",
        description="Bounding boxes and segmentation masks for a retail catalogue, in CVAT.",
        skills=[("Image annotation", True, "advanced"), ("CVAT", False, "")],
        budget_max=80,
    )
    freelancer_embeddings_refresh(profile_ids=list(FreelancerProfile.objects.values_list("id", flat=True)))
    gig_embeddings_refresh(gig_ids=[gig.id])
    spec = spec_from_gig(gig)
    settings.MATCHING_EXACT_SEARCH_PROFILES = 0  # the HNSW searches, not the exact one (test_exact_search)

    assert not connection.in_atomic_block
    side = rank_freelancers(spec, strategy="hybrid", limit=10)
    assert parallel._pool_connections, "the retrievers did not run in the pool"
    # The pool's connections keep the dense retriever's settings on their sessions.
    sessions = [
        [w.connection.execute(f"SHOW {name}").fetchone()[0] for name in ("hnsw.iterative_scan", "enable_memoize")]
        for w in parallel._pool_connections
    ]
    assert ["relaxed_order", "off"] in sessions
    with connection.cursor() as cursor:  # and the caller's connection is left as it was
        cursor.execute("SHOW enable_memoize")
        assert cursor.fetchone()[0] == "on"
    settings.MATCHING_PARALLEL_QUERIES = 0
    sequential = rank_freelancers(spec, strategy="hybrid", limit=10)

    assert len(side) >= 5
    assert side == sequential

    # A gig naming no language: the dense search is the first query of a pool thread's
    # connection (the language graphs' registry is not asked), on pools started afresh.
    anywhere = replace(spec, languages=())
    settings.MATCHING_PARALLEL_QUERIES = 2
    parallel.shutdown()
    side = rank_freelancers(anywhere, strategy="hybrid", limit=10)
    settings.MATCHING_PARALLEL_QUERIES = 0
    assert side == rank_freelancers(anywhere, strategy="hybrid", limit=10) and len(side) >= 5

    # The HNSW search of each gig view, merged, is the search of both views at once.
    model = active_model()
    query, where = query_vectors(spec), eligibility_sql(spec)
    for limit in (2, 4, 6):
        per_view = best_of([dense_candidates(q[None], model.version, where, limit) for q in query], limit)
        assert per_view == dense_candidates(query, model.version, where, limit)
        # ``limit`` rows per gig view; both views of a profile are in the index
        assert limit // 2 <= len(per_view) <= limit
