"""How a ranking talks to PostgreSQL: its queries as prepared statements, the skill names it keeps."""

import pytest
from django.db import connection

from marketplace.models import Skill
from matching.ranking import rank_freelancers, spec_from_gig
from matching.ranking.service import load_facts
from matching.ranking.skills import skill_texts
from matching.ranking.statements import PREPARE_THRESHOLD
from matching.services import freelancer_embeddings_refresh, gig_embeddings_refresh

pytestmark = pytest.mark.model


@pytest.fixture
def labelling(encoder, make_freelancer, make_gig):
    gig = make_gig(
        title="Bounding boxes for delivery-robot camera frames",
        description="Label pedestrians, bikes and kerbs in 40k frames; follow our guidelines; QA on a sample.",
        skills=[("Image annotation", True, "advanced"), ("CVAT", True, ""), ("Data quality analysis", False, "")],
        budget_max=35,
    )
    people = [
        make_freelancer(
            headline="Image annotation lead, CVAT and QA",
            skills=[("Image annotation", "expert"), ("CVAT", "advanced")],
            rate=30,
        ),
        make_freelancer(headline="Data labelling for autonomous driving", skills=[("Image annotation", "advanced")]),
        make_freelancer(headline="Data quality analyst", skills=[("Data quality analysis", "expert")], rate=38),
        make_freelancer(headline="Career coach for engineers", skills=[("Career coaching", "expert")], rate=25),
    ]
    freelancer_embeddings_refresh(profile_ids=[p.id for p in people])
    gig_embeddings_refresh(gig_ids=[gig.id])
    return spec_from_gig(gig), people


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_the_rankings_queries_are_prepared_and_rank_as_plain_ones(labelling, settings):
    spec, _ = labelling
    settings.MATCHING_PREPARED_STATEMENTS = False
    before = set(_prepared())
    plain = rank_freelancers(spec, limit=10)
    assert set(_prepared()) == before  # sent as Django sends every query

    settings.MATCHING_PREPARED_STATEMENTS = True
    prepared = [rank_freelancers(spec, limit=10) for _ in range(PREPARE_THRESHOLD + 2)]  # the last ones prepared
    kept = set(_prepared()) - before
    for table in ("matching_freelancerembedding", "matching_freelancerterm", "marketplace_freelancerskill"):
        assert any(table in statement for statement in kept), (table, kept)
    assert len(plain) >= 3
    for ranking in prepared:
        assert [(r.profile_id, r.score, r.explanation) for r in ranking] == [
            (r.profile_id, r.score, r.explanation) for r in plain
        ]


def test_skill_names_are_kept_a_while_and_a_save_here_is_seen_at_once(labelling, monkeypatch):
    from matching.ranking import skills

    _, people = labelling
    lead = people[0]
    cvat = Skill.objects.get(name="CVAT")
    names = lambda: {c.name for c in load_facts([lead.id], "")[lead.id].claims.values()}  # noqa: E731
    assert names() == {"Image annotation", "CVAT"}

    # Written behind the process's back (another process, SQL): kept until CATALOGUE_TTL...
    Skill.objects.filter(id=cvat.id).update(name="CVAT (Computer Vision Annotation Tool)")
    assert names() == {"Image annotation", "CVAT"}
    # ...while the worker's vector refresh always reads the table
    assert skill_texts({cvat.id}, fresh=True)[cvat.id][0] == "CVAT (Computer Vision Annotation Tool)"
    monkeypatch.setattr(skills, "CATALOGUE_TTL", 0.0)
    assert names() == {"Image annotation", "CVAT (Computer Vision Annotation Tool)"}
    monkeypatch.undo()

    # A save in this process (the admin, the curation services) is seen at once, within the TTL.
    assert names() == {"Image annotation", "CVAT (Computer Vision Annotation Tool)"}  # kept again
    cvat.refresh_from_db()
    cvat.name, cvat.aliases = "CVAT annotation", ["cvat.ai"]
    cvat.save()
    assert names() == {"CVAT annotation", "Image annotation"}
    assert skill_texts({cvat.id})[cvat.id] == ["CVAT annotation", "cvat.ai"]
