"""Data retention: after a project's retention period, raw item data is erased while
labels, provenance and aggregate statistics stay. Uploaded images the erased items showed
go too (once no item whose data is kept still shows them).

Erasing reaches every copy: label set files that may hold the erased data are deleted from
storage (a label set is an immutable, hashed snapshot, so it is not rewritten; it becomes
``erased`` and its download is refused, and a new one can be requested)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from annotation.extensions import data_erased_hooks
from annotation.models import Item, LabelSet, Project
from annotation.services.audit import audit_record
from annotation.services.images import images_release
from annotation.services.imports.rows import STORED_IMAGE_FIELD
from annotation.services.storage import stored_files_delete

ERASED = {"erased": True}
BATCH = 10_000


def item_data_erase_expired(*, now: Any = None) -> dict[int, int]:
    """Erase the data of items older than their project's ``retention_days``; returns the
    number erased per project. Runs in batches so a large project never holds one long
    transaction."""
    now = now or timezone.now()
    erased: dict[int, int] = {}
    for project in Project.objects.exclude(retention_days=None):
        assert project.retention_days is not None  # excluded above
        cutoff = now - timedelta(days=project.retention_days)
        total = 0
        oldest = None
        while True:
            with transaction.atomic():
                batch = Item.objects.filter(
                    project=project, created_at__lt=cutoff, data_erased_at=None
                )
                ids = list(batch.values_list("id", flat=True)[:BATCH])
                if not ids:
                    break
                first = Item.objects.filter(pk__in=ids).aggregate(t=Min("created_at"))["t"]
                oldest = first if oldest is None else min(oldest, first)
                total += item_data_erase(project=project, ids=ids, now=now)
        if total:
            erased[project.pk] = total
            labelsets = labelsets_erase(project=project, items_since=oldest, now=now)
            audit_record(
                actor=None,
                action="items.data_erased",
                project=project,
                details={
                    "items": total,
                    "retention_days": project.retention_days,
                    "labelsets_erased": labelsets,
                },
            )
    return erased


def item_data_erase(*, project: Project, ids: list[int], now: Any) -> int:
    """Erase these items' data and every copy derived from it (the images they showed,
    what other apps derived, through the data-erased hooks); returns how many were erased.
    Inside the caller's transaction; the caller erases the label sets that may hold them
    (``labelsets_erase``) and audits."""
    keys = set(
        Item.objects.filter(
            pk__in=ids, **{f"data__{STORED_IMAGE_FIELD}__isnull": False}
        ).values_list(f"data__{STORED_IMAGE_FIELD}", flat=True)
    )
    erased = Item.objects.filter(pk__in=ids).update(data=ERASED, data_erased_at=now, text_key=None)
    # The images the erased items showed are their data too.
    images_release(project=project, keys=keys, reason="item data erased")
    for hook in data_erased_hooks():
        hook(item_ids=ids)
    return erased


@transaction.atomic
def labelsets_erase(*, project: Project, items_since: Any, now: Any) -> list[int]:
    """Delete the files of the project's label sets built after ``items_since`` (the oldest
    erased item's creation; a label set built before cannot hold it; one with no build time
    may; one being built now is erased too, its builder deletes what it wrote), mark them
    erased; returns their versions."""
    ready, building = LabelSet.State.READY, LabelSet.State.PENDING
    labelsets = list(
        LabelSet.objects.select_for_update().filter(
            Q(state=ready, built_at=None)
            | Q(state__in=(ready, building), built_at__gte=items_since),
            project=project,
        )
    )
    for labelset in labelsets:
        labelset_mark_erased(labelset=labelset, now=now)
    return [labelset.version for labelset in labelsets]


def labelset_mark_erased(*, labelset: LabelSet, now: Any) -> None:
    """The label set's file goes (after commit) and its download is refused from now on."""
    stored_files_delete(names=[labelset.file.name], reason=f"labelset {labelset.pk} erased")
    LabelSet.objects.filter(pk=labelset.pk).update(
        state=LabelSet.State.ERASED,
        file="",
        error=(
            f"Erased on {now:%Y-%m-%d}: it held item data that the project's retention "
            "period has since erased. Request a new label set."
        ),
    )
