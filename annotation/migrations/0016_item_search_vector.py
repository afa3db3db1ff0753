"""The item table's full-text search reads a stored tsvector (PostgreSQL only): computing
``jsonb_to_tsvector`` per row while walking a page's order cost about 0.2 ms a row on
reviews (bench/README.md, "Item table"), and a phrase query rechecks every candidate.
The generated column is kept by PostgreSQL on every insert and update of ``data``; Django
does not declare it (``annotation/item_filters_sql.py`` reads it by name)."""

from django.db import migrations

VECTOR = "jsonb_to_tsvector('english'::regconfig, data, '[\"string\"]'::jsonb)"


def vector_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE annotation_item ADD COLUMN IF NOT EXISTS search_vector tsvector "
        f"GENERATED ALWAYS AS ({VECTOR}) STORED"
    )
    schema_editor.execute("DROP INDEX IF EXISTS item_search_idx")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS item_search_idx ON annotation_item USING gin (search_vector)"
    )


def vector_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS item_search_idx")
    schema_editor.execute("ALTER TABLE annotation_item DROP COLUMN IF EXISTS search_vector")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS item_search_idx ON annotation_item USING gin ({VECTOR})"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0015_project_archive_invites"),
    ]

    operations = [migrations.RunPython(vector_create, vector_drop)]
