"""The SQL the item table's filters need beyond the ORM, per database: list membership in a
JSON column, and full-text search over an item's string fields.

PostgreSQL searches the stored column ``search_vector``, generated from
``jsonb_to_tsvector('english', data, '["string"]')`` and indexed by ``item_search_idx``
(migration ``0016_item_search_vector``; Django does not declare it). A reviewer of a project
with private fields searches the same expression over the data without them (not indexed).
SQLite has no full-text index over JSON: it matches each word of the query as a substring of
some string value, a working fallback for small projects.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.db.models import BooleanField, Expression, F, Func

SEARCH_CONFIG = "english"
SEARCH_VECTOR_SQL = "jsonb_to_tsvector('english'::regconfig, {data}, '[\"string\"]'::jsonb)"
"""The stored column's expression; ``{data}`` is the item's data column."""
SEARCH_COLUMN = "search_vector"


class JsonListHas(Func):
    """True where the JSON list in ``field`` has ``value`` as an element (exact text)."""

    output_field = BooleanField()

    def __init__(self, field: str | Expression, value: str) -> None:
        super().__init__(F(field) if isinstance(field, str) else field)
        self.value = value

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} @> %s::jsonb)", [*params, json.dumps([self.value])]

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.source_expressions[0])
        return (
            f"EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid({sql}) THEN {sql} "
            "ELSE '[]' END) j WHERE j.type = 'text' AND j.value = %s)",
            [*params, *params, self.value],
        )


def search_words(query: str) -> list[str]:
    """The words of a search, for the SQLite fallback (PostgreSQL parses the query itself)."""
    return [w for w in re.split(r"\W+", query) if w][:20]


class ItemTextSearch(Func):
    """True where the item's string fields (leaving out ``hidden`` top-level fields) match
    the web-search style ``query``."""

    output_field = BooleanField()

    def __init__(self, query: str, hidden: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__(F("data"))
        self.query = query
        self.hidden = sorted(hidden)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        data, params = compiler.compile(self.source_expressions[0])
        if self.hidden:  # not the indexed column: correct, slower (reviewers only)
            data, params = f"({data} - %s::text[])", [*params, self.hidden]
            vector = SEARCH_VECTOR_SQL.format(data=data)
        else:  # the data column's table alias (U0 inside a subquery), its stored vector
            table, _, column = data.rpartition(".")
            if table and column.strip('"') == "data":
                vector = f"{table}.{connection.ops.quote_name(SEARCH_COLUMN)}"
            else:
                vector = SEARCH_VECTOR_SQL.format(data=data)
        return (
            f"({vector} @@ websearch_to_tsquery('english'::regconfig, %s))",
            [*params, self.query],
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        data, params = compiler.compile(self.source_expressions[0])
        words = search_words(self.query)
        if not words:
            return "(1 = 0)", []
        hidden = ", ".join(["%s"] * len(self.hidden))
        not_hidden = f" AND j.key NOT IN ({hidden})" if self.hidden else ""
        parts, all_params = [], []
        for word in words:
            parts.append(
                f"EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid({data}) THEN {data} "
                f"ELSE '{{}}' END) j WHERE j.type = 'text'{not_hidden} "
                "AND j.value LIKE %s ESCAPE '\\')"
            )
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            all_params += [*params, *params, *self.hidden, f"%{escaped}%"]
        return "(" + " AND ".join(parts) + ")", all_params
