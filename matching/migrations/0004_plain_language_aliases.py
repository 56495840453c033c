"""Load the taxonomy's plain-language aliases into existing databases (adds, never removes)."""

from django.db import migrations


def load_aliases(apps, schema_editor):
    from marketplace.taxonomy import load_seed_taxonomy

    load_seed_taxonomy(apps.get_model("marketplace", "Skill"))


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0002_seed_taxonomy"),
        ("matching", "0003_profile_ranking_hash"),
    ]
    operations = [migrations.RunPython(load_aliases, migrations.RunPython.noop)]
