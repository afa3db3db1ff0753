"""The queue in two parts: items already handed out first, then fresh ones. The started
part gets its own partial index (the fresh part has one since 0003); the index over both
is no longer read."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0003_item_handed_out"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                condition=models.Q(("handed_out", True), ("is_gold", False), ("state", "open")),
                fields=["project", "-priority", "random_key"],
                name="item_started_idx",
            ),
        ),
        migrations.RemoveIndex(model_name="item", name="item_queue_idx"),
    ]
