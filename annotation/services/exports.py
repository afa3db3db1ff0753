"""Exports: one record per item with its annotations, provenance and aggregate label.

Records are produced as a stream: items come from a server-side cursor in chunks, each
chunk's annotations in one query, so memory stays flat however large the project is.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from annotation.csv_cells import csv_line
from annotation.errors import InvalidInput
from annotation.iterables import chunks
from annotation.models import Annotation, Item, LabelSet, Project
from annotation.selectors import item_data_for, label_names_of
from annotation.services.audit import audit_record
from annotation.services.storage import stored_files_delete

FORMATS = ("jsonl", "csv", "json")
AGGREGATIONS = ("majority", "dawid_skene", "none")
STATES = ("labeled", "complete", "all")
CHUNK = 2000
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv",
                 "json": "application/json"}

# (project, label_names) -> aggregator: per item, its annotations' label lists ->
# (labels or None, confidence or None, extra fields)
Aggregator = Callable[[int, list[list[str]]], tuple[list[str] | None, float | None, dict]]


def export_options(*, fmt: str | None, aggregation: str | None, state: str | None = None
                   ) -> dict[str, str | None]:
    """Validate export parameters, every bad one named."""
    errors: dict[str, list[str]] = {}
    fmt = fmt or "jsonl"
    aggregation = aggregation or "majority"
    if fmt not in FORMATS:
        errors["format"] = [f"'{fmt}' is not one of {', '.join(FORMATS)}."]
    if aggregation not in AGGREGATIONS:
        errors["aggregation"] = [f"'{aggregation}' is not one of {', '.join(AGGREGATIONS)}."]
    if state not in (None, "", *STATES):
        errors["state"] = ["Use 'complete', 'labeled' (the default) or 'all'."]
    if errors:
        raise InvalidInput(errors)
    return {"format": fmt, "aggregation": aggregation, "state": state or "labeled"}


def majority_aggregator(*, project: Project, label_names: list[str]) -> Aggregator:
    """Majority vote: single-label, the most given label and its share of the votes (a tie
    gives no label and says so); multi-label, each label chosen by more than half."""
    multi = project.is_multi_label

    def aggregate(item_id: int, label_lists: list[list[str]]) -> tuple[Any, Any, dict]:
        if not label_lists:
            return None, None, {}
        n = len(label_lists)
        counts: dict[str, int] = {}
        for labels in label_lists:
            for name in labels:
                counts[name] = counts.get(name, 0) + 1
        if multi:
            chosen = [name for name in label_names if counts.get(name, 0) * 2 > n]
            shares = [max(counts.get(name, 0), n - counts.get(name, 0)) / n
                      for name in label_names]
            return chosen, sum(shares) / len(shares), {}
        best = max(counts.values())
        winners = [name for name in label_names if counts.get(name) == best]
        if len(winners) > 1:
            return None, best / n, {"tie": winners}
        return winners, best / n, {}

    return aggregate


def _aggregator_for(*, project: Project, aggregation: str, label_names: list[str]
                    ) -> Aggregator | None:
    if aggregation == "none":
        return None
    from quality.export_aggregation import aggregator_for

    return aggregator_for(project=project, aggregation=aggregation, label_names=label_names)


def _items(project: Project, state: str) -> Iterator[dict[str, Any]]:
    """The project's items in id order, from a server-side cursor (PostgreSQL) read
    ``CHUNK`` rows at a time; JSON columns parsed here, without the ORM's per-row work."""
    sql = (f"SELECT id, external_id, CAST(data AS TEXT), CAST(gold AS TEXT), is_gold "
           f"FROM {Item._meta.db_table} WHERE project_id = %s")
    params: list[Any] = [project.pk]
    if state == "complete":
        sql += " AND state = %s"
        params.append(Item.State.COMPLETE.value)
    elif state == "labeled":
        sql += " AND annotation_count > 0"
    loads = json.loads
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql + " ORDER BY id", params)
        while rows := cursor.fetchmany(CHUNK):
            for item_id, external_id, data, gold, is_gold in rows:
                yield {"id": item_id, "external_id": external_id, "data": loads(data),
                       "gold": None if gold is None else loads(gold),
                       "is_gold": bool(is_gold)}


def _created_sql() -> str:
    """``created_at`` as ``datetime.isoformat()`` writes it (UTC), formatted by the database:
    parsing a million timestamps only to print them again is most of an export's time."""
    if connection.vendor == "postgresql":
        return ("to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
                "CASE WHEN extract(microseconds FROM a.created_at)::bigint %% 1000000 = 0 "
                "THEN '' ELSE to_char(a.created_at AT TIME ZONE 'UTC', '.US') END || '+00:00'")
    # SQLite keeps Django's text form, "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC.
    return "replace(a.created_at, ' ', 'T') || '+00:00'"


def _chunk_annotations(project_id: int, first: int, last: int,
                       by_item: dict[int, list[dict[str, Any]]], parsed: dict[str, Any]
                       ) -> None:
    """Append the annotations of the chunk's items (ids first..last) to ``by_item``, in one
    range query. JSON columns come as text and repeated label lists are parsed once (each
    record still gets its own list)."""
    if len(parsed) > 10_000:
        parsed.clear()
    users = get_user_model()._meta
    username = users.get_field(get_user_model().USERNAME_FIELD).column
    sql = (
        f"SELECT a.item_id, u.{username}, CAST(a.labels AS TEXT), a.guideline_version, "
        f"{_created_sql()}, a.duration_ms, CAST(a.suggestion AS TEXT), a.counts "
        f"FROM {Annotation._meta.db_table} a JOIN {users.db_table} u ON u.id = a.annotator_id "
        "WHERE a.project_id = %s AND a.item_id BETWEEN %s AND %s ORDER BY a.item_id, a.id"
    )

    def load(text: str | None) -> Any:
        if text is None:
            return None
        value = parsed.get(text)
        if value is None:
            value = json.loads(text)
            if not isinstance(value, list):
                return value
            parsed[text] = value
        return list(value)

    with connection.cursor() as cursor:
        cursor.execute(sql, [project_id, first, last])
        rows = cursor.fetchall()
    for item_id, user, labels, version, created, duration, suggestion, counts in rows:
        anns = by_item.get(item_id)
        if anns is None:  # an item in the id range that the state filter left out
            continue
        anns.append({
            "annotator": user, "labels": load(labels), "guideline_version": version,
            "created_at": created, "duration_ms": duration,
            "suggestion": load(suggestion), "counts": bool(counts),
        })


def export_records(*, project: Project, aggregation: str = "majority", state: str = "labeled",
                   include_private: bool = False) -> Iterator[dict[str, Any]]:
    """Yield one export record per item, in item order."""
    label_names = label_names_of(project=project)
    aggregate = _aggregator_for(project=project, aggregation=aggregation,
                                label_names=label_names)
    multi = project.is_multi_label
    parsed: dict[str, Any] = {}
    for chunk in chunks(_items(project, state), CHUNK):
        by_item: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in chunk}
        _chunk_annotations(project.pk, chunk[0]["id"], chunk[-1]["id"], by_item, parsed)
        for row in chunk:
            anns = by_item[row["id"]]
            data = item_data_for(row["data"], project=project, include_private=include_private)
            record: dict[str, Any] = {"external_id": row["external_id"], "data": data}
            if aggregate is not None:
                labels, confidence, extra = aggregate(
                    row["id"], [a["labels"] for a in anns if a["counts"]])
                if not multi:
                    record["label"] = labels[0] if labels else None
                record["labels"] = labels
                record["confidence"] = confidence
                record.update(extra)
            if row["is_gold"]:
                record["gold"] = row["gold"]
            record["annotations"] = anns
            yield record


def render_export(records: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    """Serialise records as JSONL, CSV or one JSON list, piece by piece."""
    if fmt == "jsonl":
        for record in records:
            yield json.dumps(record, ensure_ascii=False) + "\n"
    elif fmt == "json":
        yield "["
        first = True
        for record in records:
            yield ("" if first else ",\n") + json.dumps(record, ensure_ascii=False)
            first = False
        yield "]\n"
    else:
        yield csv_line(["external_id", "labels", "confidence", "n_annotations", "data",
                         "annotations"])
        for record in records:
            labels = record.get("labels")
            yield csv_line([
                record["external_id"], "|".join(labels) if labels else "",
                "" if record.get("confidence") is None else f"{record['confidence']:.6g}",
                len(record["annotations"]),
                json.dumps(record["data"], ensure_ascii=False),
                json.dumps(record["annotations"], ensure_ascii=False),
            ])


def encode_stream(pieces: Iterable[str], size: int = 1 << 16) -> Iterator[bytes]:
    """UTF-8 blocks of about ``size`` bytes: one socket write per block, not per record."""
    buffer: list[str] = []
    length = 0
    for piece in pieces:
        buffer.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(buffer).encode()
            buffer.clear()
            length = 0
    if buffer:
        yield "".join(buffer).encode()


def export_audit(*, project: Project, actor: Any, options: dict[str, Any]) -> None:
    audit_record(actor=actor, action="export.made", project=project, details=options)


@transaction.atomic
def labelset_request(*, project: Project, actor: Any, fmt: str | None,
                     aggregation: str | None, state: str | None = None) -> LabelSet:
    """Register a snapshot to build; the build runs as a background job."""
    options = export_options(fmt=fmt, aggregation=aggregation, state=state)
    Project.objects.select_for_update().filter(pk=project.pk).first()
    latest = LabelSet.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
    labelset = LabelSet.objects.create(
        project=project, version=latest + 1, format=options["format"],
        aggregation=options["aggregation"], filters={"state": options["state"]},
        created_by=actor,
    )
    audit_record(actor=actor, action="labelset.requested", project=project,
                 target=f"v{labelset.version}", details=options)
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
    records = export_records(project=project, aggregation=labelset.aggregation,
                             state=labelset.filters.get("state", "labeled"))

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal items, annotations
        for record in records:
            items += 1
            annotations += len(record["annotations"])
            yield record

    from quality.datacard import data_card_for

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
        sealed = LabelSet.objects.filter(pk=labelset.pk).exclude(
            state=LabelSet.State.ERASED).update(
            file=labelset.file.name, sha256=labelset.sha256, item_count=items,
            annotation_count=annotations, data_card=labelset.data_card,
            state=LabelSet.State.READY)
        if not sealed:
            stored_files_delete(names=[labelset.file.name],
                                reason=f"labelset {labelset.pk} erased while built")
            labelset.state = LabelSet.State.ERASED
    return labelset


def labelset_open(*, labelset: LabelSet) -> Any:
    return default_storage.open(labelset.file.name, "rb")
