"""Labels whose shortcut is one of the labeling page's own keys (b, r, or S/G typed in upper
case, which older checks let through) shadowed that key: pressing it saved the label. Each gets
the first free key of its project (digits, then letters), or none if all are taken; every
change is written to the audit log."""

from django.db import migrations

from annotation.page_keys import FREE_KEYS, reserved_for


def free_reserved_keys(apps, schema_editor):
    Label = apps.get_model("annotation", "Label")
    AuditEvent = apps.get_model("annotation", "AuditEvent")
    clashing = [label for label in Label.objects.exclude(shortcut="").order_by("project_id", "id")
                if reserved_for(label.shortcut)]
    for label in clashing:
        taken = {s.lower() for s in Label.objects.filter(project_id=label.project_id)
                 .exclude(shortcut="").values_list("shortcut", flat=True)}
        new = next((k for k in FREE_KEYS if k not in taken), "")
        old = label.shortcut
        label.shortcut = new
        label.save(update_fields=["shortcut"])
        AuditEvent.objects.create(
            actor=None, project_id=label.project_id, action="label.shortcut_changed",
            target=label.name[:200],
            details={"from": old, "to": new, "why": f"'{old}' is the labeling page's key for "
                     f"{reserved_for(old)}", "by": "migration 0007_ui_free_reserved_keys"})


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0006_data_audit_project_file_deletion"),
    ]

    operations = [
        migrations.RunPython(free_reserved_keys, migrations.RunPython.noop),
    ]
