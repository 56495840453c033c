"""The taxonomy walk's index carries the claim's level and its profile's filter fields
(``FreelancerSkill.Meta.indexes``): the walk checks each claim against the hard filters from the
index alone instead of reading its row (docs/benchmarks.md, sixteenth pass).

Built before the old index is dropped, both without locking the table against writes
(``CONCURRENTLY``: the migration runs outside a transaction). The claims' table is vacuumed more
often than PostgreSQL's default (after 2% of its rows changed instead of 20%): an index-only scan
reads the row after all on a page a profile edit changed since the last vacuum.
"""

from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("marketplace", "0007_listing_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="freelancerskill",
            index=models.Index(
                models.F("skill"),
                models.OrderBy(
                    models.Case(
                        models.When(level="beginner", then=models.Value(1)),
                        models.When(level="intermediate", then=models.Value(2)),
                        models.When(level="advanced", then=models.Value(3)),
                        models.When(level="expert", then=models.Value(4)),
                        default=models.Value(0),
                    ),
                    descending=True,
                ),
                models.OrderBy(models.F("profile"), descending=True),
                include=(
                    "level",
                    "visibility",
                    "moderation_status",
                    "available_hours_per_week",
                    "languages",
                    "hourly_rate",
                    "user",
                ),
                name="skill_claim_walk",
            ),
        ),
        RemoveIndexConcurrently(model_name="freelancerskill", name="skill_claim_strongest"),
        migrations.RunSQL(
            "ALTER TABLE marketplace_freelancerskill SET (autovacuum_vacuum_scale_factor = 0.02)",
            "ALTER TABLE marketplace_freelancerskill RESET (autovacuum_vacuum_scale_factor)",
        ),
    ]
