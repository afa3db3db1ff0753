"""Bulk item writes: an import's rows staged first, then inserted into the item table in
one statement. PostgreSQL: COPY, inside the import's transaction (readers never wait on
it). SQLite: a TEMP table, outside any transaction on the main database, so that labelers
can take the write lock while the file is read instead of waiting behind all of it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from annotation.models import Item, Project

_STAGE = "skein_item_stage"
# Planner statistics are refreshed after a bulk write of at least this many item rows that
# is also at least ANALYZE_FRACTION of the table (autovacuum's own default rule, applied at
# once and whether or not autovacuum runs). Below that a stale plan costs little: the
# queue's worst plan sorts the project's open items, ~2 ms for 5,000 of them.
ANALYZE_MIN_ROWS = 5_000
ANALYZE_FRACTION = 0.1


def copy_supported() -> bool:
    return connection.vendor == "postgresql"


_COLUMNS = (
    "project_id, external_id, data, gold, is_gold, state, annotation_count, "
    "lease_count, priority, random_key, text_key, created_at"
)


def item_statistics_refresh(*, changed: int) -> bool:
    """After a bulk write of ``changed`` item rows has committed: ANALYZE the item table
    if the write changed enough of it; returns whether it did.

    Without statistics for new rows the planner misjudges the queue's pick: after a
    100,000-item import into a fresh table it sorted every open item on each ``next``
    (~140 ms instead of ~1.5 ms) until something ran ANALYZE, and autovacuum may be off or
    a minute away. ANALYZE reads a fixed-size sample (~0.2 s on 100,000 rows). PostgreSQL
    only: SQLite's planner picks the queue's index without statistics (bench/README.md)."""
    if connection.vendor != "postgresql" or changed < ANALYZE_MIN_ROWS:
        return False
    table = Item._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        known = cursor.fetchone()[0]
        if known >= 0 and changed < ANALYZE_FRACTION * known:
            return False
        cursor.execute(f"ANALYZE {table}")
    return True


# (external_id, data, gold, random_key, text_key)
Rows = list[tuple[str, dict[str, Any], list[str] | None, float, str | None]]


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
        # Direct path: text key -> id of the first item with it, and the firsts that others
        # repeat. The repeats are written with their group (the first's id) in the COPY, so
        # the exact-duplicate grouping after it updates only each group's first item.
        self._first_of: dict[str, int] = {}
        self._repeated: set[int] = set()

    def _start(self, cursor: Any) -> None:
        self._direct = not Item.objects.filter(project=self.project).exists()
        if not self._direct:
            cursor.execute(
                f"CREATE TEMPORARY TABLE {_STAGE} (seq bigint, external_id text, "
                "data jsonb, gold jsonb, random_key double precision, text_key text) "
                "ON COMMIT DROP"
            )

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """The import's one transaction, with the project locked: one import at a time per
        project, so created/duplicate counts are exact. FOR NO KEY UPDATE, not FOR UPDATE:
        the latter also blocks the foreign-key checks of every assignment and annotation
        inserted into the project, so labelers waited for the whole import."""
        with transaction.atomic():
            Project.objects.select_for_update(no_key=True).filter(pk=self.project.pk).first()
            yield

    def write(self, rows: Rows) -> None:
        """COPY one batch of cleaned rows: (external_id, data, gold, random_key, text_key)."""
        if not rows:
            return
        with connection.cursor() as cursor:
            if self._direct is None:
                self._start(cursor)
            if self._direct:
                self._copy_direct(cursor, rows)
                return
            with cursor.copy(
                f"COPY {_STAGE} (seq, external_id, data, gold, random_key, text_key) FROM STDIN"
            ) as copy:
                for external_id, data, gold, key, text_key in rows:
                    self.staged += 1
                    copy.write_row(
                        (
                            self.staged,
                            external_id,
                            json.dumps(data),
                            None if gold is None else json.dumps(gold),
                            key,
                            text_key,
                        )
                    )

    def _copy_direct(self, cursor: Any, rows: Rows) -> None:
        project_id, state, now, seen = self.project.pk, Item.State.OPEN, timezone.now(), self._seen
        kept = []
        for row in rows:
            self.staged += 1
            if row[0] in seen:
                continue
            seen.add(row[0])
            kept.append(row)
        if not kept:
            return
        # Ids taken from the table's sequence up front (as the default would), so a repeat's
        # group is known when it is written.
        table = Item._meta.db_table
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)",
            [len(kept)],
        )
        ids = sorted(r[0] for r in cursor.fetchall())
        first_of, repeated = self._first_of, self._repeated
        with cursor.copy(f"COPY {table} (id, duplicate_group, {_COLUMNS}) FROM STDIN") as copy:
            for item_id, (external_id, data, gold, key, text_key) in zip(ids, kept, strict=True):
                self.created += 1
                group = None
                if text_key is not None:
                    group = first_of.setdefault(text_key, item_id)
                    if group == item_id:
                        group = None
                    else:
                        repeated.add(group)
                copy.write_row(
                    (
                        item_id,
                        group,
                        project_id,
                        external_id,
                        json.dumps(data),
                        None if gold is None else json.dumps(gold),
                        gold is not None,
                        state,
                        0,
                        0,
                        0.0,
                        key,
                        text_key,
                        now,
                    )
                )

    def _first_items_group(self, cursor: Any) -> None:
        """The first item of each group the direct path saw repeated joins its group."""
        if self._repeated:
            cursor.execute(
                f"UPDATE {Item._meta.db_table} SET duplicate_group = id WHERE id = ANY(%s)",
                [sorted(self._repeated)],
            )
        self._first_of.clear()
        self._repeated.clear()

    def finish(self) -> int:
        """Insert the staged rows; returns how many items were created."""
        if self._direct is None or self._direct:
            self._seen.clear()
            with connection.cursor() as cursor:
                self._first_items_group(cursor)
            return self.created
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Item._meta.db_table} ({_COLUMNS}) "
                f"SELECT %s, external_id, data, gold, gold IS NOT NULL, %s, 0, 0, 0.0, "
                f"random_key, text_key, now() FROM {_STAGE} ORDER BY seq "
                "ON CONFLICT (project_id, external_id) DO NOTHING",
                [self.project.pk, Item.State.OPEN],
            )
            self.created = cursor.rowcount
            cursor.execute(f"DROP TABLE {_STAGE}")
        self._direct = None
        return self.created


_TEMP_STAGE = "temp.skein_item_stage"


@contextlib.contextmanager
def temp_transaction(cursor: Any) -> Iterator[None]:
    """One transaction of the temporary database only. ``atomic()`` would BEGIN IMMEDIATE
    and take the main database's write lock; a deferred BEGIN locks only what the
    statements touch, here TEMP tables. Inside a caller's transaction, just run."""
    if connection.in_atomic_block:
        yield
        return
    cursor.execute("BEGIN DEFERRED")
    try:
        yield
    except BaseException:
        cursor.execute("ROLLBACK")
        raise
    cursor.execute("COMMIT")


class ItemStager:
    """SQLite: an import's rows go to a TEMP table, then into the item table in one
    ``INSERT ... SELECT`` at the end, the first occurrence of each ``external_id`` winning
    and any the project already has skipped (as ``ItemCopier`` does).

    SQLite has one write lock per database. An import written inside one transaction held
    it for the whole file (minutes for a few hundred thousand rows) and every labeler's
    claim failed after the 20 s busy timeout. A TEMP table lives in the connection's own
    temporary database: staging takes no lock on the main one, and the import holds the
    write lock only for the final insert (bench/README.md, "Big writes and the queue").
    Nothing is visible before that insert commits; a failed import drops the table, and a
    process that dies takes it along with its connection. Concurrent imports into one
    project each stage their own rows and insert them one after the other."""

    def __init__(self, *, project: Project):
        self.project = project
        self.staged = 0

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {_TEMP_STAGE}")
            cursor.execute(
                f"CREATE TABLE {_TEMP_STAGE} (seq integer PRIMARY KEY, "
                "external_id text, data text, gold text, random_key real, text_key text)"
            )
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {_TEMP_STAGE}")

    def write(self, rows: Rows) -> None:
        """Stage one batch of cleaned rows: (external_id, data, gold, random_key, text_key)."""
        start = self.staged
        self.staged += len(rows)
        values = [
            (
                start + n,
                external_id,
                json.dumps(data),
                None if gold is None else json.dumps(gold),
                key,
                text_key,
            )
            for n, (external_id, data, gold, key, text_key) in enumerate(rows)
        ]
        with connection.cursor() as cursor, temp_transaction(cursor):
            cursor.executemany(f"INSERT INTO {_TEMP_STAGE} VALUES (%s, %s, %s, %s, %s, %s)", values)

    def finish(self) -> int:
        """Insert the staged rows in one short transaction; returns how many were created."""
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Item._meta.db_table} ({_COLUMNS}, handed_out) "
                f"SELECT %s, external_id, data, gold, gold IS NOT NULL, %s, 0, 0, 0.0, "
                f"random_key, text_key, %s, 0 FROM {_TEMP_STAGE} WHERE true ORDER BY seq "
                "ON CONFLICT (project_id, external_id) DO NOTHING",
                [self.project.pk, Item.State.OPEN, now],
            )
            return int(cursor.rowcount)
