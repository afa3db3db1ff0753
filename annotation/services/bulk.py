"""Bulk item writes on PostgreSQL: rows COPY'd into a temporary table, inserted in one go."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection

from annotation.models import Item, Project

_STAGE = "skein_item_stage"


def copy_supported() -> bool:
    return connection.vendor == "postgresql"


class ItemCopier:
    """Stages an import's rows with COPY, then ``finish`` inserts them in file order and skips
    any ``external_id`` the project (or an earlier row) already has, like
    ``bulk_create(ignore_conflicts=True)`` but without building a model per row.

    Use inside the import's transaction: the staging table is dropped at commit or rollback.
    Each batch is its own COPY, so none is open while the caller runs other queries."""

    def __init__(self, *, project: Project):
        self.project = project
        self.staged = 0
        self._created_table = False

    def write(self, rows: list[tuple[str, dict[str, Any], list[str] | None, float]]) -> None:
        """COPY one batch of cleaned rows: (external_id, data, gold, random_key)."""
        if not rows:
            return
        with connection.cursor() as cursor:
            if not self._created_table:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {_STAGE} (seq bigint, external_id text, "
                    "data jsonb, gold jsonb, random_key double precision) ON COMMIT DROP")
                self._created_table = True
            with cursor.copy(f"COPY {_STAGE} (seq, external_id, data, gold, random_key) "
                             "FROM STDIN") as copy:
                for external_id, data, gold, key in rows:
                    self.staged += 1
                    copy.write_row((self.staged, external_id, json.dumps(data),
                                    None if gold is None else json.dumps(gold), key))

    def finish(self) -> int:
        """Insert the staged rows; returns how many items were created."""
        if not self._created_table:
            return 0
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Item._meta.db_table} (project_id, external_id, data, gold, "
                "is_gold, state, annotation_count, lease_count, priority, random_key, "
                "created_at) "
                f"SELECT %s, external_id, data, gold, gold IS NOT NULL, %s, 0, 0, 0.0, "
                f"random_key, now() FROM {_STAGE} ORDER BY seq "
                "ON CONFLICT (project_id, external_id) DO NOTHING",
                [self.project.pk, Item.State.OPEN])
            created = cursor.rowcount
            cursor.execute(f"DROP TABLE {_STAGE}")
        self._created_table = False
        return created
