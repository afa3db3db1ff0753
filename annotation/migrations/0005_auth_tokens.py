"""Skein's own API tokens (one per login, stored as hashes) replace DRF's single authtoken.

Existing DRF tokens are carried over, hashed, so scripts keep working; then DRF's table,
which holds the keys in clear, is dropped (``rest_framework.authtoken`` is no longer
installed, so its migrations never run again)."""

import hashlib
from datetime import UTC, datetime

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

OLD_TABLE = "authtoken_token"


def carry_over_drf_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("annotation", "ApiToken")
    now = timezone.now()
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {q('key')}, {q('user_id')}, {q('created')} FROM {q(OLD_TABLE)}")
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create([
        # Their last use is unknown: the idle period starts now.
        ApiToken(user_id=user_id, key_hash=hashlib.sha256(key.encode()).hexdigest(),
                 name="carried over from the single token", last_used_at=now)
        for key, user_id, _ in rows])
    # auto_now_add overwrote created_at; keep the token's own date.
    for key, _, created in rows:
        if isinstance(created, str):  # SQLite through a plain cursor
            created = datetime.fromisoformat(created)
        if timezone.is_naive(created):
            created = timezone.make_aware(created, UTC)
        ApiToken.objects.filter(key_hash=hashlib.sha256(key.encode()).hexdigest()).update(
            created_at=created)
    schema_editor.execute(f"DROP TABLE {q(OLD_TABLE)}")


class Migration(migrations.Migration):

    dependencies = [
        ("annotation", "0004_queue_started_first"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("key_hash", models.CharField(max_length=64, unique=True)),
                ("name", models.CharField(blank=True, max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("last_used_at", models.DateTimeField()),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="api_tokens",
                                           to=settings.AUTH_USER_MODEL)),
            ],
            options={"ordering": ["-last_used_at", "-id"]},
        ),
        migrations.RunPython(carry_over_drf_tokens, migrations.RunPython.noop),
    ]
