"""Issue 11's renames: one word for each thing. The model version that scored an item is
``scored_by_version``; the person who labels is the ``labeler`` (the public API and the
exports still call them ``annotator``); the queue's index of items already handed out is
``item_handed_out_idx``; whether an annotation counts is ``is_counted`` (a bool, not a number;
the exports' key stays ``counts``).

The labeler columns are renamed in place (``ALTER TABLE ... RENAME COLUMN``, the same
statement on SQLite and PostgreSQL): the indexes and unique constraints on them follow the
column, so the state's copies are only re-declared with the new field name, not rebuilt."""

from django.db import migrations, models
from django.db.models import Q

LABELER_INDEXES = {
    "assignment": [
        models.Index(fields=["{who}", "project"], condition=Q(state="active"),
                     name="assignment_open_idx"),
        models.Index(fields=["project", "{who}", "closed_at"], name="assignment_history_idx"),
    ],
    "annotation": [
        models.Index(fields=["project", "{who}"], name="annotation_annotator_idx"),
    ],
}
LABELER_CONSTRAINTS = {
    "assignment": [
        models.UniqueConstraint(fields=["item", "{who}"], name="assignment_unique"),
    ],
    "annotation": [
        models.UniqueConstraint(fields=["item", "{who}"], name="annotation_unique"),
        models.UniqueConstraint(fields=["{who}", "client_id"],
                                condition=Q(client_id__isnull=False),
                                name="annotation_unique_client_id"),
    ],
}


def _with(thing, who):
    _, args, kwargs = thing.deconstruct()
    kwargs["fields"] = [who if f == "{who}" else f for f in kwargs["fields"]]
    return type(thing)(*args, **kwargs)


def _relabel_state():
    """State only: the labeler field and the indexes and constraints that name it."""
    ops = []
    for model, indexes in LABELER_INDEXES.items():
        ops += [migrations.RemoveIndex(model_name=model, name=i.name) for i in indexes]
    for model, constraints in LABELER_CONSTRAINTS.items():
        ops += [migrations.RemoveConstraint(model_name=model, name=c.name) for c in constraints]
    ops += [migrations.RenameField(model_name=model, old_name="annotator", new_name="labeler")
            for model in ("assignment", "annotation")]
    for model, indexes in LABELER_INDEXES.items():
        ops += [migrations.AddIndex(model_name=model, index=_with(i, "labeler"))
                for i in indexes]
    for model, constraints in LABELER_CONSTRAINTS.items():
        ops += [migrations.AddConstraint(model_name=model, constraint=_with(c, "labeler"))
                for c in constraints]
    return ops


def _rename_column(table, old, new):
    return migrations.RunSQL(f'ALTER TABLE "{table}" RENAME COLUMN "{old}" TO "{new}"',
                             reverse_sql=f'ALTER TABLE "{table}" RENAME COLUMN "{new}" TO "{old}"')


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0007_ui_free_reserved_keys"),
    ]

    operations = [
        migrations.RenameField(model_name="item", old_name="scored_by",
                               new_name="scored_by_version"),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                _rename_column("annotation_assignment", "annotator_id", "labeler_id"),
                _rename_column("annotation_annotation", "annotator_id", "labeler_id"),
            ],
            state_operations=_relabel_state(),
        ),
        migrations.RenameIndex(model_name="annotation", old_name="annotation_annotator_idx",
                               new_name="annotation_labeler_idx"),
        migrations.RenameIndex(model_name="item", old_name="item_started_idx",
                               new_name="item_handed_out_idx"),
        migrations.RenameField(model_name="annotation", old_name="counts",
                               new_name="is_counted"),
    ]
