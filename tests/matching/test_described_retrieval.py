"""A ranking's two statements (matching/ranking/facts.py): each retriever's search returns its
candidates' facts, claims, cosines and BM25 itself. They must be exactly what the retrievers find
one by one and what reading each candidate's facts, vectors and BM25 separately gives."""

from __future__ import annotations

import pytest

from marketplace.models import FreelancerProfile
from matching.encoder import active_model
from matching.ranking import spec_from_gig
from matching.ranking.candidates import (
    dense_candidates,
    eligibility_sql,
    exact_dense_candidates,
    few_eligible,
    skill_candidates,
)
from matching.ranking.facts import load_facts
from matching.ranking.lexical import lexical_candidates, lexical_query, lexical_scores
from matching.ranking.service import (
    dense_retrieval,
    lexical_and_taxonomy_retrieval,
    load_vectors,
    query_vectors,
    semantic_similarity,
)
from matching.services import freelancer_embeddings_refresh, gig_embeddings_refresh

pytestmark = pytest.mark.model

PROFILES = [
    ("Data annotation lead: image and text labelling", [("Data annotation", "expert"), ("CVAT", "advanced")]),
    ("Computer vision labeller", [("Image annotation", "expert"), ("Semantic segmentation", "advanced")]),
    ("Annotation QA: inter-annotator agreement audits", [("Data quality analysis", "expert"), ("Python", "beginner")]),
    ("Prompt engineer for support bots", [("Prompt engineering", "expert"), ("Python", "advanced")]),
    ("Executive coach for new engineering managers", [("Executive coaching", "expert")]),
    ("MLOps engineer: model serving and monitoring", [("MLOps", "expert"), ("Docker", "advanced")]),
]


@pytest.fixture
def labelling_gig(encoder, make_freelancer, make_gig):
    for i in range(18):
        headline, skills = PROFILES[i % len(PROFILES)]
        make_freelancer(
            headline=f"{headline} ({i})",
            skills=skills,
            rate=30 + 3 * i,
            languages=("en", "de") if i % 3 == 0 else ("en",),
        )
    # A profile with no vectors yet: a candidate of the lexical and taxonomy retrievers only.
    make_freelancer(headline="Image annotation in CVAT, new here", skills=[("Image annotation", "advanced")])
    embedded = list(FreelancerProfile.objects.order_by("id").values_list("id", flat=True))[:-1]
    gig = make_gig(
        title="Label 20k product photos with bounding boxes",
        description="Image annotation in CVAT with a QA pass on the annotators' agreement.",
        skills=[("Image annotation", True, "advanced"), ("CVAT", False, ""), ("Data quality analysis", True, "")],
        budget_max=70,
    )
    freelancer_embeddings_refresh(profile_ids=embedded)
    gig_embeddings_refresh(gig_ids=[gig.id])
    return spec_from_gig(gig)


def _one_by_one(spec, found_ids, model_version, words, query):
    """The candidates' facts, cosines and BM25 read separately (the ranking before the tenth pass)."""
    facts = load_facts(found_ids, model_version)
    vectors = load_vectors(found_ids, model_version)
    bm25 = lexical_scores(words, found_ids)
    return {
        pid: (
            f.hourly_rate,
            f.timezone,
            f.languages,
            sorted(f.claims),
            semantic_similarity(query, vectors[pid]) if pid in vectors else 0.0,
            bm25.get(pid, 0.0),
        )
        for pid, f in facts.items()
    }


def _as_compared(facts):
    return {
        pid: (f.hourly_rate, f.timezone, f.languages, sorted(f.claims), f.semantic, f.lexical)
        for pid, f in facts.items()
    }


@pytest.mark.parametrize("exact", [False, True], ids=["index walks", "few eligible, exact"])
def test_each_statement_returns_what_its_retrievers_and_the_separate_reads_give(labelling_gig, exact):
    spec, model = labelling_gig, active_model()
    where, query, words = eligibility_sql(spec), query_vectors(spec), lexical_query(spec.query_text)
    needed = [n.skill_id for n in spec.needs]
    few = few_eligible(where, 5000) if exact else None
    assert words is not None and (few is not None) == exact

    dense = dense_retrieval(query, words, where, 8, few, model.version)
    others = lexical_and_taxonomy_retrieval(words, needed, where, (6, 6), few, query, model.version)

    found_dense = (
        exact_dense_candidates(query, model.version, few, 8)
        if exact
        else dense_candidates(query, model.version, where, 8)
    )
    assert set(dense) == set(found_dense)
    assert set(others) == set(lexical_candidates(words, where, 6)) | set(skill_candidates(needed, where, 6, few))
    for found in (dense, others):
        expected = _one_by_one(spec, list(found), model.version, words, query)
        got = _as_compared(found)
        assert got.keys() == expected.keys()
        for pid, row in got.items():
            assert row[:4] == expected[pid][:4]
            assert row[4:] == pytest.approx(expected[pid][4:], abs=1e-6)
    # Not vacuous: the cosines and BM25 were read, and the profile with no vectors is a candidate.
    assert all(f.semantic > 0 for f in dense.values())
    assert any(f.lexical > 0 for f in others.values())
    assert any(f.semantic == 0 for f in others.values())


def test_a_statement_without_the_gig_vectors_or_words_reads_neither(labelling_gig):
    spec, model = labelling_gig, active_model()
    where, words = eligibility_sql(spec), lexical_query(spec.query_text)
    needed = [n.skill_id for n in spec.needs]

    bare = lexical_and_taxonomy_retrieval(None, needed, where, (6, 6), None, None, model.version)

    assert set(bare) == set(skill_candidates(needed, where, 6))
    assert all(f.semantic == 0 and f.lexical == 0 for f in bare.values())
    assert lexical_and_taxonomy_retrieval(None, [], where, (6, 6), None, None, model.version) == {}
    assert set(lexical_and_taxonomy_retrieval(words, [], where, (6, 6), None, None, model.version)) == set(
        lexical_candidates(words, where, 6)
    )
