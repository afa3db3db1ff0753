"""Issue 11's renames: one word for each thing (the model version that scored an item)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0007_ui_free_reserved_keys"),
    ]

    operations = [
        migrations.RenameField(model_name="item", old_name="scored_by",
                               new_name="scored_by_version"),
    ]
