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

import json
import math
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
