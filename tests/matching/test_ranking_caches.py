"""What a ranking keeps or estimates per process: the skill names and aliases
(matching/ranking/skills.py), the candidates' claims (facts.py), the marketplace's mean rating."""

from marketplace.models import FreelancerSkill, Skill
from matching.ranking import facts, skills
from matching.ranking.facts import load_facts
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


def test_candidates_with_the_same_claim_share_it_and_the_process_keeps_a_bounded_number(make_freelancer, monkeypatch):
    """Every ranking builds ~750 claims; a process builds each (skill, level, years) once."""
    one = make_freelancer(headline="Annotator", skills=[("CVAT", "advanced"), ("Image annotation", "expert")])
    two = make_freelancer(headline="QA annotator", skills=[("CVAT", "advanced"), ("Image annotation", "beginner")])
    cvat, image = (Skill.objects.get(name=n).id for n in ("CVAT", "Image annotation"))
    found = load_facts([one.id, two.id], "")
    assert found[one.id].claims[cvat] is found[two.id].claims[cvat]  # the same claim, one object
    assert found[one.id].claims[image] is not found[two.id].claims[image]
    assert [found[two.id].claims[image].level, found[one.id].claims[image].level] == ["beginner", "expert"]

    monkeypatch.setattr(facts, "CLAIM_CACHE_SIZE", 2)
    facts._claims.clear()
    for _ in range(2):
        found = load_facts([one.id, two.id], "")
        assert len(facts._claims) <= 2
        assert [(c.name, c.level) for c in found[two.id].claims.values()] == [
            ("CVAT", "advanced"),
            ("Image annotation", "beginner"),
        ]


def test_a_profiles_named_claims_are_kept_while_its_claims_and_their_names_stay_the_same(make_freelancer, monkeypatch):
    """A ranking's candidates are mostly earlier rankings' candidates: their claims, named and
    ordered, are kept per profile and given again while the row's claims and the catalogue's
    names are the same (facts._profile_claims)."""
    lead = make_freelancer(headline="Annotation lead", skills=[("CVAT", "advanced"), ("Image annotation", "expert")])
    other = make_freelancer(headline="Annotator", skills=[("CVAT", "beginner")])
    claims = lambda pid: load_facts([pid], "")[pid].claims  # noqa: E731
    first = claims(lead.id)
    assert claims(lead.id) is first  # kept: the same claims, not built again

    # A claim's level changes (the profile's editor, SQL): its row differs, so they are built again.
    FreelancerSkill.objects.filter(profile=lead, skill__name="CVAT").update(level="expert")
    changed = claims(lead.id)
    assert changed is not first
    assert [(c.name, c.level) for c in changed.values()] == [("CVAT", "expert"), ("Image annotation", "expert")]
    # A claim added, one removed: the same.
    FreelancerSkill.objects.filter(profile=lead, skill__name="Image annotation").delete()
    assert [(c.name, c.level) for c in claims(lead.id).values()] == [("CVAT", "expert")]

    # A skill renamed: the catalogue's generation moves, so every kept claim is named again.
    kept = claims(lead.id)
    cvat = Skill.objects.get(name="CVAT")
    cvat.name = "CVAT annotation"
    cvat.save()
    renamed = claims(lead.id)
    assert renamed is not kept
    assert [c.name for c in renamed.values()] == ["CVAT annotation"]

    # Bounded: cleared whole when full, and what it gives is right whatever it keeps.
    monkeypatch.setattr(facts, "PROFILE_CLAIMS_CACHE_SIZE", 1)
    for _ in range(2):
        assert [c.level for c in claims(lead.id).values()] == ["expert"]
        assert [c.level for c in claims(other.id).values()] == ["beginner"]
        assert len(facts._profile_claims) == 1


def test_the_mean_rating_of_a_large_marketplace_comes_from_a_sample_of_pages(make_freelancer, monkeypatch):
    """The Bayesian prior of every ranking. Read in full, it cost 200-300 ms at 1M profiles once
    a minute per process; above MEAN_RATING_SAMPLE_ABOVE profiles a page sample is read, and all
    rated profiles again when the sample holds too few of them."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from marketplace.models import FreelancerProfile
    from matching.ranking import reset_caches, service

    people = [make_freelancer(headline=f"Freelancer {i}", skills=[("CVAT", "advanced")]) for i in range(4)]
    for person, (rating, count) in zip(people, [(4.0, 3), (5.0, 1), (3.0, 2), (None, 0)], strict=True):
        FreelancerProfile.objects.filter(id=person.id).update(rating_avg=rating, rating_count=count)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplace_freelancerprofile")  # the planner's count, which decides

    with CaptureQueriesContext(connection) as small:
        assert service.marketplace_mean_rating() == 4.0  # (4 + 5 + 3) / 3: unweighted by reviews
    assert not any("TABLESAMPLE" in q["sql"] for q in small.captured_queries)

    reset_caches()
    monkeypatch.setattr(service, "MEAN_RATING_SAMPLE_ABOVE", 3)  # "large": more than 3 profiles
    with CaptureQueriesContext(connection) as large:
        assert service.marketplace_mean_rating() == 4.0
    sampled = [q["sql"] for q in large.captured_queries if "TABLESAMPLE SYSTEM" in q["sql"]]
    assert len(sampled) == 1 and "100" in sampled[0]  # 4 profiles: every page is the sample
    assert any("TABLESAMPLE" not in q["sql"] and "avg(rating_avg)" in q["sql"] for q in large.captured_queries)

    reset_caches()
    monkeypatch.setattr(service, "MEAN_RATING_SAMPLE_MIN_RATED", 3)  # the sample's 3 rated suffice
    with CaptureQueriesContext(connection) as enough:
        assert service.marketplace_mean_rating() == 4.0
    assert [q["sql"] for q in enough.captured_queries if "avg(rating_avg)" in q["sql"]] == sampled


def test_the_usual_rows_blend_is_view_blends_arithmetic():
    """Rows with both views take a written-out ``view_blend`` (facts.both_views_blend): the same
    float, bit for bit, whichever pair is the best."""
    import random

    rng = random.Random(7)
    cases = [[rng.uniform(-1, 1) for _ in range(4)] for _ in range(2000)]
    cases += [[0.5, 0.5, 0.5, 0.5], [0.0, -0.0, 0.0, -0.0], [0.3, 0.9, 0.1, 0.2], [0.3, 0.1, 0.9, 0.2]]
    for ff, sf, fs, ss in cases:
        assert facts.both_views_blend([ff, sf], [fs, ss]) == facts.view_blend((ff, fs), (sf, ss))
