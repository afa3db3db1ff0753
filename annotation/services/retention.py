"""Data retention: after a project's retention period, raw item data is erased while
labels, provenance and aggregate statistics stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotation.models import Item, Project
from annotation.services.audit import audit_record

ERASED = {"erased": True}
BATCH = 10_000


def item_data_erase_expired(*, now: Any = None) -> dict[int, int]:
    """Erase the data of items older than their project's ``retention_days``; returns the
    number erased per project. Runs in batches so a large project never holds one long
    transaction."""
    now = now or timezone.now()
    erased: dict[int, int] = {}
    for project in Project.objects.exclude(retention_days=None):
        cutoff = now - timedelta(days=project.retention_days)
        total = 0
        while True:
            with transaction.atomic():
                ids = list(Item.objects.filter(project=project, created_at__lt=cutoff,
                                               data_erased_at=None)
                           .values_list("id", flat=True)[:BATCH])
                if not ids:
                    break
                total += Item.objects.filter(pk__in=ids).update(data=ERASED, data_erased_at=now)
        if total:
            erased[project.pk] = total
            audit_record(actor=None, action="items.data_erased", project=project,
                         details={"items": total, "retention_days": project.retention_days})
    return erased
