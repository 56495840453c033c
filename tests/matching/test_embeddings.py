import pytest
from django.db import transaction

from marketplace.models import FreelancerProfile
from matching import tasks
from matching.models import EmbeddingView, FreelancerDocument, FreelancerEmbedding
from matching.services import stale_profile_ids

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
