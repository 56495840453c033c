"""The freelancer HNSW graph rebuilt with ef_construction 128 (was 64): a search finds more of the
true nearest profiles for the same candidate list (docs/benchmarks.md, eleventh pass).

The new graph is built beside the old one with ``CREATE INDEX CONCURRENTLY``: rankings keep the old
graph and writes go on until the new one is ready; it then replaces the old one. So the migration
is not atomic. The build takes ``maintenance_work_mem``: ``MATCHING_HNSW_BUILD_MEMORY`` (1GB) here;
a graph larger than that is still built, more slowly (about 3.5 GiB at a million freelancers,
docs/operations.md). An interrupted run leaves an invalid ``freelancer_emb_hnsw_next``, which the
next run drops and builds again.

The language graphs' HNSW parts (ranking/graphs.py) are dropped: a graph with a part missing is not
searched (its gigs walk the main graph) until the next ``sync_language_graphs`` (daily, or
``manage.py language_graphs``) builds it again with the new parameters.
"""

from django.conf import settings
from django.db import migrations

import pgvector.django

NEXT = "freelancer_emb_hnsw_next"


def rebuild(ef_construction: int):
    def run(apps, schema_editor):
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = %s", [settings.MATCHING_HNSW_BUILD_MEMORY])
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {NEXT}")  # left by an interrupted run
            cursor.execute(
                f"CREATE INDEX CONCURRENTLY {NEXT} ON matching_freelancerembedding "
                f"USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = {int(ef_construction)})"
            )
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS freelancer_emb_hnsw_cos")
            cursor.execute(f"ALTER INDEX {NEXT} RENAME TO freelancer_emb_hnsw_cos")
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'matching_freelancerembedding'"
                " AND indexname LIKE %s",
                ["freelancer\\_emb\\_lang\\_%"],  # the language graphs' HNSW parts
            )
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {connection.ops.quote_name(name)}")

    return run


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("matching", "0009_embedding_profile_filters")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(rebuild(128), rebuild(64))],
            state_operations=[
                migrations.RemoveIndex(model_name="freelancerembedding", name="freelancer_emb_hnsw_cos"),
                migrations.AddIndex(
                    model_name="freelancerembedding",
                    index=pgvector.django.HnswIndex(
                        ef_construction=128,
                        fields=["embedding"],
                        m=16,
                        name="freelancer_emb_hnsw_cos",
                        opclasses=["vector_cosine_ops"],
                    ),
                ),
            ],
        )
    ]
