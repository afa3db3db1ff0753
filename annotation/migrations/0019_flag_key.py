"""The labeling page now flags an item on "f" (annotation/page_keys.py): a label whose
shortcut is f (or F) would shadow it. Each such label gets the first free key of its project
(digits, then letters), or none if all are taken; every change is written to the audit log,
as 0007 did for the keys of its time."""

from django.db import migrations

from annotation.page_keys import FREE_KEYS

FLAG_KEY = "f"


def free_the_flag_key(apps, schema_editor):
    Label = apps.get_model("annotation", "Label")
    AuditEvent = apps.get_model("annotation", "AuditEvent")
    for label in Label.objects.filter(shortcut__iexact=FLAG_KEY).order_by("project_id", "id"):
        taken = {
            s.lower()
            for s in Label.objects.filter(project_id=label.project_id)
            .exclude(shortcut="")
            .values_list("shortcut", flat=True)
        }
        new = next((k for k in FREE_KEYS if k not in taken), "")
        old = label.shortcut
        label.shortcut = new
        label.save(update_fields=["shortcut"])
        AuditEvent.objects.create(
            actor=None,
            project_id=label.project_id,
            project_ref_id=label.project_id,
            action="label.shortcut_changed",
            target=label.name[:200],
            details={
                "from": old,
                "to": new,
                "why": f"'{old}' is the labeling page's key for flagging an item",
                "by": "migration 0019_flag_key",
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0018_bulk_actions"),
    ]

    operations = [
        migrations.RunPython(free_the_flag_key, migrations.RunPython.noop),
    ]
