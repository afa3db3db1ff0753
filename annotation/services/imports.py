"""Importing items from CSV, JSONL and JSON, read as a stream and written in batches.

The whole file is validated; rows are staged as they are read and inserted into the
project in one statement at the end, and any bad row discards them all, so a bad file
writes nothing and lists every error (row number and field). An ``external_id`` already in
the project counts as a duplicate and never creates a second item; one repeated within the
file is a row error naming both rows. Values neither database can store (NUL, lone
surrogates, NaN) are row errors too (annotation/text.py), so both databases take and refuse
the same files.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, Q

from annotation.errors import ImportRejected, InvalidInput
from annotation.models import Item, Project
from annotation.services.audit import audit_record
from annotation.services.bulk import (
    ItemCopier,
    ItemStager,
    copy_supported,
    item_statistics_refresh,
)
from annotation.text import json_loads, unstorable

FORMATS = ("csv", "jsonl", "json")
BATCH_SIZE = 5000
MAX_ERRORS_LISTED = 1000
MAX_EXTERNAL_ID = 255
MAX_ROW_BYTES = 1_000_000
RESERVED = {"external_id", "gold", "data"}
_MULTI_SEPARATOR = "|"

Row = tuple[int, Any]  # (row number as the user counts it, parsed row or an error string)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportResult:
    created: int
    duplicates: int
    rows: int


class _RowError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


class _CountingReader(io.RawIOBase):
    """Wraps a binary stream and counts the bytes read, for progress and size caps."""

    def __init__(self, raw: IO[bytes]):
        self.raw, self.bytes_read = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.bytes_read += n
        return n


def format_from_name(name: str) -> str:
    lowered = name.lower()
    for fmt in FORMATS:
        if lowered.endswith("." + fmt):
            return fmt
    raise InvalidInput({"file": [f"Cannot tell the format of '{name}': use a .csv, .jsonl "
                                 "or .json file."]})


class _Bad(str):
    """A reader's complaint about a row, ``"field: message"`` — never a parsed value, so a
    JSON string element cannot pass for an error (or an error for data)."""


def _decoded_lines(stream: IO[bytes]) -> Iterator[str]:
    """The stream's lines decoded one by one, so a bad byte is reported on its own line."""
    for number, raw in enumerate(stream):
        yield raw.decode("utf-8-sig" if number == 0 else "utf-8")


def _csv_rows(stream: IO[bytes]) -> Iterator[Row]:
    reader = csv.reader(_decoded_lines(stream), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError) as exc:
        yield 1, _Bad(f"header: {exc}")
        return
    header = [h.strip() for h in header]
    if "external_id" not in header:
        yield 1, _Bad("header: the header has no 'external_id' column")
        return
    if len(set(header)) != len(header) or "" in header:
        yield 1, _Bad("header: column names must be unique and not empty")
        return
    row_number = 1
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            row_number += 1
            if isinstance(exc, UnicodeDecodeError):
                yield reader.line_num + 1, _Bad(f"row: not valid UTF-8 ({exc.reason})")
                return
            yield row_number, _Bad(f"row: malformed CSV ({exc})")
            continue
        row_number = reader.line_num
        if not values:
            continue
        if len(values) != len(header):
            yield row_number, _Bad(f"row: has {len(values)} fields but the header has "
                                   f"{len(header)}")
            continue
        yield row_number, dict(zip(header, values, strict=True))


def _jsonl_rows(stream: IO[bytes]) -> Iterator[Row]:
    number = 0
    while line := stream.readline(MAX_ROW_BYTES + 1):
        number += 1
        if len(line) > MAX_ROW_BYTES:
            while line and not line.endswith(b"\n"):  # skip the rest without holding it
                line = stream.readline(1 << 16)
            yield number, _Bad(f"row: longer than {MAX_ROW_BYTES} bytes")
            continue
        if not line.strip():
            continue
        try:
            yield number, json_loads(line)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            yield number, _Bad(f"row: not valid JSON ({exc})")


_NUMBER_CHARS = "0123456789+-.eE"


def _refill(stream: IO[bytes], reader: Any, rest: str) -> tuple[str, bool, str | None]:
    """Read the next block onto the undecoded rest: (buffer, at end of file, error)."""
    chunk = stream.read(1 << 16)
    try:
        return rest + reader.decode(chunk, final=not chunk), not chunk, None
    except UnicodeDecodeError as exc:
        return rest, True, f"row: not valid UTF-8 ({exc.reason})"


def _json_rows(stream: IO[bytes]) -> Iterator[Row]:
    """Stream the elements of a top-level JSON array without loading the whole file."""
    decoder = json.JSONDecoder()
    reader = codecs.getincrementaldecoder("utf-8-sig")()
    buffer, position, number, started = "", 0, 0, False
    eof = False
    expect_value = True
    while True:
        # Skip whitespace and separators, then decode one element.
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n":
                position += 1
            if position < len(buffer) or eof:
                break
            buffer, eof, bad = _refill(stream, reader, buffer[position:])
            position = 0
            if bad:
                yield number + 1, _Bad(bad)
                return
        if position >= len(buffer):
            if not started:
                yield 1, _Bad("file: expected a JSON list of items")
            elif started != "closed":
                yield number + 1, _Bad("file: the JSON list is not closed with ']'")
            return
        char = buffer[position]
        if not started:
            if char != "[":
                yield 1, _Bad("file: expected a JSON list of items")
                return
            started, position = True, position + 1
            continue
        if started == "closed":
            yield number, _Bad("file: unexpected content after the closing ']'")
            return
        if char == "]":
            if expect_value and number:
                yield number + 1, _Bad("row: a ',' before the closing ']' (trailing comma)")
                return
            started, position = "closed", position + 1
            continue
        if char == ",":
            if expect_value:
                yield number + 1, _Bad("row: unexpected ','")
                return
            expect_value, position = True, position + 1
            continue
        if not expect_value:
            yield number + 1, _Bad("row: expected ',' between items")
            return
        try:
            value, end = decoder.raw_decode(buffer, position)
        except RecursionError:
            yield number + 1, _Bad("row: not valid JSON (nested too deeply)")
            return
        except ValueError as exc:  # JSONDecodeError, or a number too long to convert
            if len(buffer) - position > MAX_ROW_BYTES:
                yield number + 1, _Bad(f"row: longer than {MAX_ROW_BYTES} characters")
                return
            if eof or not isinstance(exc, json.JSONDecodeError):
                yield number + 1, _Bad(f"row: not valid JSON ({getattr(exc, 'msg', exc)})")
                return
            buffer, eof, bad = _refill(stream, reader, buffer[position:])
            position = 0
            if bad:
                yield number + 1, _Bad(bad)
                return
            continue
        # A scalar that runs to the buffer's end, or stops at a '.', 'e' or sign there, may
        # be a number cut by the read boundary ("1" of "12", "1" of "1.5"): read on first.
        if (not eof and not isinstance(value, dict | list | str)
                and not buffer[end:].strip(_NUMBER_CHARS)):
            buffer, eof, bad = _refill(stream, reader, buffer[position:])
            position = 0
            if bad:
                yield number + 1, _Bad(bad)
                return
            continue
        number += 1
        position, expect_value = end, False
        yield number, value


_READERS = {"csv": _csv_rows, "jsonl": _jsonl_rows, "json": _json_rows}


def _clean_gold(raw: Any, *, project: Project, label_names: set[str], from_csv: bool
                ) -> list[str] | None:
    if raw is None or raw == "" or raw == []:
        return None
    if isinstance(raw, str):
        values = raw.split(_MULTI_SEPARATOR) if from_csv else [raw]
    elif isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        values = raw
    else:
        raise _RowError("gold", "gold must be a label name or a list of label names")
    values = [v.strip() for v in values]
    unknown = [v for v in values if v not in label_names]
    if unknown:
        raise _RowError("gold", f"'{unknown[0]}' is not a label of this project")
    if not project.is_multi_label and len(values) != 1:
        raise _RowError("gold", "this project takes exactly one gold label per item")
    return sorted(set(values))


def _clean_row(raw: Any, *, project: Project, label_names: set[str], from_csv: bool
               ) -> tuple[str, dict[str, Any], list[str] | None]:
    if not isinstance(raw, dict):
        raise _RowError("row", "each item must be an object with an external_id")
    external_id = raw.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        raise _RowError("external_id", "external_id is missing or empty")
    external_id = external_id.strip()
    if len(external_id) > MAX_EXTERNAL_ID:
        raise _RowError("external_id", f"external_id is longer than {MAX_EXTERNAL_ID} characters")
    problem = unstorable(raw)
    if problem is not None:
        raise _RowError(*problem)
    data = {k: v for k, v in raw.items() if k not in RESERVED}
    nested = raw.get("data")
    if nested is not None:
        if not isinstance(nested, dict):
            raise _RowError("data", "data must be an object")
        data.update(nested)
    if not data or all(v in ("", None) for v in data.values()):
        raise _RowError("data", "the item has no data: give 'text' or other fields")
    gold = _clean_gold(raw.get("gold"), project=project, label_names=label_names,
                       from_csv=from_csv)
    return external_id, data, gold


def random_key(seed: int, external_id: str) -> float:
    """The item's place in the seeded random order the queue uses before any model."""
    digest = hashlib.blake2b(f"{seed}:{external_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def items_import(*, project: Project, stream: IO[bytes], fmt: str,
                 progress: Progress | None = None, actor: Any = None,
                 source: str = "") -> ImportResult:
    """Import a file; raises ImportRejected (with every error) and writes nothing if any
    row is bad. ``progress(rows, bytes_read)`` is called after each batch. The import is
    audited with its counts, ``source`` (the file name) and the id range of its items."""
    if fmt not in FORMATS:
        raise InvalidInput({"format": [f"'{fmt}' is not one of {', '.join(FORMATS)}."]})
    label_names = set(project.labels.values_list("name", flat=True))
    counting = _CountingReader(stream)
    buffered = io.BufferedReader(counting, buffer_size=1 << 16)
    errors: list[dict[str, Any]] = []
    error_count = 0
    rows = 0
    batch: list[tuple[str, dict[str, Any], list[str] | None]] = []
    first_row: dict[str, int] = {}  # external_id -> the row that first gave it
    max_rows = settings.SKEIN_MAX_IMPORT_ROWS
    # Rows are staged, then inserted in one statement (annotation/services/bulk.py):
    # PostgreSQL COPYs them inside one transaction; SQLite stages them outside the main
    # database's write lock, so labelers are not locked out while a big file is read.
    writer = ItemCopier(project=project) if copy_supported() else ItemStager(project=project)

    def flush() -> None:
        if batch and not errors:
            writer.write([(e, d, g, random_key(project.seed, e)) for e, d, g in batch])
        batch.clear()

    with writer.session():
        for number, raw in _READERS[fmt](buffered):
            rows += 1
            if rows > max_rows:
                errors.append({"row": number, "field": "file",
                               "message": f"more than {max_rows} rows; split the file"})
                error_count += 1
                break
            if isinstance(raw, _Bad):
                field, _, message = raw.partition(": ")
                error_count += 1
                if len(errors) < MAX_ERRORS_LISTED:
                    errors.append({"row": number, "field": field, "message": message})
                continue
            try:
                external_id, data, gold = _clean_row(raw, project=project,
                                                     label_names=label_names,
                                                     from_csv=fmt == "csv")
            except _RowError as exc:
                error_count += 1
                if len(errors) < MAX_ERRORS_LISTED:
                    errors.append({"row": number, "field": exc.field, "message": exc.message})
                continue
            first = first_row.setdefault(external_id, number)
            if first != number:  # a mistake in the file, unlike an id the project has
                error_count += 1
                if len(errors) < MAX_ERRORS_LISTED:
                    errors.append({"row": number, "field": "external_id",
                                   "message": f"external_id '{external_id}' is repeated: "
                                              f"row {first} has it too"})
                continue
            if errors:
                continue
            batch.append((external_id, data, gold))
            if len(batch) >= BATCH_SIZE:
                flush()
                if progress:
                    progress(rows, counting.bytes_read)
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
            last_before = Item.objects.filter(project=project).aggregate(m=Max("id"))["m"] or 0
            created = writer.finish()
            result = ImportResult(created=created, duplicates=rows - created, rows=rows)
            _import_audit(project=project, actor=actor, source=source, fmt=fmt, result=result,
                          last_before=last_before)
        # After commit: the new rows must be visible to ANALYZE's sample.
        transaction.on_commit(lambda: item_statistics_refresh(changed=created), robust=True)
        if progress:
            progress(rows, counting.bytes_read)
    return result


def _import_audit(*, project: Project, actor: Any, source: str, fmt: str,
                  result: ImportResult, last_before: int) -> None:
    """The import's audit event: what came in, from where, and which items it made (the
    batch, by id range: ids grow, and imports into a project run one at a time)."""
    batch = Item.objects.filter(project=project, pk__gt=last_before).aggregate(
        first=Min("id"), last=Max("id"), gold=Count("id", filter=Q(is_gold=True)))
    audit_record(actor=actor, action="items.imported", project=project, target=source,
                 details={"file": source, "format": fmt, "rows": result.rows,
                          "created": result.created, "duplicates": result.duplicates,
                          "gold": batch["gold"],
                          "batch": {"first_item_id": batch["first"],
                                    "last_item_id": batch["last"]}})


def items_import_records(*, project: Project, records: list[Any],
                         actor: Any = None) -> ImportResult:
    """Import items given as a JSON list in a request body."""
    if not isinstance(records, list):
        raise InvalidInput({"items": ["Send a list of items or a file."]})
    payload = "\n".join(json.dumps(r) for r in records).encode()
    return items_import(project=project, stream=io.BytesIO(payload), fmt="jsonl",
                        actor=actor, source="(request body)")
