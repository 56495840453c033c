"""Loading the seeded taxonomy (shared by the data migration and ``manage.py load_taxonomy``)."""

from django.utils.text import slugify

from marketplace.taxonomy_data import SKILLS


def load_seed_taxonomy(skill_model) -> int:
    """Create missing seed skills and add missing aliases; never removes curated data.

    Takes the model class so that migrations can pass their historical model.
    """
    created = 0
    for name, category, aliases in SKILLS:
        skill, was_created = skill_model.objects.get_or_create(
            name=name, defaults={"slug": slugify(name) or name.lower(), "category": category, "aliases": aliases}
        )
        created += int(was_created)
        if not was_created:
            merged = list(dict.fromkeys([*skill.aliases, *aliases]))
            if merged != skill.aliases:
                skill.aliases = merged
                skill.save(update_fields=["aliases"])
    return created
