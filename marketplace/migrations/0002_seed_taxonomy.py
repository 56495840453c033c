from django.db import migrations


def seed(apps, schema_editor):
    from marketplace.taxonomy import load_seed_taxonomy

    load_seed_taxonomy(apps.get_model("marketplace", "Skill"))


class Migration(migrations.Migration):
    dependencies = [("marketplace", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
