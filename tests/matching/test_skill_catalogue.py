"""The skill names and aliases a ranking keeps per process (matching/ranking/skills.py)."""

from marketplace.models import Skill
from matching.ranking import skills
from matching.ranking.service import load_facts
from matching.ranking.skills import skill_texts


def test_skill_names_are_kept_a_while_and_a_save_here_is_seen_at_once(make_freelancer, monkeypatch):
    lead = make_freelancer(
        headline="Image annotation lead, CVAT and QA", skills=[("Image annotation", "expert"), ("CVAT", "advanced")]
    )
    cvat = Skill.objects.get(name="CVAT")
    names = lambda: [c.name for c in load_facts([lead.id], "")[lead.id].claims.values()]  # noqa: E731
    assert names() == ["CVAT", "Image annotation"]  # in name order, as explanations list them

    # Written behind the process's back (another process, SQL): kept until CATALOGUE_TTL...
    Skill.objects.filter(id=cvat.id).update(name="Video annotation in CVAT")
    assert names() == ["CVAT", "Image annotation"]
    # ...while the worker's vector refresh always reads the table
    assert skill_texts({cvat.id}, fresh=True)[cvat.id][0] == "Video annotation in CVAT"
    monkeypatch.setattr(skills, "CATALOGUE_TTL", 0.0)
    assert names() == ["Image annotation", "Video annotation in CVAT"]
    monkeypatch.undo()

    # A save in this process (the admin, the curation services) is seen at once, within the TTL.
    assert names() == ["Image annotation", "Video annotation in CVAT"]  # kept again
    cvat.refresh_from_db()
    cvat.name, cvat.aliases = "CVAT annotation", ["cvat.ai"]
    cvat.save()
    assert names() == ["CVAT annotation", "Image annotation"]
    assert skill_texts({cvat.id})[cvat.id] == ["CVAT annotation", "cvat.ai"]
