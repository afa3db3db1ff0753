"""The SQL the item table's filters need beyond the ORM, per database: list membership in a
JSON column, and full-text search over an item's string fields.

PostgreSQL searches ``jsonb_to_tsvector('english', data, '["string"]')``, the expression the
GIN index ``item_search_idx`` holds (migration ``0012_item_workbench``), so the search and the
index must keep the same text. SQLite has no full-text index over JSON: it matches each word
of the query as a substring of some string value, a working fallback for small projects.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.db.models import BooleanField, Expression, F, Func

SEARCH_CONFIG = "english"
SEARCH_VECTOR_SQL = "jsonb_to_tsvector('english'::regconfig, {data}, '[\"string\"]'::jsonb)"
"""The indexed expression; ``{data}`` is the item's data column."""


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
        if self.hidden:  # not the indexed expression: correct, slower (reviewers only)
            data, params = f"({data} - %s::text[])", [*params, self.hidden]
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
