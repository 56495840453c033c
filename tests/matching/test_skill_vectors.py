"""Skill-name vectors: the worker encodes every name and alias once and stores it; rankings read
the stored vectors instead of encoding them in each web process."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import call_command

from marketplace.models import Skill
from marketplace.services import skill_resolve
from matching import tasks
from matching.encoder import active_model, query_bfloat16
from matching.models import SkillTextEmbedding
from matching.ranking import GigSpec, SkillNeedSpec, rank_freelancers, reset_caches
from matching.ranking.skills import MAX_ALIASES, skill_vectors
from matching.services import freelancer_embeddings_refresh, skill_text_vectors_refresh

from .conftest import wait_for

pytestmark = pytest.mark.model


def _stored(texts) -> dict[str, np.ndarray]:
    rows = SkillTextEmbedding.objects.filter(model_version=active_model().version, text__in=list(texts))
    return {e.text: np.asarray(e.embedding, dtype=np.float32) for e in rows}


def test_embedding_a_profile_stores_the_vectors_of_its_skill_names_and_aliases(encoder, make_freelancer):
    skill = Skill.objects.get(name="Data quality analysis")
    texts = [skill.name, *skill.aliases[:MAX_ALIASES]]
    profile = make_freelancer(headline="Data QA analyst", skills=[("data validation", "expert")])
    SkillTextEmbedding.objects.all().delete()  # whatever the signals' tasks stored: start empty

    tasks.embed_freelancers.apply(args=[[profile.id]]).get()

    stored = _stored(texts)
    assert set(stored) == set(texts)
    for text in texts:  # each is the model's vector of that text (batching moves it by ~1e-7)
        np.testing.assert_allclose(stored[text], encoder.encode([text])[0], rtol=0, atol=2e-6, err_msg=text)
    assert {e.model_name for e in SkillTextEmbedding.objects.all()} == {"all-MiniLM-L6-v2"}
    # Idempotent: nothing is encoded again, for this skill or for all of them.
    assert skill_text_vectors_refresh(skill_ids=[skill.id]) == 0
    assert SkillTextEmbedding.objects.filter(text__in=texts).count() == len(texts)


def test_refresh_of_every_skill_is_bounded_and_resumes(encoder, db):
    SkillTextEmbedding.objects.all().delete()
    every = {t for s in Skill.objects.all() for t in [s.name, *s.aliases[:MAX_ALIASES]]}

    first = skill_text_vectors_refresh(limit=40)
    second = skill_text_vectors_refresh(limit=len(every))

    assert first == 40
    assert first + second == len(every)
    assert set(SkillTextEmbedding.objects.values_list("text", flat=True)) == every
    assert skill_text_vectors_refresh() == 0


def test_ranking_reads_the_stored_vector_and_encodes_only_what_is_missing(encoder, db):
    model = active_model()
    SkillTextEmbedding.objects.all().delete()
    marker = np.zeros(384, dtype=np.float32)
    marker[7] = 1.0  # no sentence encodes to this: only the stored row can produce it
    SkillTextEmbedding.objects.create(
        text="data validation", model_name=model.name, model_version=model.version, embedding=marker
    )
    reset_caches()

    vectors = skill_vectors({"data validation", "tidying spreadsheets"})

    np.testing.assert_array_equal(vectors["data validation"], marker)
    np.testing.assert_allclose(
        vectors["tidying spreadsheets"], encoder.encode_query(["tidying spreadsheets"])[0], rtol=0, atol=2e-6
    )  # encoded for this ranking, as query texts are (never stored)
    # A ranking never writes: only the worker stores vectors.
    assert list(SkillTextEmbedding.objects.values_list("text", flat=True)) == ["data validation"]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sweep_encodes_an_alias_a_moderator_added(encoder, celery_worker, task_queue):
    # (A transactional test may run after another one emptied the seeded taxonomy.)
    skill = skill_resolve(name="Career coaching")
    Skill.objects.filter(id=skill.id).update(aliases=[*skill.aliases, "help with a job switch"])

    tasks.sweep_embeddings.delay()

    wait_for(
        lambda: SkillTextEmbedding.objects.filter(text="help with a job switch").exists(),
        what="the sweep to have the worker encode the new alias",
    )
    stored = _stored(["help with a job switch"])["help with a job switch"]
    np.testing.assert_allclose(stored, encoder.encode(["help with a job switch"])[0], rtol=0, atol=2e-6)


def test_reembed_builds_and_prunes_skill_name_vectors(encoder, db, capsys):
    model = active_model()
    SkillTextEmbedding.objects.all().delete()
    SkillTextEmbedding.objects.create(
        text="Career coaching", model_name="old-model", model_version="0" * 16, embedding=np.ones(384) / 384**0.5
    )
    every = {t for s in Skill.objects.all() for t in [s.name, *s.aliases[:MAX_ALIASES]]}

    call_command("reembed", "--only", "skills", "--batch-size", "16")

    assert f"skill names: {len(every)} vectors encoded" in capsys.readouterr().out
    assert SkillTextEmbedding.objects.filter(model_version=model.version).count() == len(every)
    SkillTextEmbedding.objects.create(  # an alias a moderator has since removed
        text="career cartography", model_name=model.name, model_version=model.version, embedding=np.ones(384) / 384**0.5
    )
    call_command("reembed", "--prune")
    assert "and 2 skill-name vectors of other models or of names no skill uses" in capsys.readouterr().out
    assert not SkillTextEmbedding.objects.exclude(model_version=model.version).exists()
    assert set(SkillTextEmbedding.objects.values_list("text", flat=True)) == every  # the rest is kept


def test_a_talent_search_encodes_its_texts_and_its_unknown_skill_names_in_one_call(
    encoder, make_freelancer, monkeypatch
):
    # One forward pass of the model costs about the same for two texts as for three (its weights
    # are read either way), so an ad-hoc need the taxonomy does not know rides along with the
    # search's own texts instead of costing a second call.
    model = active_model()
    marker = np.zeros(384, dtype=np.float32)
    marker[7] = 1.0
    SkillTextEmbedding.objects.create(  # stored by the worker: read, not encoded
        text="spreadsheet hygiene", model_name=model.name, model_version=model.version, embedding=marker
    )
    analyst = make_freelancer(headline="Data QA analyst", skills=[("data validation", "expert")])
    freelancer_embeddings_refresh(profile_ids=[analyst.id])
    reset_caches()
    calls: list[list[str]] = []
    encode_query = type(encoder).encode_query

    def spy(self, texts):
        calls.append(list(texts))
        return encode_query(self, texts)

    monkeypatch.setattr(type(encoder), "encode_query", spy)
    needs = (
        SkillNeedSpec(skill_id=-1, name="tidying spreadsheets", required=True),
        SkillNeedSpec(skill_id=-2, name="spreadsheet hygiene", required=False),
    )
    spec = GigSpec(title="Clean our customer sheets", description="Find and fix errors in the data.", needs=needs)

    ranked = rank_freelancers(spec, limit=5)

    assert [c.profile_id for c in ranked] == [analyst.id]  # so the needs' similarities were computed
    assert len(calls) == 1
    assert calls[0][-1] == "tidying spreadsheets"  # after the search's two view texts
    assert len(calls[0]) == 3
    vectors = skill_vectors({"tidying spreadsheets", "spreadsheet hygiene"})  # from the process's cache now
    assert len(calls) == 1
    np.testing.assert_array_equal(vectors["spreadsheet hygiene"], marker)
    # The model's vector of the name, to the precision of query encoding: bit for bit in float32
    # only up to the batch's padding, and within 1e-4 in cosine where queries are encoded in
    # bfloat16 (``query_bfloat16``; a batch of other texts changes the bfloat16 rounding).
    alone = encoder.encode(["tidying spreadsheets"])[0]
    assert float(vectors["tidying spreadsheets"] @ alone) > 1 - 1e-4
    if not query_bfloat16():
        np.testing.assert_allclose(vectors["tidying spreadsheets"], alone, rtol=0, atol=2e-6)


def test_a_needs_cosines_are_kept_and_follow_the_catalogue(encoder, db, monkeypatch):
    """Each need's cosines to the claimed skills met so far are kept per process
    (skills._rows); an alias added to a claimed skill, here or behind the process's back, is
    read with the catalogue's names and the cosines are computed again."""
    from matching.ranking import skills

    need, claim = Skill.objects.get(name="Prompt engineering"), Skill.objects.get(name="CVAT")
    names = {need.id: need.name, claim.id: claim.name}
    reset_caches()
    # The catalogue reads the names again at every call (as it does once CATALOGUE_TTL is up).
    monkeypatch.setattr(skills, "CATALOGUE_TTL", 0.0)
    before = skills.skill_similarities([need.id], {claim.id}, names)[need.id]
    assert before[claim.id] < 0.9
    assert skills.skill_similarities([need.id], {claim.id}, names)[need.id] is before  # names unchanged: kept

    # Behind the process's back (another process's admin): seen when the names are read again.
    Skill.objects.filter(id=claim.id).update(aliases=[*claim.aliases, need.name])
    assert skills.skill_similarities([need.id], {claim.id}, names)[need.id][claim.id] == pytest.approx(1.0, abs=1e-5)
    monkeypatch.undo()

    # A save in this process is seen at once, within CATALOGUE_TTL.
    claim.refresh_from_db()
    claim.aliases = [a for a in claim.aliases if a != need.name]
    claim.save()
    assert skills.skill_similarities([need.id], {claim.id}, names)[need.id][claim.id] == pytest.approx(
        before[claim.id], abs=1e-6
    )
