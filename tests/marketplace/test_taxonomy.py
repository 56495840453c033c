"""The seeded taxonomy and the normalisation of free-text skill names onto it."""

import pytest

from marketplace.models import Skill
from marketplace.services import skill_match, skill_match_many, skill_resolve

pytestmark = pytest.mark.django_db


def test_seed_taxonomy_covers_both_markets():
    categories = set(Skill.objects.values_list("category", flat=True))
    assert {"ai_lifecycle", "coaching_ld"} <= categories
    for name in [
        "Data annotation",
        "LLM fine-tuning",
        "MLOps",
        "Prompt engineering",
        "Executive coaching",
        "Career coaching",
        "Instructional design",
        "AI upskilling",
        "Data quality analysis",
    ]:
        assert Skill.objects.filter(name=name, review_state="approved").exists(), name


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("data labelling", "Data annotation"),
        ("LLM fine tuning", "LLM fine-tuning"),
        ("L&D", "Learning & development"),
        ("exec coaching", "Executive coaching"),
        ("  Prompt   Engineering ", "Prompt engineering"),
        ("Label Studio", "Label Studio"),
        ("Audio-Annotation", "Audio annotation"),  # close match, not exact
    ],
)
def test_free_text_resolves_to_canonical_skill(typed, canonical):
    assert skill_resolve(name=typed).name == canonical


def test_unknown_skill_is_kept_as_unreviewed_not_dropped():
    before = Skill.objects.count()
    skill = skill_resolve(name="Underwater basket weaving")
    assert skill.review_state == Skill.ReviewState.UNREVIEWED
    assert Skill.objects.count() == before + 1
    # The same text again finds it instead of creating a duplicate.
    assert skill_resolve(name="underwater basket weaving").pk == skill.pk
    assert Skill.objects.count() == before + 1


def test_many_names_are_matched_in_order_with_one_query_for_the_exact_ones(django_assert_num_queries):
    typed = ["data labelling", "  Prompt   Engineering ", "LLM fine tuning", "data labelling", "L&D", ""]
    with django_assert_num_queries(1):  # every one of them exact: names, aliases, slugs
        found = skill_match_many(typed)
    assert [s.name if s else None for s in found] == [
        "Data annotation",
        "Prompt engineering",
        "LLM fine-tuning",
        "Data annotation",
        "Learning & development",
        None,
    ]
    # A close match and an unknown name are looked up one by one after the exact query, and each
    # name gets what skill_match gives it alone.
    mixed = ["Audio-Annotation", "Underwater basket weaving", "exec coaching"]
    assert skill_match_many(mixed) == [skill_match(name) for name in mixed]
    assert [s.name if s else None for s in skill_match_many(mixed)] == ["Audio annotation", None, "Executive coaching"]
