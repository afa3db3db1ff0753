"""``use_predictions`` becomes the contract's ``suggestion_source`` (on → auto, off → model);
the model endpoint gets its own timeout and batch size."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    Project = apps.get_model("annotation", "Project")
    Project.objects.filter(use_predictions=False).update(suggestion_source="model")


def backwards(apps, schema_editor):
    Project = apps.get_model("annotation", "Project")
    Project.objects.filter(suggestion_source="model").update(use_predictions=False)


class Migration(migrations.Migration):
    dependencies = [("annotation", "0011_near_duplicates")]

    operations = [
        migrations.AddField(
            model_name="project",
            name="suggestion_source",
            field=models.CharField(
                choices=[
                    ("model", "The project's own model only"),
                    ("predictions", "The team's predictions; the own model never takes over"),
                    ("auto", "The team's predictions until the project's own model is better"),
                ],
                db_default="auto",
                default="auto",
                max_length=12,
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="project", name="use_predictions"),
        migrations.AddField(
            model_name="project",
            name="endpoint_timeout_seconds",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="project",
            name="endpoint_batch_size",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
