"""Enable pgvector and pg_trgm, with a clear error when the server has no pgvector."""

from django.db import migrations


def require_extensions(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_available_extensions WHERE name IN ('vector', 'pg_trgm')")
        available = {row[0] for row in cursor.fetchall()}
    missing = {"vector", "pg_trgm"} - available
    if missing:
        settings = schema_editor.connection.settings_dict
        raise RuntimeError(
            f"The PostgreSQL server at {settings.get('HOST')}:{settings.get('PORT')} has no "
            f"{' and no '.join(sorted(missing))} extension. Matchwork needs pgvector: use a server with "
            "pgvector installed (e.g. the pgvector/pgvector image) or unset DATABASE_URL to use the "
            "embedded PostgreSQL that `make run` starts."
        )


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        migrations.RunPython(require_extensions, migrations.RunPython.noop, elidable=False),
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS vector", migrations.RunSQL.noop),
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
    ]
