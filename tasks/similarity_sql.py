"""The similar-items reads on PostgreSQL, in SQL, fetched in the binary format (bytea as raw
bytes, not hex text): the probed lists' blobs, and the vectors stored since the build
aggregated into one pair of blobs, in one round trip (tasks.similarity ranks them)."""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection

from tasks.models import ItemEmbedding, SimilarityList

_LISTS_SQL = (
    f"SELECT item_ids, vectors FROM {SimilarityList._meta.db_table} "
    "WHERE index_id = %s AND list_no = ANY(%s)"
)
# int8send: the item id as 8 big-endian bytes, the layout of SimilarityList.item_ids. The
# range is written as row comparisons so that only the (project, model_id, id) index
# (itemembedding_since) can serve it: with "project_id = p AND id > w" the planner, blind to
# a project's id range, scanned all the project's vectors or other projects' newer ones.
_SINCE_SQL = (
    "SELECT string_agg(int8send(item_id), ''::bytea ORDER BY id), "
    "string_agg(vector, ''::bytea ORDER BY id) "
    f"FROM {ItemEmbedding._meta.db_table} "
    "WHERE (project_id, model_id, id) > (%s, %s, %s) "
    "AND (project_id, model_id, id) <= (%s, %s, 9223372036854775807)"
)

Blob = bytes | memoryview | None  # NULL: no vectors stored since the build
Blobs = list[tuple[Blob, Blob]]


def _rows(sql: str, params: list[Any]) -> Blobs:
    """Rows fetched in PostgreSQL's binary format: a server-side-binding psycopg cursor on
    Django's connection (its own cursors bind on the client, which cannot ask for binary
    results)."""
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, binary=True)
        return cursor.fetchall()


def candidate_blobs(
    *, index_id: int | None, lists: list[int], after: int, project_id: int, model_id: str
) -> Blobs:
    """(item ids, vectors) blob pairs: those of ``lists`` of the index (none without an
    index), and one pair for the project's vectors stored after the embedding id ``after``
    (its newest rows, read by the primary key's range)."""
    since = [project_id, model_id, after, project_id, model_id]
    if index_id is None:
        return _rows(_SINCE_SQL, since)
    return _rows(f"{_LISTS_SQL} UNION ALL {_SINCE_SQL}", [index_id, lists, *since])
