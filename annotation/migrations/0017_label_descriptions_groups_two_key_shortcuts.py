"""Labels get an optional description and parent (one level of groups), and shortcuts of up
to two keys. `/` became the labeling page's filter key: a label that had it as its shortcut
gets the first free key of its project (or none), audited as in 0007_ui_free_reserved_keys."""

import django.db.models.deletion
from django.db import migrations, models

from annotation.page_keys import FREE_KEYS

FILTER_KEY = "/"


def free_the_filter_key(apps, schema_editor):
    Label = apps.get_model("annotation", "Label")
    AuditEvent = apps.get_model("annotation", "AuditEvent")
    for label in Label.objects.filter(shortcut=FILTER_KEY).order_by("project_id", "id"):
        taken = set(Label.objects.filter(project_id=label.project_id)
                    .exclude(shortcut="").values_list("shortcut", flat=True))
        label.shortcut = next((k for k in FREE_KEYS if k not in taken and k != "f"), "")
        label.save(update_fields=["shortcut"])
        AuditEvent.objects.create(
            actor=None, project_id=label.project_id, action="label.shortcut_changed",
            target=label.name[:200],
            details={"from": FILTER_KEY, "to": label.shortcut, "why": "'/' is the labeling "
                     "page's key for filtering the labels",
                     "by": "migration 0017_label_descriptions_groups_two_key_shortcuts"})


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0016_item_search_vector'),
    ]

    operations = [
        migrations.AddField(
            model_name='label',
            name='description',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='label',
            name='parent',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='children', to='annotation.label'),
        ),
        migrations.AlterField(
            model_name='label',
            name='shortcut',
            field=models.CharField(blank=True, max_length=2),
        ),
        migrations.RunPython(free_the_filter_key, migrations.RunPython.noop),
    ]
