"""Renaming and merging a project's labels while they are in use.

Labels are stored by name wherever a label is given (annotations, gold answers, review
decisions, predictions, suggestions as shown), so a rename rewrites every copy in the same
transaction as the schema row; apps above the core rewrite their own copies through the
labels-renamed hooks (annotation/extensions.py). Label sets are immutable snapshots and keep
the names they were built with.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from annotation.errors import InvalidInput
from annotation.extensions import labels_renamed_hooks
from annotation.models import Annotation, Assignment, Item, ItemPrediction, Label, Project
from annotation.selectors import rows_with_labels
from annotation.services.audit import audit_record

MAX_NAME_CHARS = 100  # Label.name


def renamed_list(labels: Any, mapping: dict[str, str]) -> Any:
    """A stored list of label names with ``mapping`` applied, each name once (a merge in a
    multi-label annotation that had both ends with one); anything else as it was."""
    if not isinstance(labels, list):
        return labels
    out: list[Any] = []
    for name in labels:
        new = mapping.get(name, name) if isinstance(name, str) else name
        if new not in out:
            out.append(new)
    return out


def renamed_suggestion(suggestion: Any, mapping: dict[str, str]) -> Any:
    """A recorded suggestion (``{"labels": [...], ...}``) with ``mapping`` applied."""
    if not isinstance(suggestion, dict) or "labels" not in suggestion:
        return suggestion
    return {**suggestion, "labels": renamed_list(suggestion["labels"], mapping)}


def rows_rename(
    *,
    rows: QuerySet[Any],
    field: str,
    mapping: dict[str, str],
    rewrite: Any = renamed_list,
    path: str | None = None,
) -> int:
    """Rewrite ``field`` on those of ``rows`` whose list (or ``field[path]`` list) holds an
    old name; returns how many rows changed. Only those rows are read, in chunks."""
    model = rows.model
    # A row's labels changed: its "last changed" moves too (incremental exports read it).
    stamped = any(f.name == "updated_at" for f in model._meta.concrete_fields)
    fields = [field, "updated_at"] if stamped else [field]
    now = timezone.now()
    changed = 0
    batch: list[Model] = []
    matching = rows_with_labels(rows=rows, field=field, names=list(mapping), path=path)
    for row in matching.only("pk", field).iterator(chunk_size=2000):
        before = getattr(row, field)
        after = rewrite(before, mapping)
        if after != before:
            setattr(row, field, after)
            if stamped:
                row.updated_at = now
            batch.append(row)
        if len(batch) >= 1000:
            model._default_manager.bulk_update(batch, fields)
            changed += len(batch)
            batch = []
    if batch:
        model._default_manager.bulk_update(batch, fields)
        changed += len(batch)
    return changed


def _core_rows_rename(*, project: Project, mapping: dict[str, str]) -> dict[str, int]:
    """Every copy of a label name in the core's tables, by what holds it."""
    annotations = Annotation.objects.filter(project=project)
    items = Item.objects.filter(project=project)

    def suggestions(rows: QuerySet[Any]) -> int:
        return rows_rename(
            rows=rows,
            field="suggestion",
            mapping=mapping,
            rewrite=renamed_suggestion,
            path="labels",
        )

    return {
        "annotations": rows_rename(rows=annotations, field="labels", mapping=mapping),
        "annotation_suggestions": suggestions(annotations),
        "assignment_suggestions": suggestions(Assignment.objects.filter(project=project)),
        "gold_answers": rows_rename(rows=items, field="gold", mapping=mapping),
        "predicted_labels": rows_rename(rows=items, field="predicted_labels", mapping=mapping),
        "predictions": rows_rename(
            rows=ItemPrediction.objects.filter(project=project), field="labels", mapping=mapping
        ),
    }


def _locked_labels(project: Project) -> dict[str, Label]:
    # The project row first: a concurrent schema edit or rename waits for this one.
    Project.objects.select_for_update().filter(pk=project.pk).first()
    return {lb.name: lb for lb in Label.objects.select_for_update().filter(project=project)}


def _follow(*, project: Project, mapping: dict[str, str]) -> dict[str, int]:
    counts = _core_rows_rename(project=project, mapping=mapping)
    for hook in labels_renamed_hooks():
        counts.update(hook(project=project, mapping=mapping) or {})
    return counts


@transaction.atomic
def label_rename(*, project: Project, actor: Any, label: str, name: str) -> dict[str, Any]:
    """Rename a label; every stored use of the old name follows, in this transaction.
    Returns what changed (also the audit event's details)."""
    labels = _locked_labels(project)
    new = name.strip() if isinstance(name, str) else ""
    if label not in labels:
        raise InvalidInput({"label": [f"'{label}' is not a label of this project."]})
    if not new or len(new) > MAX_NAME_CHARS:
        raise InvalidInput({"name": [f"A name of 1 to {MAX_NAME_CHARS} characters is required."]})
    if new == label:
        raise InvalidInput({"name": ["That is already the label's name."]})
    if new in labels:
        raise InvalidInput(
            {"name": [f"'{new}' is already a label of this project; merge the two instead."]}
        )
    Label.objects.filter(pk=labels[label].pk).update(name=new)
    counts = _follow(project=project, mapping={label: new})
    details = {"from": label, "to": new, "rows": counts}
    audit_record(actor=actor, action="label.renamed", project=project, target=new, details=details)
    return details


@transaction.atomic
def label_merge(*, project: Project, actor: Any, label: str, into: str) -> dict[str, Any]:
    """Merge ``label`` into ``into``: every use of it becomes ``into`` (a multi-label answer
    that had both keeps one) and ``label`` leaves the schema. Returns what changed."""
    labels = _locked_labels(project)
    errors: dict[str, list[str]] = {}
    if label not in labels:
        errors["label"] = [f"'{label}' is not a label of this project."]
    if into not in labels:
        errors["into"] = [f"'{into}' is not a label of this project."]
    elif into == label:
        errors["into"] = ["A label cannot be merged into itself."]
    if errors:
        raise InvalidInput(errors)
    counts = _follow(project=project, mapping={label: into})
    Label.objects.filter(pk=labels[label].pk).delete()
    _renumber(project=project)
    details = {"from": label, "into": into, "rows": counts}
    audit_record(actor=actor, action="label.merged", project=project, target=into, details=details)
    return details


def _renumber(*, project: Project) -> None:
    """Display order without the gap a merged label left."""
    rows = list(Label.objects.filter(project=project).order_by("order", "id"))
    for index, row in enumerate(rows):
        row.order = index
    Label.objects.bulk_update(rows, ["order"])
