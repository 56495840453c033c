import numpy as np
import pytest
from django.db import transaction

from marketplace.models import FreelancerProfile
from matching import tasks
from matching.documents import freelancer_document
from matching.models import EmbeddingView, FreelancerDocument, FreelancerEmbedding, GigEmbedding
from matching.ranking import spec_from_gig
from matching.services import gig_embeddings_refresh, stale_profile_ids

from .conftest import queued_task_names, wait_for

pytestmark = pytest.mark.model


def test_embedding_task_is_idempotent(encoder, make_freelancer):
    profile = make_freelancer(headline="LLM fine-tuning engineer", skills=[("LLM fine-tuning", "expert")])

    first = tasks.embed_freelancers.apply(args=[[profile.id]]).get()
    rows = {e.view: e for e in FreelancerEmbedding.objects.filter(profile=profile)}
    second = tasks.embed_freelancers.apply(args=[[profile.id]]).get()

    assert first == 2
    assert second == 0  # same document and model: nothing re-encoded
    assert set(rows) == {EmbeddingView.FULL, EmbeddingView.SKILLS}
    assert {e.model_name for e in rows.values()} == {"all-MiniLM-L6-v2"}
    after = {e.view: e for e in FreelancerEmbedding.objects.filter(profile=profile)}
    assert {v: (e.id, e.content_hash, list(e.embedding)) for v, e in after.items()} == {
        v: (e.id, e.content_hash, list(e.embedding)) for v, e in rows.items()
    }

    # An edit that leaves the document unchanged encodes nothing and is not swept again and again.
    profile.display_name = "Another name"
    profile.save()
    assert profile.id in stale_profile_ids()
    assert tasks.embed_freelancers.apply(args=[[profile.id]]).get() == 0
    assert profile.id not in stale_profile_ids()
    assert FreelancerDocument.objects.get(profile=profile).search_vector


def test_changed_profile_text_is_re_embedded(encoder, make_freelancer):
    profile = make_freelancer(headline="Data annotator", skills=[("Image annotation", "advanced")])
    tasks.embed_freelancers.apply(args=[[profile.id]]).get()
    before = FreelancerEmbedding.objects.get(profile=profile, view=EmbeddingView.FULL)

    FreelancerProfile.objects.filter(id=profile.id).update(headline="Annotation lead for segmentation projects")
    encoded = tasks.embed_freelancers.apply(args=[[profile.id]]).get()

    after = FreelancerEmbedding.objects.get(profile=profile, view=EmbeddingView.FULL)
    assert encoded == 2
    assert after.content_hash != before.content_hash
    assert list(after.embedding) != list(before.embedding)


def _stored_vectors(model_cls, **owner) -> dict[str, tuple[int, np.ndarray]]:
    return {e.view: (e.id, np.asarray(e.embedding, dtype=np.float32)) for e in model_cls.objects.filter(**owner)}


def _assert_model_output(encoder, stored: dict[str, tuple[int, np.ndarray]], views: dict[str, str]) -> None:
    """Each view's stored vector is the model's vector of that view's text, to float32 precision.

    The text is encoded alone here, in a batch of its own: batching pads differently, which moves
    the model's output by ~1e-7; a misplaced, swapped or rounded vector is off by far more.
    """
    assert set(stored) == set(views)
    for view, text in views.items():
        expected = encoder.encode([text])[0]
        np.testing.assert_allclose(stored[view][1], expected, rtol=0, atol=2e-6, err_msg=view)


def test_stored_vectors_are_the_model_output_of_each_view(encoder, make_freelancer, make_gig):
    speech = make_freelancer(
        headline="Speech data annotator",
        bio="Transcribes and segments call-centre audio in English and German.",
        skills=[("Audio annotation", "expert")],
    )
    vision = make_freelancer(
        headline="Computer vision engineer",
        bio="Trains and evaluates object detection models for retail shelves.",
        skills=[("Object detection", "advanced"), ("PyTorch", "expert")],
    )
    # Both profiles in one task (given out of id order): four vectors encoded in one call.
    assert tasks.embed_freelancers.apply(args=[[vision.id, speech.id]]).get() == 4
    for profile in (speech, vision):
        _assert_model_output(
            encoder, _stored_vectors(FreelancerEmbedding, profile=profile), freelancer_document(profile).views
        )

    # An edit of the bio changes the full view only: that vector is replaced in place, the skills
    # vector stays as it was and is marked verified, so the sweep leaves the profile alone.
    before = _stored_vectors(FreelancerEmbedding, profile=speech)
    untouched = _stored_vectors(FreelancerEmbedding, profile=vision)
    speech.bio = "Now labels medical imaging studies."
    speech.save()  # the profile's updated_at moves past its vectors': stale until re-verified
    assert speech.id in stale_profile_ids()
    assert tasks.embed_freelancers.apply(args=[[speech.id, vision.id]]).get() == 1
    after = _stored_vectors(FreelancerEmbedding, profile=speech)
    _assert_model_output(encoder, after, freelancer_document(speech).views)
    assert {v: row_id for v, (row_id, _) in after.items()} == {v: row_id for v, (row_id, _) in before.items()}
    assert not np.allclose(after[EmbeddingView.FULL][1], before[EmbeddingView.FULL][1], atol=1e-3)
    np.testing.assert_array_equal(after[EmbeddingView.SKILLS][1], before[EmbeddingView.SKILLS][1])
    for view, (_, vector) in _stored_vectors(FreelancerEmbedding, profile=vision).items():
        np.testing.assert_array_equal(vector, untouched[view][1])
    assert speech.id not in stale_profile_ids()

    gig = make_gig(
        title="Label call audio", description="Speaker turns and overlaps.", skills=[("Audio annotation", True, "")]
    )
    assert gig_embeddings_refresh(gig_ids=[gig.id]) == 2
    _assert_model_output(encoder, _stored_vectors(GigEmbedding, gig=gig), spec_from_gig(gig).document().views)


@pytest.mark.django_db(transaction=True)
def test_profile_change_enqueues_after_commit_and_rollback_enqueues_nothing(make_freelancer, task_queue):
    with pytest.raises(RuntimeError), transaction.atomic():
        make_freelancer(headline="Rolled back profile")
        raise RuntimeError("the request failed")
    assert queued_task_names(task_queue) == []

    with transaction.atomic():
        profile = make_freelancer(headline="Committed profile")
        # Inside the transaction nothing is published yet.
        assert queued_task_names(task_queue) == []
    assert queued_task_names(task_queue) == ["matching.tasks.embed_freelancers"]
    assert FreelancerProfile.objects.filter(id=profile.id).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sweep_repairs_a_missing_vector(encoder, make_freelancer, celery_worker, task_queue):
    from matching.signals import enqueue_suppression

    with enqueue_suppression():  # simulate a broker outage: the change event is lost
        profile = make_freelancer(headline="Career coach for engineers", skills=[("Career coaching", "expert")])
    assert not FreelancerEmbedding.objects.filter(profile=profile).exists()
    assert profile.id in stale_profile_ids()

    tasks.sweep_embeddings.delay()

    wait_for(
        lambda: FreelancerEmbedding.objects.filter(profile=profile).count() == 2,
        what="the sweep to rebuild the profile's vectors through the worker",
    )
    assert profile.id not in stale_profile_ids()


def test_only_ranking_relevant_profile_changes_schedule_match_runs(encoder, make_freelancer, make_gig):
    from matching.models import MatchRun

    profile = make_freelancer(headline="Audio annotator", skills=[("Audio annotation", "expert")], rate=30)
    gig = make_gig(title="Label call audio", description="Speaker turns.", skills=[("Audio annotation", True, "")])
    tasks.embed_freelancers.apply(args=[[profile.id]], kwargs={"reschedule_matches": True}).get()
    first = MatchRun.objects.get(gig=gig, status=MatchRun.Status.PENDING)
    MatchRun.objects.filter(id=first.id).update(status=MatchRun.Status.DONE)

    FreelancerProfile.objects.filter(id=profile.id).update(display_name="A new display name")
    tasks.embed_freelancers.apply(args=[[profile.id]], kwargs={"reschedule_matches": True}).get()
    assert not MatchRun.objects.filter(gig=gig, status=MatchRun.Status.PENDING).exists()

    FreelancerProfile.objects.filter(id=profile.id).update(hourly_rate=55)
    tasks.embed_freelancers.apply(args=[[profile.id]], kwargs={"reschedule_matches": True}).get()
    run = MatchRun.objects.get(gig=gig, status=MatchRun.Status.PENDING)
    assert run.trigger == f"profile {profile.id} changed"


def test_documents_of_a_batch_are_the_documents_of_each_profile(make_freelancer):
    from matching.documents import freelancer_documents

    profiles = [
        make_freelancer(headline="Data engineer", bio="Pipelines.", skills=[("SQL", "expert"), ("dbt", "advanced")]),
        make_freelancer(
            headline="Annotator", skills=[("Image annotation", "advanced"), ("audio annotation", "expert")]
        ),
        make_freelancer(headline="No skills yet", bio="Career changer."),
    ]
    fresh = list(FreelancerProfile.objects.filter(id__in=[p.id for p in profiles]))

    assert freelancer_documents(fresh) == {p.id: freelancer_document(p) for p in fresh}
    assert freelancer_documents([]) == {}
