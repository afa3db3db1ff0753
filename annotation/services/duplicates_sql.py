"""The import's exact-duplicate grouping, written out in SQL (set-based: one statement per
step whatever the number of groups). The one writer of groups otherwise is
``annotation.services.duplicates``; this module follows its rules (a group's id is its
lowest member's id; joining merges groups)."""

from __future__ import annotations

from django.db import connection

from annotation.models import Item
from annotation.services.duplicates import EXISTING_LISTED, DuplicateReport

_ITEM = Item._meta.db_table
_KEYS = "skein_duplicate_keys"


def duplicates_group_exact(*, project_id: int, after_id: int) -> DuplicateReport:
    """Group the items above ``after_id`` (an import's new items) with every item of the
    project that has the same normalised text, and report what was found.

    Set-based, so an import of a million rows that are mostly repeats costs a few
    statements, not one per group: the keys the import shares with another item go to a
    temporary table with their group's root (the lowest of the members' current roots,
    ``COALESCE(duplicate_group, id)``), then one UPDATE joins every member to it. A group
    that the embedding job had made and that a key now merges into a lower root follows
    it (one UPDATE per merged group: rare)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_KEYS}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_KEYS} AS SELECT text_key, "
            f"MIN(COALESCE(duplicate_group, id)) AS root FROM {_ITEM} "
            "WHERE project_id = %s AND text_key IS NOT NULL GROUP BY text_key "
            "HAVING COUNT(*) > 1 AND MAX(id) > %s",
            [project_id, after_id],
        )
        try:
            cursor.execute(
                f"SELECT DISTINCT i.duplicate_group, k.root FROM {_ITEM} i JOIN {_KEYS} k "
                "ON k.text_key = i.text_key WHERE i.project_id = %s "
                "AND i.duplicate_group IS NOT NULL AND i.duplicate_group <> k.root",
                [project_id],
            )
            merged = cursor.fetchall()
            cursor.execute(
                f"UPDATE {_ITEM} SET duplicate_group = k.root FROM {_KEYS} k "
                f"WHERE {_ITEM}.project_id = %s AND {_ITEM}.text_key = k.text_key "
                f"AND ({_ITEM}.duplicate_group IS NULL OR {_ITEM}.duplicate_group <> k.root)",
                [project_id],
            )
            cursor.execute(
                f"SELECT COUNT(*), COUNT(DISTINCT i.text_key) FROM {_ITEM} i JOIN {_KEYS} k "
                "ON k.text_key = i.text_key WHERE i.project_id = %s AND i.id > %s",
                [project_id, after_id],
            )
            items, groups = cursor.fetchone()
            existing_of = (
                f"FROM {_ITEM} i JOIN {_KEYS} k ON k.text_key = i.text_key "
                "WHERE i.project_id = %s AND i.id <= %s"
            )
            cursor.execute(
                f"SELECT i.id {existing_of} ORDER BY i.id LIMIT {EXISTING_LISTED}",
                [project_id, after_id],
            )
            existing = [row[0] for row in cursor.fetchall()]
            cursor.execute(f"SELECT COUNT(*) {existing_of}", [project_id, after_id])
            existing_count = cursor.fetchone()[0]
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {_KEYS}")
    for old, root in merged:
        Item.objects.filter(project_id=project_id, duplicate_group=old).update(duplicate_group=root)
    return DuplicateReport(
        items=int(items),
        groups=int(groups),
        existing_items=existing,
        existing_count=int(existing_count),
    )
