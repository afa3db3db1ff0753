"""Label sets: versioned, checksummed export snapshots with a data card, built by a
background job (quality.jobs); and the audit record of a direct export."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotation.models import LabelSet, Project
from annotation.services.audit import audit_record
from annotation.services.exports import export_options, export_records, render_export
from annotation.services.storage import stored_files_delete
from quality.datacard import data_card_for
from quality.export_aggregation import export_aggregator


def export_audit(*, project: Project, actor: Any, options: dict[str, Any]) -> None:
    audit_record(actor=actor, action="export.made", project=project, details=options)


@transaction.atomic
def labelset_request(
    *,
    project: Project,
    actor: Any,
    fmt: str | None,
    aggregation: str | None,
    state: str | None = None,
    item_ids: list[int] | None = None,
) -> LabelSet:
    """Register a snapshot to build; the build runs as a background job. ``item_ids``: a
    manager's selection (the items bulk action), kept in the snapshot's filters."""
    options = export_options(fmt=fmt, aggregation=aggregation, state=state)
    Project.objects.select_for_update().filter(pk=project.pk).first()
    latest = LabelSet.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
    labelset = LabelSet.objects.create(
        project=project,
        version=latest + 1,
        format=options["format"],
        aggregation=options["aggregation"],
        filters={"state": options["state"]}
        if item_ids is None
        else {"state": options["state"], "item_ids": item_ids},
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action="labelset.requested",
        project=project,
        target=f"v{labelset.version}",
        details=options if item_ids is None else {**options, "items": len(item_ids)},
    )
    return labelset


def labelset_build(*, labelset_id: int) -> LabelSet:
    """Write the snapshot file through the storage API and seal it with its sha256.

    The build time is stored before any item is read, so retention can tell which
    snapshots may hold an item it erases. If retention erased the label set (or its
    project was deleted) while this build ran, the file just written is deleted again."""
    labelset = LabelSet.objects.select_related("project").get(pk=labelset_id)
    if labelset.state in (LabelSet.State.READY, LabelSet.State.ERASED):
        return labelset
    project = labelset.project
    labelset.built_at = timezone.now()
    LabelSet.objects.filter(pk=labelset.pk).update(built_at=labelset.built_at)
    digest = hashlib.sha256()
    items = annotations = 0
    records = export_records(
        project=project,
        aggregate=export_aggregator(project=project, aggregation=labelset.aggregation),
        state=labelset.filters.get("state", "labeled"),
        item_ids=labelset.filters.get("item_ids"),
    )

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal items, annotations
        for record in records:
            items += 1
            annotations += len(record["annotations"])
            yield record

    name = f"project{project.pk}-v{labelset.version}.{labelset.format}"
    with tempfile.TemporaryFile() as spool:
        for piece in render_export(counted(), labelset.format):
            data = piece.encode()
            digest.update(data)
            spool.write(data)
        spool.seek(0)
        labelset.file.save(name, File(spool), save=False)
    labelset.sha256 = digest.hexdigest()
    labelset.item_count, labelset.annotation_count = items, annotations
    labelset.data_card = data_card_for(project=project, labelset=labelset)
    labelset.state = LabelSet.State.READY
    with transaction.atomic():
        sealed = (
            LabelSet.objects.filter(pk=labelset.pk)
            .exclude(state=LabelSet.State.ERASED)
            .update(
                file=labelset.file.name,
                sha256=labelset.sha256,
                item_count=items,
                annotation_count=annotations,
                data_card=labelset.data_card,
                state=LabelSet.State.READY,
            )
        )
        if not sealed:
            stored_files_delete(
                names=[labelset.file.name], reason=f"labelset {labelset.pk} erased while built"
            )
            labelset.state = LabelSet.State.ERASED
    return labelset


def labelset_open(*, labelset: LabelSet) -> Any:
    assert labelset.file.name is not None  # NOT NULL column; the stubs say str | None
    return default_storage.open(labelset.file.name, "rb")
