"""Storable text: the one rule for what the app accepts as a value, so that both databases
behave alike and a bad value is a 400 naming its field, never a 500.

PostgreSQL refuses a NUL character in text and jsonb; a lone UTF-16 surrogate (JSON
``"\\ud800"``) cannot be encoded as UTF-8, so PostgreSQL fails on the write and SQLite on
every later read; ``NaN``/``Infinity`` are not JSON, so SQLite's JSON functions and
PostgreSQL's jsonb refuse them. SQLite would store a NUL, so the check is made here, before
any database sees the value. Used by the API's body parsers (every field of every request)
and by the import's row cleaning (row-level errors).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import unicodedata
from typing import Any

# Deeper JSON than this is refused: no real input needs it, and a deep value can exhaust
# the stack later (json.dumps when it is stored, a recursive walk when it is read).
MAX_JSON_DEPTH = 64

NUL_MESSAGE = "contains a NUL character, which cannot be stored"
SURROGATE_MESSAGE = "contains a lone UTF-16 surrogate (not valid Unicode), which cannot be stored"
NOT_FINITE_MESSAGE = "is NaN or Infinity, which cannot be stored (not valid JSON)"
TOO_DEEP_MESSAGE = f"is nested more than {MAX_JSON_DEPTH} levels deep"


def text_problem(text: str) -> str | None:
    """Why this string cannot be stored, or None."""
    if "\x00" in text:
        return NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def printable(text: str) -> str:
    """The text with lone surrogates escaped, safe to echo in an error message."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def unstorable(value: Any, *, path: str = "") -> tuple[str, str] | None:
    """The first field (dotted path; list elements keep their list's path) whose value
    cannot be stored, and why; None if all of ``value`` can. Keys are checked like values.
    Walks with an explicit stack, so any depth it is given is safe to walk."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        current, where, depth = stack.pop()
        if isinstance(current, str):
            problem = text_problem(current)
            if problem:
                return printable(where), problem
        elif isinstance(current, float):
            if not math.isfinite(current):
                return printable(where), NOT_FINITE_MESSAGE
        elif isinstance(current, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return printable(where), TOO_DEEP_MESSAGE
            if isinstance(current, list):
                stack.extend((inner, where, depth + 1) for inner in reversed(current))
                continue
            children = []
            for key, inner in current.items():
                inner_path = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and (problem := text_problem(key)):
                    return printable(inner_path), problem
                children.append((inner, inner_path, depth + 1))
            stack.extend(reversed(children))
    return None


def json_loads(text: str | bytes) -> Any:
    """``json.loads`` where every failure, nesting too deep for the parser included, is a
    ValueError (the parser's RecursionError would otherwise escape as a 500)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


# Keys that hold pictures, not prose: never part of an item's text (featurize.IMAGE_FIELD_NAMES,
# IMAGE_FILE_FIELD).
NOT_TEXT_KEYS = frozenset({"image", "pixels", "image_url", "url", "stored_image"})


def item_text(data: Any) -> str:
    """An item's text: its string fields in key order, one per line, image keys and bare
    URLs left out. The one rule for "the text" of an item (what is embedded, what near-
    duplicate detection compares)."""
    if not isinstance(data, dict):
        return ""
    parts = []
    for key in sorted(data):
        value = data[key]
        if not isinstance(value, str) or key in NOT_TEXT_KEYS:
            continue
        stripped = value.strip()
        if stripped.startswith(("http://", "https://")) and " " not in stripped:
            continue
        parts.append(stripped)
    return "\n".join(parts)


@functools.cache
def _punctuation_table() -> dict[int, None]:
    """Every punctuation character (Unicode category P*) of the Basic Multilingual Plane
    (the planes above hold a few hundred historic-script marks, not worth the ~1 s a
    table of all 1.1 million code points costs a process), for ``str.translate``."""
    return {cp: None for cp in range(0x10000) if unicodedata.category(chr(cp)).startswith("P")}


_ASCII_PUNCTUATION = bytes(c for c in range(128) if unicodedata.category(chr(c)).startswith("P"))


def normalised_text(text: str) -> str:
    """The text as exact-duplicate detection compares it: Unicode NFKC, case-folded, every
    punctuation character (Unicode category P*) dropped, runs of whitespace made one space.
    "Great movie!!" and "great  movie" are the same; "great movies" is not. Runs on every
    imported row: C-speed steps only (ASCII text, the common case, is lower-cased and
    stripped of punctuation as bytes; NFKC is the identity on it)."""
    if text.isascii():
        kept = text.lower().encode("ascii").translate(None, _ASCII_PUNCTUATION)
        return " ".join(kept.decode("ascii").split())
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.casefold().translate(_punctuation_table()).split())


def text_key(data: Any) -> str | None:
    """The item's normalised-text hash (32 hex digits, BLAKE2b-128), None when it has no
    text: items with the same key are exact duplicates after normalisation."""
    normal = normalised_text(item_text(data))
    if not normal:
        return None
    return hashlib.blake2b(normal.encode("utf-8"), digest_size=16).hexdigest()
