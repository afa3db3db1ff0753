"""The import's readers: CSV, JSONL and a JSON array, each read as a stream of
``(row number, parsed row or Bad)`` without holding the file."""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from typing import IO, Any

from annotation.text import json_loads

MAX_ROW_BYTES = 1_000_000

Row = tuple[int, Any]  # (row number as the user counts it, parsed row or an error string)


class CountingReader(io.RawIOBase):
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


class Bad(str):
    """A reader's complaint about a row, ``"field: message"`` — never a parsed value, so a
    JSON string element cannot pass for an error (or an error for data)."""


def _decoded_lines(stream: IO[bytes]) -> Iterator[str]:
    """The stream's lines decoded one by one, so a bad byte is reported on its own line."""
    for number, raw in enumerate(stream):
        yield raw.decode("utf-8-sig" if number == 0 else "utf-8")


def csv_rows(stream: IO[bytes]) -> Iterator[Row]:
    reader = csv.reader(_decoded_lines(stream), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError) as exc:
        yield 1, Bad(f"header: {exc}")
        return
    header = [h.strip() for h in header]
    if "external_id" not in header:
        yield 1, Bad("header: the header has no 'external_id' column")
        return
    if len(set(header)) != len(header) or "" in header:
        yield 1, Bad("header: column names must be unique and not empty")
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
                yield reader.line_num + 1, Bad(f"row: not valid UTF-8 ({exc.reason})")
                return
            yield row_number, Bad(f"row: malformed CSV ({exc})")
            continue
        row_number = reader.line_num
        if not values:
            continue
        if len(values) != len(header):
            yield row_number, Bad(f"row: has {len(values)} fields but the header has {len(header)}")
            continue
        yield row_number, dict(zip(header, values, strict=True))


def jsonl_rows(stream: IO[bytes]) -> Iterator[Row]:
    number = 0
    while line := stream.readline(MAX_ROW_BYTES + 1):
        number += 1
        if len(line) > MAX_ROW_BYTES:
            while line and not line.endswith(b"\n"):  # skip the rest without holding it
                line = stream.readline(1 << 16)
            yield number, Bad(f"row: longer than {MAX_ROW_BYTES} bytes")
            continue
        if not line.strip():
            continue
        try:
            yield number, json_loads(line)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
            yield number, Bad(f"row: not valid JSON ({exc})")


_NUMBER_CHARS = "0123456789+-.eE"


def _refill(stream: IO[bytes], reader: Any, rest: str) -> tuple[str, bool, str | None]:
    """Read the next block onto the undecoded rest: (buffer, at end of file, error)."""
    chunk = stream.read(1 << 16)
    try:
        return rest + reader.decode(chunk, final=not chunk), not chunk, None
    except UnicodeDecodeError as exc:
        return rest, True, f"row: not valid UTF-8 ({exc.reason})"


def json_rows(stream: IO[bytes]) -> Iterator[Row]:
    """Stream the elements of a top-level JSON array without loading the whole file."""
    decoder = json.JSONDecoder()
    reader = codecs.getincrementaldecoder("utf-8-sig")()
    started: bool | str  # False, True (after the '['), then "closed" (after the ']')
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
                yield number + 1, Bad(bad)
                return
        if position >= len(buffer):
            if not started:
                yield 1, Bad("file: expected a JSON list of items")
            elif started != "closed":
                yield number + 1, Bad("file: the JSON list is not closed with ']'")
            return
        char = buffer[position]
        if not started:
            if char != "[":
                yield 1, Bad("file: expected a JSON list of items")
                return
            started, position = True, position + 1
            continue
        if started == "closed":
            yield number, Bad("file: unexpected content after the closing ']'")
            return
        if char == "]":
            if expect_value and number:
                yield number + 1, Bad("row: a ',' before the closing ']' (trailing comma)")
                return
            started, position = "closed", position + 1
            continue
        if char == ",":
            if expect_value:
                yield number + 1, Bad("row: unexpected ','")
                return
            expect_value, position = True, position + 1
            continue
        if not expect_value:
            yield number + 1, Bad("row: expected ',' between items")
            return
        try:
            value, end = decoder.raw_decode(buffer, position)
        except RecursionError:
            yield number + 1, Bad("row: not valid JSON (nested too deeply)")
            return
        except ValueError as exc:  # JSONDecodeError, or a number too long to convert
            if len(buffer) - position > MAX_ROW_BYTES:
                yield number + 1, Bad(f"row: longer than {MAX_ROW_BYTES} characters")
                return
            if eof or not isinstance(exc, json.JSONDecodeError):
                yield number + 1, Bad(f"row: not valid JSON ({getattr(exc, 'msg', exc)})")
                return
            buffer, eof, bad = _refill(stream, reader, buffer[position:])
            position = 0
            if bad:
                yield number + 1, Bad(bad)
                return
            continue
        # A scalar that runs to the buffer's end, or stops at a '.', 'e' or sign there, may
        # be a number cut by the read boundary ("1" of "12", "1" of "1.5"): read on first.
        if (
            not eof
            and not isinstance(value, dict | list | str)
            and not buffer[end:].strip(_NUMBER_CHARS)
        ):
            buffer, eof, bad = _refill(stream, reader, buffer[position:])
            position = 0
            if bad:
                yield number + 1, Bad(bad)
                return
            continue
        number += 1
        position, expect_value = end, False
        yield number, value


READERS = {"csv": csv_rows, "jsonl": jsonl_rows, "json": json_rows}
