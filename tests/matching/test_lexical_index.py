"""The BM25 postings (FreelancerTerm) and the bounded candidate generators that read them."""

import pytest
from django.db import connection

from marketplace import services as market
from marketplace.models import FreelancerProfile
from matching.models import FreelancerTerm
from matching.ranking import candidates, lexical, spec_from_gig
from matching.ranking.candidates import eligibility_sql, skill_candidates
from matching.ranking.lexical import (
    lexical_candidates,
    lexical_query,
    lexical_scores,
    lexical_scores_of_profile,
    postings_per_term,
)
from matching.ranking.spec import GigSpec
from matching.services import freelancer_profiles_refresh

pytestmark = pytest.mark.model

ANY_WORK = GigSpec(title="", description="")  # visibility rules only


def _document_lexemes(profile_id: int) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.lexeme FROM matching_freelancerdocument d, unnest(d.search_vector) l WHERE d.profile_id = %s",
            [profile_id],
        )
        return {row[0] for row in cursor.fetchall()}


def _postings(profile_id: int) -> dict[str, float]:
    return dict(FreelancerTerm.objects.filter(profile_id=profile_id).values_list("term", "tf"))


def test_postings_follow_the_document_through_edits_and_deletion(encoder, make_freelancer):
    profile = make_freelancer(
        headline="Annotation lead",
        bio="I label medical images and review other annotators.",
        skills=[("Data annotation", "expert")],
    )
    freelancer_profiles_refresh(profile_ids=[profile.id])

    postings = _postings(profile.id)
    assert set(postings) == _document_lexemes(profile.id)
    # Headline (weight A, 2.0) and skills (B, 1.5) weigh more than the bio (C, 1.0).
    assert postings["lead"] == pytest.approx(2.0)
    assert postings["medic"] == pytest.approx(1.0)
    assert postings["annot"] > postings["medic"]

    market.freelancer_profile_update(profile=profile, by=profile.user, bio="I transcribe legal audio recordings.")
    freelancer_profiles_refresh(profile_ids=[profile.id])
    postings = _postings(profile.id)
    assert "medic" not in postings and "legal" in postings
    assert set(postings) == _document_lexemes(profile.id)

    FreelancerProfile.objects.filter(id=profile.id).delete()
    assert not FreelancerTerm.objects.filter(profile_id=profile.id).exists()


def test_postings_budget_goes_to_rare_terms_first():
    weight = {"rare": 3.0, "common": 1.0, "middle": 1.0}
    df = {"rare": 10, "common": 10_000, "middle": 5_000}

    share = postings_per_term(weight, df, budget=1_000)

    assert share == {"rare": 10, "middle": 495, "common": 495}  # the rare term is read whole
    assert postings_per_term(weight, {"rare": 1, "common": 2, "middle": 3}, budget=1_000) == {
        "rare": 1,
        "common": 2,
        "middle": 3,
    }


HEADLINES = [
    "Data annotation lead for medical images",
    "Prompt engineering for customer support bots",
    "MLOps engineer: model deployment and monitoring",
    "Career coach for engineers moving into management",
    "Data quality analysis and data validation",
    "Annotation of legal documents, entity labeling",
    "Fine-tuning language models on company data",
    "Leadership training and workshops",
    "Data extraction from PDFs and invoices",
    "AI upskilling workshops for small teams",
]


def test_lexical_search_is_exact_within_budget_and_bounded_beyond_it(encoder, make_freelancer, monkeypatch):
    profiles = [make_freelancer(headline=h, bio=f"{h}. Five years of practice.") for h in HEADLINES]
    ids = [p.id for p in profiles]
    freelancer_profiles_refresh(profile_ids=ids)
    query = lexical_query("data annotation")
    where = eligibility_sql(ANY_WORK, feasibility=False)

    exact = lexical_scores(query, ids)  # every profile sharing a word, scored with all terms
    assert len(exact) >= 5
    best = sorted(exact.items(), key=lambda kv: (-kv[1], kv[0]))[:4]

    found = lexical_candidates(query, where, 4)
    assert list(found) == [pid for pid, _ in best]
    assert list(found.values()) == pytest.approx([score for _, score in best])

    # A budget far below the postings: one posting per term is read, so at most one profile per
    # term is found, each with a lower bound of its score.
    monkeypatch.setattr(lexical, "POSTINGS_BUDGET", 1)
    monkeypatch.setattr(lexical, "MIN_POSTINGS_PER_TERM", 1)
    bounded = lexical_candidates(query, where, 10)
    assert sorted(query.terms) == ["annot", "data"]
    assert 0 < len(bounded) <= 2 < len(exact)
    for pid, score in bounded.items():
        assert score <= exact[pid] + 1e-9


def test_skill_candidates_read_the_strongest_claims_and_count_overlap(make_freelancer, make_gig, monkeypatch):
    beginner = make_freelancer(headline="a", skills=[("Data annotation", "beginner")])
    expert = make_freelancer(headline="b", skills=[("Data annotation", "expert")])
    intermediate = make_freelancer(headline="c", skills=[("Data annotation", "intermediate")])
    both = make_freelancer(headline="d", skills=[("Data annotation", "beginner"), ("Prompt engineering", "beginner")])
    gig = make_gig(
        title="Labeling",
        description="Label data",
        skills=[("Data annotation", True, ""), ("Prompt engineering", True, "")],
    )
    spec = spec_from_gig(gig)
    needed = [n.skill_id for n in spec.needs]
    where = eligibility_sql(spec)

    assert skill_candidates(needed, where, 10) == {both.id: 2, expert.id: 1, intermediate.id: 1, beginner.id: 1}

    monkeypatch.setattr(candidates, "CLAIMS_PER_SKILL", 1)
    # One claim per needed skill: the expert's for annotation, the only one for prompting.
    assert skill_candidates(needed, where, 10) == {both.id: 1, expert.id: 1}


def test_corpus_statistics_of_a_large_corpus_are_reused_until_they_expire(encoder, make_freelancer, monkeypatch):
    first = make_freelancer(headline="Data annotation lead")
    freelancer_profiles_refresh(profile_ids=[first.id])
    where = eligibility_sql(ANY_WORK, feasibility=False)
    monkeypatch.setattr(lexical, "_corpus", None)
    lexical_query("annotation")
    assert lexical._corpus.n == 1

    second = make_freelancer(headline="Annotation reviewer")
    freelancer_profiles_refresh(profile_ids=[second.id])
    monkeypatch.setattr(lexical, "CORPUS_EXACT_BELOW", 1)  # treat the corpus as large
    lexical_query("annotation")
    assert lexical._corpus.n == 1  # within the TTL: not recounted

    monkeypatch.setattr(lexical, "CORPUS_EXACT_BELOW", 5000)  # small again: exact at once
    assert set(lexical_candidates(lexical_query("annotation"), where, 5)) == {first.id, second.id}
    assert lexical._corpus.n == 2


def test_a_text_asked_again_costs_no_query_while_a_large_corpus_statistics_are_current(
    encoder, make_freelancer, monkeypatch, django_assert_num_queries
):
    first = make_freelancer(headline="Data annotation lead")
    freelancer_profiles_refresh(profile_ids=[first.id])
    expected = lexical_query("annotation lead")
    assert expected is not None
    with django_assert_num_queries(1):  # a small corpus: the key every time, so scores stay exact
        assert lexical_query("annotation lead") == expected

    monkeypatch.setattr(lexical, "CORPUS_EXACT_BELOW", 1)  # treat the corpus as large
    with django_assert_num_queries(0):  # the text's lexemes and the statistics, remembered
        assert lexical_query("annotation lead") == expected
    with django_assert_num_queries(1):  # another text: its lexemes (the same ones) and the key
        assert lexical_query("Lead, annotation") == expected

    lexical._corpus.expires = 0.0  # past the TTL: the key is read again ...
    with django_assert_num_queries(1):
        assert lexical_query("annotation lead") == expected
    with django_assert_num_queries(0):  # ... and, unchanged, trusted for another TTL
        assert lexical_query("annotation lead") == expected

    second = make_freelancer(headline="Annotation reviewer")
    freelancer_profiles_refresh(profile_ids=[second.id])
    lexical._corpus.expires = 0.0
    changed = lexical_query("annotation lead")  # past the TTL, a changed corpus is recounted
    assert lexical._corpus.n == 2 and changed != expected


def test_bm25_of_one_profile_for_many_texts_equals_one_by_one(encoder, make_freelancer):
    profiles = [make_freelancer(headline=h, bio=f"{h}. Five years of practice.") for h in HEADLINES]
    freelancer_profiles_refresh(profile_ids=[p.id for p in profiles])
    texts = ["data annotation", "career coaching for managers", "knitting patterns", "data data quality"]
    target = profiles[0]

    batch = lexical_scores_of_profile(texts, target.id)

    one_by_one = [lexical_scores(lexical_query(t), [target.id]).get(target.id, 0.0) for t in texts]
    assert batch == pytest.approx(one_by_one)
    assert batch[0] > 0 and batch[2] == 0.0
