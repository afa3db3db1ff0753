"""Exports: one record per item with its annotations, provenance and (given an aggregator,
see quality.export_aggregation) its aggregate label.

Records are produced as a stream: items come from a server-side cursor in chunks, each
chunk's annotations in one query, so memory stays flat however large the project is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from annotation.csv_cells import csv_line
from annotation.errors import InvalidInput
from annotation.iterables import chunks
from annotation.models import Annotation, Item, Project
from annotation.selectors import item_data_for

FORMATS = ("jsonl", "csv", "json")
AGGREGATIONS = ("majority", "dawid_skene", "none")
STATES = ("labeled", "complete", "all")
CHUNK = 2000
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv", "json": "application/json"}

# An item's aggregate label: (labels or None, confidence or None, extra fields).
Aggregate = tuple[list[str] | None, float | None, dict[str, Any]]
# What ``export_records`` asks, once per chunk of items, for their aggregate labels: (the
# items' ids, and per item its counted annotations' label lists) -> one Aggregate per item,
# in the same order. A whole chunk at a time, so the rule runs on arrays, not per item.
# Quality makes them (quality.export_aggregation); the core only calls one.
Aggregator = Callable[[Sequence[int], Sequence[list[list[str]]]], list[Aggregate]]


def export_options(
    *, fmt: str | None, aggregation: str | None, state: str | None = None
) -> dict[str, str]:
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


def _items(
    project: Project, state: str, item_ids: Collection[int] | None = None
) -> Iterator[dict[str, Any]]:
    """The project's items in id order, from a server-side cursor (PostgreSQL) read
    ``CHUNK`` rows at a time; JSON columns parsed here, without the ORM's per-row work.
    With ``item_ids`` (a saved selection), only those, read within their id range."""
    sql = (
        f"SELECT id, external_id, CAST(data AS TEXT), CAST(gold AS TEXT), is_gold "
        f"FROM {Item._meta.db_table} WHERE project_id = %s"
    )
    params: list[Any] = [project.pk]
    if state == "complete":
        sql += " AND state = %s"
        params.append(Item.State.COMPLETE.value)
    elif state == "labeled":
        sql += " AND annotation_count > 0"
    wanted = None if item_ids is None else frozenset(item_ids)
    if wanted is not None:
        sql += " AND id BETWEEN %s AND %s"
        params += [min(wanted, default=0), max(wanted, default=-1)]
    loads = json.loads
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql + " ORDER BY id", params)
        while rows := cursor.fetchmany(CHUNK):
            for item_id, external_id, data, gold, is_gold in rows:
                if wanted is not None and item_id not in wanted:
                    continue
                yield {
                    "id": item_id,
                    "external_id": external_id,
                    "data": loads(data),
                    "gold": None if gold is None else loads(gold),
                    "is_gold": bool(is_gold),
                }


def _created_sql() -> str:
    """``created_at`` as ``datetime.isoformat()`` writes it (UTC), formatted by the database:
    parsing a million timestamps only to print them again is most of an export's time."""
    if connection.vendor == "postgresql":
        return (
            "to_char(a.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            "CASE WHEN extract(microseconds FROM a.created_at)::bigint %% 1000000 = 0 "
            "THEN '' ELSE to_char(a.created_at AT TIME ZONE 'UTC', '.US') END || '+00:00'"
        )
    # SQLite keeps Django's text form, "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC.
    return "replace(a.created_at, ' ', 'T') || '+00:00'"


def _chunk_annotations(
    project_id: int,
    first: int,
    last: int,
    by_item: dict[int, list[dict[str, Any]]],
    parsed: dict[str, Any],
) -> None:
    """Append the annotations of the chunk's items (ids first..last) to ``by_item``, in one
    range query. JSON columns come as text and repeated label lists are parsed once (each
    record still gets its own list)."""
    if len(parsed) > 10_000:
        parsed.clear()
    users = get_user_model()._meta
    # get_field() is typed Field | ForeignObjectRel: the username field is a plain column.
    username = users.get_field(get_user_model().USERNAME_FIELD).column  # type: ignore[union-attr]
    sql = (
        f"SELECT a.item_id, u.{username}, CAST(a.labels AS TEXT), a.guideline_version, "
        f"{_created_sql()}, a.duration_ms, CAST(a.suggestion AS TEXT), a.is_counted "
        f"FROM {Annotation._meta.db_table} a JOIN {users.db_table} u ON u.id = a.labeler_id "
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
    for item_id, user, labels, version, created, duration, suggestion, is_counted in rows:
        anns = by_item.get(item_id)
        if anns is None:  # an item in the id range that the state filter left out
            continue
        anns.append(
            {
                "annotator": user,
                "labels": load(labels),
                "guideline_version": version,
                "created_at": created,
                "duration_ms": duration,
                "suggestion": load(suggestion),
                "counts": bool(is_counted),
            }
        )


def export_records(
    *,
    project: Project,
    aggregate: Aggregator | None,
    state: str = "labeled",
    include_private: bool = False,
    item_ids: Collection[int] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield one export record per item, in item order; with ``aggregate``, each record
    carries the item's aggregate label. ``item_ids``: only these items (a selection)."""
    multi = project.is_multi_label
    parsed: dict[str, Any] = {}
    for chunk in chunks(_items(project, state, item_ids), CHUNK):
        by_item: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in chunk}
        _chunk_annotations(project.pk, chunk[0]["id"], chunk[-1]["id"], by_item, parsed)
        aggregates: list[Aggregate] = []
        if aggregate is not None:
            aggregates = aggregate(
                [row["id"] for row in chunk],
                [[a["labels"] for a in by_item[row["id"]] if a["counts"]] for row in chunk],
            )
        for n, row in enumerate(chunk):
            anns = by_item[row["id"]]
            data = item_data_for(row["data"], project=project, include_private=include_private)
            record: dict[str, Any] = {"external_id": row["external_id"], "data": data}
            if aggregate is not None:
                labels, confidence, extra = aggregates[n]
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
        yield csv_line(
            ["external_id", "labels", "confidence", "n_annotations", "data", "annotations"]
        )
        for record in records:
            labels = record.get("labels")
            yield csv_line(
                [
                    record["external_id"],
                    "|".join(labels) if labels else "",
                    "" if record.get("confidence") is None else f"{record['confidence']:.6g}",
                    len(record["annotations"]),
                    json.dumps(record["data"], ensure_ascii=False),
                    json.dumps(record["annotations"], ensure_ascii=False),
                ]
            )


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
