"""Importing items from CSV, JSONL and JSON, read as a stream and written in batches.

The whole file is validated; rows are staged as they are read and inserted into the
project in one statement at the end, and any bad row discards them all, so a bad file
writes nothing and lists every error (row number and field). An ``external_id`` already in
the project counts as a duplicate and never creates a second item; one repeated within the
file is a row error naming both rows. A row may carry a team's own predictions
(``predictions``, or the ``prediction_*`` CSV columns: annotation/services/predictions.py),
checked like every other field; they are stored on the row's item, a new one or one the
project already had, and may become its suggestion. Values neither database can store (NUL, lone
surrogates, NaN) are row errors too (annotation/text.py), so both databases take and refuse
the same files. The readers are `readers.py`, the row cleaning `rows.py`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, Q

from annotation.errors import ImportRejected, InvalidInput
from annotation.extensions import items_imported_hooks, predictions_in_charge
from annotation.models import Item, Project, StoredImage
from annotation.selectors import label_names_of
from annotation.services.audit import audit_record
from annotation.services.bulk import (
    ItemCopier,
    ItemStager,
    copy_supported,
    item_statistics_refresh,
)
from annotation.services.duplicates import DuplicateReport
from annotation.services.duplicates_sql import duplicates_group_exact
from annotation.services.imports.readers import READERS, Bad, CountingReader
from annotation.services.imports.rows import STORED_IMAGE_FIELD, RowError, clean_row
from annotation.services.predictions import (
    Prediction,
    PredictionStage,
    item_predictions_apply,
)
from annotation.text import text_key

FORMATS = ("csv", "jsonl", "json")
BATCH_SIZE = 5000
MAX_ERRORS_LISTED = 1000

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportResult:
    created: int
    duplicates: int  # rows whose external_id the project already had (no item created)
    rows: int
    predictions: int = 0
    # New items whose normalised text another item has (exact near-duplicates).
    near_duplicates: DuplicateReport = field(default_factory=DuplicateReport)


def format_from_name(name: str) -> str:
    lowered = name.lower()
    for fmt in FORMATS:
        if lowered.endswith("." + fmt):
            return fmt
    raise InvalidInput(
        {"file": [f"Cannot tell the format of '{name}': use a .csv, .jsonl or .json file."]}
    )


def random_key(seed: int, external_id: str) -> float:
    """The item's place in the seeded random order the queue uses before any model."""
    digest = hashlib.blake2b(f"{seed}:{external_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def items_import(
    *,
    project: Project,
    stream: IO[bytes],
    fmt: str,
    progress: Progress | None = None,
    actor: Any = None,
    source: str = "",
) -> ImportResult:
    """Import a file; raises ImportRejected (with every error) and writes nothing if any
    row is bad. ``progress(rows, bytes_read)`` is called after each batch. The import is
    audited with its counts, ``source`` (the file name) and the id range of its items."""
    if fmt not in FORMATS:
        raise InvalidInput({"format": [f"'{fmt}' is not one of {', '.join(FORMATS)}."]})
    label_names = set(label_names_of(project=project))
    counting = CountingReader(stream)
    buffered = io.BufferedReader(counting, buffer_size=1 << 16)
    errors: list[dict[str, Any]] = []
    error_count = 0
    rows = 0
    batch: list[tuple[str, dict[str, Any], list[str] | None, list[Prediction]]] = []
    first_row: dict[str, int] = {}  # external_id -> the row that first gave it
    max_rows = settings.SKEIN_MAX_IMPORT_ROWS
    # Rows are staged, then inserted in one statement (annotation/services/bulk.py):
    # PostgreSQL COPYs them inside one transaction; SQLite stages them outside the main
    # database's write lock, so labelers are not locked out while a big file is read.
    writer = ItemCopier(project=project) if copy_supported() else ItemStager(project=project)
    stage = PredictionStage(project=project)

    image_refs: list[tuple[int, str]] = []  # (row, key) of rows that point at a stored image

    def check_image_refs() -> None:
        """Rows whose stored_image is no image of this project are row errors."""
        nonlocal error_count
        keys = {key for _, key in image_refs}
        known = set(
            StoredImage.objects.filter(project=project, key__in=keys).values_list("key", flat=True)
        )
        for number, key in image_refs:
            if key not in known:
                error_count += 1
                if len(errors) < MAX_ERRORS_LISTED:
                    errors.append(
                        {
                            "row": number,
                            "field": STORED_IMAGE_FIELD,
                            "message": f"'{key}' is not an image uploaded to this project",
                        }
                    )
        image_refs.clear()

    def flush() -> None:
        if batch and not errors:
            writer.write(
                [(e, d, g, random_key(project.seed, e), text_key(d)) for e, d, g, _ in batch]
            )
            stage.write([(e, p) for e, _, _, p in batch if p])
        batch.clear()

    with writer.session(), stage.session():
        # The id the project's items stop at before this import: on PostgreSQL the project
        # is locked from here, and rows COPYed straight into an empty project land before
        # the final insert below.
        last_before = _last_item_id(project)
        for number, raw in READERS[fmt](buffered):
            rows += 1
            if rows > max_rows:
                errors.append(
                    {
                        "row": number,
                        "field": "file",
                        "message": f"more than {max_rows} rows; split the file",
                    }
                )
                error_count += 1
                break
            if isinstance(raw, Bad):
                field, _, message = raw.partition(": ")
                error_count += 1
                if len(errors) < MAX_ERRORS_LISTED:
                    errors.append({"row": number, "field": field, "message": message})
                continue
            try:
                external_id, data, gold, predictions = clean_row(
                    raw, project=project, label_names=label_names, from_csv=fmt == "csv"
                )
            except RowError as exc:
                error_count += 1
                if len(errors) < MAX_ERRORS_LISTED:
                    errors.append({"row": number, "field": exc.field, "message": exc.message})
                continue
            first = first_row.setdefault(external_id, number)
            if first != number:  # a mistake in the file, unlike an id the project has
                error_count += 1
                if len(errors) < MAX_ERRORS_LISTED:
                    errors.append(
                        {
                            "row": number,
                            "field": "external_id",
                            "message": f"external_id '{external_id}' is repeated: "
                            f"row {first} has it too",
                        }
                    )
                continue
            if STORED_IMAGE_FIELD in data:
                image_refs.append((number, data[STORED_IMAGE_FIELD]))
                if len(image_refs) >= BATCH_SIZE:
                    check_image_refs()
            if errors:
                continue
            batch.append((external_id, data, gold, predictions))
            if len(batch) >= BATCH_SIZE:
                flush()
                if progress:
                    progress(rows, counting.bytes_read)
        check_image_refs()
        if not errors and rows == 0:
            errors.append({"row": 0, "field": "file", "message": "the file has no items"})
            error_count += 1
        if errors:
            detail: dict[str, Any] = {"errors": errors}
            if error_count > len(errors):
                detail["more_errors"] = error_count - len(errors)
            raise ImportRejected(detail)
        flush()
        # The insert and its audit event commit together (on SQLite this is the only part
        # of the import that holds the write lock).
        with transaction.atomic():
            if not copy_supported():  # SQLite: staged rows land now, under the write lock
                last_before = _last_item_id(project)
            created = writer.finish()
            predicted = stage.finish()
            if predicted and predictions_in_charge(project=project):
                item_predictions_apply(project=project, item_ids=predicted)
            result = ImportResult(
                created=created,
                duplicates=rows - created,
                rows=rows,
                predictions=stage.staged,
                near_duplicates=duplicates_group_exact(project_id=project.pk, after_id=last_before),
            )
            _import_audit(
                project=project,
                actor=actor,
                source=source,
                fmt=fmt,
                result=result,
                last_before=last_before,
            )
        # After commit: the new rows must be visible to ANALYZE's sample.
        transaction.on_commit(lambda: item_statistics_refresh(changed=created), robust=True)
        if created:
            for hook in items_imported_hooks():
                transaction.on_commit(
                    functools.partial(hook, project=project, created=created), robust=True
                )
        if progress:
            progress(rows, counting.bytes_read)
    return result


def _last_item_id(project: Project) -> int:
    return Item.objects.filter(project=project).aggregate(m=Max("id"))["m"] or 0


def _import_audit(
    *, project: Project, actor: Any, source: str, fmt: str, result: ImportResult, last_before: int
) -> None:
    """The import's audit event: what came in, from where, and which items it made (the
    batch, by id range: ids grow, and imports into a project run one at a time)."""
    batch = Item.objects.filter(project=project, pk__gt=last_before).aggregate(
        first=Min("id"), last=Max("id"), gold=Count("id", filter=Q(is_gold=True))
    )
    audit_record(
        actor=actor,
        action="items.imported",
        project=project,
        target=source,
        details={
            "file": source,
            "format": fmt,
            "rows": result.rows,
            "created": result.created,
            "duplicates": result.duplicates,
            "predictions": result.predictions,
            "near_duplicates": {
                "items": result.near_duplicates.items,
                "groups": result.near_duplicates.groups,
            },
            "gold": batch["gold"],
            "batch": {"first_item_id": batch["first"], "last_item_id": batch["last"]},
        },
    )


def items_import_records(
    *, project: Project, records: list[Any], actor: Any = None
) -> ImportResult:
    """Import items given as a JSON list in a request body."""
    if not isinstance(records, list):
        raise InvalidInput({"items": ["Send a list of items or a file."]})
    payload = "\n".join(json.dumps(r) for r in records).encode()
    return items_import(
        project=project,
        stream=io.BytesIO(payload),
        fmt="jsonl",
        actor=actor,
        source="(request body)",
    )
