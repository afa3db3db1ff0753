"""Items remember whether they were ever handed out, so the queue can serve fresh ones
without checking the labeler's history (see annotation/services/queue_sql.py)."""

from django.db import migrations, models

MARK_HANDED_OUT = """
UPDATE annotation_item SET handed_out = true
WHERE EXISTS (SELECT 1 FROM annotation_assignment a WHERE a.item_id = annotation_item.id)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0002_project_default_strategy_margin"),
    ]

    operations = [
        migrations.AddField(
            model_name="item",
            name="handed_out",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunSQL(MARK_HANDED_OUT, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="item",
            index=models.Index(
                condition=models.Q(("handed_out", False), ("is_gold", False), ("state", "open")),
                fields=["project", "-priority", "random_key"],
                name="item_fresh_idx",
            ),
        ),
    ]
