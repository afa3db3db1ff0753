"""URL path converters: ``<id:...>`` is a database id, at most 2**63 - 1.

Django's ``<int:...>`` takes any run of digits; a larger number reaches the query and
SQLite raises OverflowError (a 500) where PostgreSQL answers "not found". Bounded here, an
id no database can hold simply does not match the route: a 404 on both.
"""

from __future__ import annotations

from django.urls import register_converter

MAX_ID = 2**63 - 1


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("larger than any database id")  # the URL does not match
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def id_param(raw: str | None) -> int | None:
    """An id given as a query parameter, or None if it is not one (not digits, or too large
    for any database)."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    number = int(raw)
    return number if number <= MAX_ID else None


register_converter(IdConverter, "id")
