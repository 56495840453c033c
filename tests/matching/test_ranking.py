import pytest

from accounts.models import User
from marketplace.models import FreelancerProfile, ModerationStatus
from matching.ranking import rank_freelancers, spec_from_gig
from matching.services import freelancer_embeddings_refresh, gig_embeddings_refresh

pytestmark = pytest.mark.model

SCRAPING = [("Web scraping", "expert"), ("Python", "expert"), ("Scrapy", "advanced")]


@pytest.fixture
def scraping_gig(make_gig):
    return make_gig(
        title="Competitor price scraping for an online shop",
        description="Daily spiders for 30 competitor shops, results in Postgres, alerting when a spider breaks.",
        skills=[("Web scraping", True, "advanced"), ("Python", True, "advanced"), ("PostgreSQL", False, "")],
        budget_min=30,
        budget_max=40,
        hours=20,
        languages=("de", "en"),
    )


def _embed_all(gig):
    freelancer_embeddings_refresh(profile_ids=list(FreelancerProfile.objects.values_list("id", flat=True)))
    gig_embeddings_refresh(gig_ids=[gig.id])


def test_hard_filters_exclude_impossible_and_unshowable_candidates(encoder, make_freelancer, scraping_gig):
    good = make_freelancer(headline="Web scraping engineer", skills=SCRAPING, rate=45, languages=("en",))
    unavailable = make_freelancer(headline="Web scraping engineer", skills=SCRAPING, hours=0)
    too_expensive = make_freelancer(headline="Web scraping engineer", skills=SCRAPING, rate=51)  # > 1.25 x 40
    no_language = make_freelancer(headline="Web scraping engineer", skills=SCRAPING, languages=("fr", "es"))
    hidden = make_freelancer(headline="Web scraping engineer", skills=SCRAPING)
    hidden.visibility = FreelancerProfile.Visibility.HIDDEN
    hidden.save()
    pending = make_freelancer(headline="Web scraping engineer", skills=SCRAPING)
    pending.moderation_status = ModerationStatus.PENDING
    pending.save()
    suspended = make_freelancer(headline="Web scraping engineer", skills=SCRAPING)
    User.objects.filter(id=suspended.user_id).update(is_suspended=True)
    _embed_all(scraping_gig)

    spec = spec_from_gig(scraping_gig)
    hybrid = [c.profile_id for c in rank_freelancers(spec, strategy="hybrid", limit=20)]
    assert hybrid == [good.id]

    # The single-signal baselines skip the feasibility filters but never the visibility rules.
    unshowable = {hidden.id, pending.id, suspended.id}
    for strategy in ("lexical", "dense"):
        ranked = {c.profile_id for c in rank_freelancers(spec, strategy=strategy, limit=20)}
        assert good.id in ranked
        assert not ranked & unshowable
        assert {unavailable.id, too_expensive.id, no_language.id} <= ranked


def test_explanation_of_a_known_candidate(encoder, make_freelancer, scraping_gig):
    candidate = make_freelancer(
        headline="Python developer who also builds scrapers",
        skills=[("Python", "expert"), ("Web scraping", "intermediate"), ("PostgreSQL", "advanced")],
        rate=45,
        hours=10,
        timezone="Europe/Berlin",
    )
    _embed_all(scraping_gig)

    [ranked] = rank_freelancers(spec_from_gig(scraping_gig), strategy="hybrid", limit=5)
    e = ranked.explanation

    assert ranked.profile_id == candidate.id
    matched = {m["skill"]: m for m in e["required_skills_matched"]}
    assert matched["Python"]["claimed_level"] == "expert" and matched["Python"]["meets_level"] is True
    assert matched["Web scraping"]["claimed_level"] == "intermediate"
    assert matched["Web scraping"]["meets_level"] is False  # advanced was asked
    assert e["required_skills_missing"] == []
    assert e["nice_to_have_matched"] == ["PostgreSQL"]
    assert e["rate"] == {
        "hourly_rate": 45.0,
        "budget_type": "hourly",
        "budget_min": 30.0,
        "budget_max": 40.0,
        "within_budget": False,
    }
    assert e["hours"] == {"available_per_week": 10, "needed_per_week": 20}
    assert e["timezone"]["overlap_hours"] == 7.0  # Berlin and London are one hour apart all year
    assert ranked.components["availability"] == 0.5
    assert 0 < ranked.components["rate_fit"] < 1
    assert any("Below the asked level in: Web scraping" in line for line in e["summary"])


def test_specialist_outranks_keyword_stuffed_profile(encoder, make_freelancer, make_gig):
    gig = make_gig(
        title="Fine-tune an open-weights LLM to triage insurance claims",
        description="Fine-tune a 7B model with LoRA on 20k labelled claims and evaluate it against our rules.",
        skills=[("LLM fine-tuning", True, "advanced"), ("Python", True, "advanced"), ("Model evaluation", False, "")],
        budget_max=120,
    )
    specialist = make_freelancer(
        headline="ML engineer - LLM fine-tuning (LoRA/QLoRA) and evaluation",
        bio="I fine-tune open models for classification and extraction and measure them on held-out data.",
        skills=[("LLM fine-tuning", "expert"), ("Python", "expert"), ("Model evaluation", "advanced")],
        rate=100,
    )
    stuffer = make_freelancer(
        headline="AI Expert | ChatGPT | LLM | Fine-tuning | Midjourney | Web design | SEO | Data entry",
        bio="AI AI AI. LLM LLM fine-tuning fine-tuning. Any AI task, fast and cheap.",
        skills=[
            (n, "expert")
            for n in (
                "ChatGPT",
                "LLM fine-tuning",
                "Midjourney",
                "Web design",
                "SEO",
                "Data entry",
                "Copywriting",
                "Video editing",
                "Logo design",
            )
        ],
        rate=20,
    )
    _embed_all(gig)

    ranked = [c.profile_id for c in rank_freelancers(spec_from_gig(gig), strategy="hybrid", limit=5)]
    assert ranked.index(specialist.id) < ranked.index(stuffer.id)


def test_query_vectors_are_remembered_by_model_and_text(encoder, make_gig, monkeypatch, django_assert_num_queries):
    from dataclasses import replace

    import numpy as np

    from matching.ranking import service

    gig = make_gig(title="Fine-tune a support chatbot", description="LoRA on 5k tickets.", skills=[])
    gig_embeddings_refresh(gig_ids=[gig.id])
    spec = spec_from_gig(gig)
    stored = service.query_vectors(spec)  # read from the gig's stored vectors
    with django_assert_num_queries(0):
        again = service.query_vectors(spec)
    np.testing.assert_array_equal(again, stored)
    again[:] = 0  # callers get copies: the remembered vectors stay as they were
    np.testing.assert_array_equal(service.query_vectors(spec), stored)

    encoded = []
    real_encode = type(encoder).encode

    def counting_encode(self, texts, **kwargs):
        encoded.append(texts)
        return real_encode(self, texts, **kwargs)

    monkeypatch.setattr(type(encoder), "encode", counting_encode)
    changed = replace(spec, description="Distil a 7B model for on-device support answers.")
    fresh = service.query_vectors(changed)  # another text: encoded, not the gig's stored vectors
    assert len(encoded) == 1
    assert not np.allclose(fresh, stored)
    service.query_vectors(changed)
    assert len(encoded) == 1  # asked again: remembered
    doc = changed.document()
    np.testing.assert_allclose(fresh, encoder.encode_query([doc.views[v] for v in service.VIEWS]), atol=1e-6)

    monkeypatch.setattr(service, "QUERY_VECTOR_CACHE_SIZE", 2)
    service.query_vectors(replace(spec, description="Something else entirely."))
    assert len(service._query_vectors) == 2
