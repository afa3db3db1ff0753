"""Bulk item writes on PostgreSQL: rows COPY'd into a temporary table, inserted in one go."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.utils import timezone

from annotation.models import Item, Project

_STAGE = "skein_item_stage"


def copy_supported() -> bool:
    return connection.vendor == "postgresql"


_COLUMNS = ("project_id, external_id, data, gold, is_gold, state, annotation_count, "
            "lease_count, priority, random_key, created_at")


class ItemCopier:
    """Writes an import's rows with COPY, first occurrence of each ``external_id`` wins and
    any the project already has is skipped, like ``bulk_create(ignore_conflicts=True)`` but
    without building a model per row.

    Into an empty project (the big first import) rows go straight into the item table,
    repeats within the file dropped here; otherwise they are staged in a temporary table
    and ``finish`` inserts them with ``ON CONFLICT DO NOTHING``. Use inside the import's
    transaction, after locking the project: the staging table is dropped at commit or
    rollback. Each batch is its own COPY, so none is open while the caller runs other
    queries."""

    def __init__(self, *, project: Project):
        self.project = project
        self.staged = 0
        self.created = 0
        self._direct: bool | None = None  # decided at the first batch, inside the lock
        self._seen: set[str] = set()

    def _start(self, cursor: Any) -> None:
        self._direct = not Item.objects.filter(project=self.project).exists()
        if not self._direct:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_STAGE} (seq bigint, external_id text, "
                "data jsonb, gold jsonb, random_key double precision) ON COMMIT DROP")

    def write(self, rows: list[tuple[str, dict[str, Any], list[str] | None, float]]) -> None:
        """COPY one batch of cleaned rows: (external_id, data, gold, random_key)."""
        if not rows:
            return
        with connection.cursor() as cursor:
            if self._direct is None:
                self._start(cursor)
            if self._direct:
                self._copy_direct(cursor, rows)
                return
            with cursor.copy(f"COPY {_STAGE} (seq, external_id, data, gold, random_key) "
                             "FROM STDIN") as copy:
                for external_id, data, gold, key in rows:
                    self.staged += 1
                    copy.write_row((self.staged, external_id, json.dumps(data),
                                    None if gold is None else json.dumps(gold), key))

    def _copy_direct(self, cursor: Any, rows: list[tuple[str, dict[str, Any],
                                                           list[str] | None, float]]) -> None:
        project_id, state, now, seen = self.project.pk, Item.State.OPEN, timezone.now(), self._seen
        with cursor.copy(f"COPY {Item._meta.db_table} ({_COLUMNS}) FROM STDIN") as copy:
            for external_id, data, gold, key in rows:
                self.staged += 1
                if external_id in seen:
                    continue
                seen.add(external_id)
                self.created += 1
                copy.write_row((project_id, external_id, json.dumps(data),
                                None if gold is None else json.dumps(gold), gold is not None,
                                state, 0, 0, 0.0, key, now))

    def finish(self) -> int:
        """Insert the staged rows; returns how many items were created."""
        if self._direct is None or self._direct:
            self._seen.clear()
            return self.created
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Item._meta.db_table} ({_COLUMNS}) "
                f"SELECT %s, external_id, data, gold, gold IS NOT NULL, %s, 0, 0, 0.0, "
                f"random_key, now() FROM {_STAGE} ORDER BY seq "
                "ON CONFLICT (project_id, external_id) DO NOTHING",
                [self.project.pk, Item.State.OPEN])
            self.created = cursor.rowcount
            cursor.execute(f"DROP TABLE {_STAGE}")
        self._direct = None
        return self.created
