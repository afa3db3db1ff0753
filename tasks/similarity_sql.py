"""The similar-items query's reads on PostgreSQL, in SQL: rows fetched in the binary format,
so a few thousand 768-byte vectors arrive as bytes instead of hex text (half the bytes, no
decoding; tasks.similarity ranks them)."""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection

from tasks.models import ItemEmbedding, SimilarityEntry

_ENTRIES_SQL = (
    f"SELECT item_id, vector FROM {SimilarityEntry._meta.db_table} "
    "WHERE index_id = %s AND list_no = ANY(%s)"
)
_SINCE_SQL = (
    f"SELECT item_id, vector FROM {ItemEmbedding._meta.db_table} "
    "WHERE id > %s AND project_id = %s AND model_id = %s"
)


def _rows(sql: str, params: list[Any]) -> list[tuple[int, bytes]]:
    """Rows fetched in PostgreSQL's binary format (bytea as raw bytes, not hex text): a
    server-side-binding psycopg cursor on Django's connection (its own cursors bind on the
    client, which cannot ask for binary results)."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def candidate_rows(
    *, index_id: int, lists: list[int], after: int, project_id: int, model_id: str
) -> list[tuple[int, bytes]]:
    """(item id, vector) of the entries filed under ``lists`` of the index, and of the
    project's vectors stored after the embedding id ``after`` (read by the primary key's
    range: the newest rows of the table), in one round trip."""
    return _rows(
        f"{_ENTRIES_SQL} UNION ALL {_SINCE_SQL}", [index_id, lists, after, project_id, model_id]
    )
