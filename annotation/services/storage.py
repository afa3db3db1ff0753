"""Files in storage whose rows are gone: deleted after the deleting transaction commits,
retried later when storage refused.

The order is what keeps database and storage consistent: the rows go and a
``StoredFileDeletion`` per file is written in one transaction; only after it commits are the
files removed (a rolled-back deletion must not lose files its rows still point at). A file
removal that fails leaves its ``StoredFileDeletion`` row, which ``stored_files_retry`` (the
hourly maintenance job) works through; nothing ever points at such a file again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F

from annotation.models import StoredFileDeletion

logger = logging.getLogger(__name__)


def stored_files_delete(*, names: Iterable[str | None], reason: str) -> int:
    """Queue files for deletion in the caller's transaction; they are removed from storage
    once it commits. Returns how many were queued."""
    rows = StoredFileDeletion.objects.bulk_create(
        StoredFileDeletion(name=name, reason=reason) for name in sorted({n for n in names if n})
    )
    if rows:  # both supported databases return the new ids from bulk_create
        ids = [row.pk for row in rows]
        transaction.on_commit(lambda: _delete(ids), robust=True)
    return len(rows)


def stored_files_retry() -> int:
    """Remove the files whose deletion failed before; returns how many are still left."""
    _delete(list(StoredFileDeletion.objects.values_list("pk", flat=True)))
    return StoredFileDeletion.objects.count()


def _delete(ids: list[int]) -> None:
    for pending in StoredFileDeletion.objects.filter(pk__in=ids):
        try:
            # FileSystemStorage.delete ignores a missing file; a file already gone is done.
            default_storage.delete(pending.name)
        except Exception as exc:  # any storage error: keep the row, retry later
            logger.warning("could not delete %s from storage: %s", pending.name, exc)
            StoredFileDeletion.objects.filter(pk=pending.pk).update(
                attempts=F("attempts") + 1, error=str(exc)[:2000]
            )
            continue
        pending.delete()
