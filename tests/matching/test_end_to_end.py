"""From a profile edit to a changed match run, through the real Redis and a real Celery worker."""

import pytest
from django.db import transaction

from marketplace import signals
from marketplace.models import FreelancerProfile, FreelancerSkill
from marketplace.services import skill_resolve
from matching.models import MatchRun

from .conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.model, pytest.mark.slow]


def _latest_done(gig) -> MatchRun | None:
    return MatchRun.objects.filter(gig=gig, status=MatchRun.Status.DONE).order_by("-id").first()


@pytest.mark.django_db(transaction=True)
def test_profile_edit_changes_the_match_run(encoder, celery_worker, task_queue, make_freelancer, make_gig):
    incumbent = make_freelancer(headline="Audio annotator", skills=[("Audio annotation", "advanced")])
    newcomer = make_freelancer(headline="Bookkeeper", skills=[("Bookkeeping", "expert")])
    # Publishing enqueues the gig's embedding, which schedules a (debounced) match run.
    gig = make_gig(
        title="Label 200 hours of call-centre audio",
        description="Speaker turns and sound events in customer calls; annotation experience required.",
        skills=[("Audio annotation", True, "advanced"), ("Audio transcription", False, "")],
    )

    first = wait_for(lambda: _latest_done(gig), what="the first match run")
    first_ranked = list(first.results.order_by("rank").values_list("freelancer_id", flat=True))
    assert first_ranked[0] == incumbent.id
    assert newcomer.id not in first_ranked[:1]

    # The edit a freelancer makes in their profile, announced after commit as the marketplace does.
    with transaction.atomic():
        FreelancerProfile.objects.filter(id=newcomer.id).update(
            headline="Speech data annotator - audio labelling, diarization, transcription",
            bio="Six years labelling speech corpora and call audio for ASR vendors.",
        )
        FreelancerSkill.objects.filter(profile_id=newcomer.id).delete()
        for name in ("Audio annotation", "Audio transcription"):
            FreelancerSkill.objects.create(profile_id=newcomer.id, skill=skill_resolve(name=name), level="expert")
        transaction.on_commit(lambda: signals.profile_changed.send(sender=FreelancerProfile, profile_id=newcomer.id))

    second = wait_for(
        lambda: (run := _latest_done(gig)) is not None and run.id != first.id and run,
        what="a new match run after the profile edit",
    )
    second_ranked = list(second.results.order_by("rank").values_list("freelancer_id", flat=True))
    assert second.trigger == f"profile {newcomer.id} changed"
    assert second_ranked[0] == newcomer.id
    assert second_ranked != first_ranked
