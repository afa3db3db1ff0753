"""The queue's hot statements, written out in SQL.

``next`` and ``submit`` run once per item labeled, by every labeler at once. Building
their statements with the ORM cost more CPU than the database spends running them (about
0.6 ms of query compilation each on the 2-core bench machine, most of a request), so the
statements on that path are plain SQL here, with the ORM's own value adapters and row
converters. The SQL is the same on PostgreSQL and SQLite except for row locks, which
SQLite does not have (its IMMEDIATE transactions serialise writers instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from annotation.item_state import STATE_CASE_SQL, state_case_params
from annotation.models import (
    Assignment,
    Guideline,
    GuidelineAck,
    Item,
    Label,
    Membership,
    Project,
)

ITEM = Item._meta.db_table
ASSIGNMENT = Assignment._meta.db_table
MEMBERSHIP = Membership._meta.db_table
PROJECT = Project._meta.db_table
LABEL = Label._meta.db_table
GUIDELINE = Guideline._meta.db_table
GUIDELINE_ACK = GuidelineAck._meta.db_table
ACTIVE = Assignment.State.ACTIVE.value
OPEN = Item.State.OPEN.value


def _lock(*, of: str | None = None, skip_locked: bool = False) -> str:
    if connection.vendor != "postgresql":
        return ""
    return " FOR UPDATE" + (f" OF {of}" if of else "") + (" SKIP LOCKED" if skip_locked else "")


def _dt(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


@dataclass(frozen=True)
class LabelerState:
    """What decides a labeler's ``next`` before any item is picked."""

    guideline_version: int | None  # the project's current guideline, None without one
    guideline_acked: bool
    own_assignment_id: int | None  # their oldest unexpired assignment (not the excluded one)
    expired_leases: bool  # whether the project has expired leases to sweep


@cache
def _labeler_state_sql() -> str:
    current = f"SELECT {{}} FROM {GUIDELINE} WHERE project_id = %s ORDER BY version DESC LIMIT 1"
    return (
        f"SELECT ({current.format('version')}), "
        f"EXISTS (SELECT 1 FROM {GUIDELINE_ACK} WHERE user_id = %s "
        f"AND guideline_id = ({current.format('id')})), "
        f"(SELECT id FROM {ASSIGNMENT} WHERE labeler_id = %s AND project_id = %s "
        f"AND state = '{ACTIVE}' AND expires_at > %s AND id <> %s "
        "ORDER BY created_at LIMIT 1), "
        f"EXISTS (SELECT 1 FROM {ASSIGNMENT} WHERE project_id = %s AND state = '{ACTIVE}' "
        "AND expires_at <= %s)"
    )


def labeler_state(
    *, project_id: int, user_id: int, now: datetime, excluding: int | None
) -> LabelerState:
    """The four questions that come before every claim, in one round trip."""
    sql = _labeler_state_sql()
    at = _dt(now)
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                project_id,
                user_id,
                project_id,
                user_id,
                project_id,
                at,
                excluding or 0,
                project_id,
                at,
            ],
        )
        version, acked, own, expired = cursor.fetchone()
    return LabelerState(version, bool(acked), own, bool(expired))


PICK_LOOKAHEAD = 50
_ITEM_COLUMNS = (
    "id, external_id, data, is_gold, predicted_labels, confidence, scored_by_version, suggested_by"
)
_NOT_MINE = (
    f"NOT EXISTS (SELECT 1 FROM {ASSIGNMENT} a WHERE a.item_id = {{}}.id AND a.labeler_id = %s)"
)


def handed_out_sql(*, project_id: int, user_id: int) -> tuple[str, list[Any]]:
    """The best open item someone was already handed, among the first ``PICK_LOOKAHEAD``
    of them, that this labeler has never held; locked so that concurrent claimers skip it.
    The inner scan reads the partial index ``item_handed_out_idx`` (its literal terms match
    the index's predicate) and stops after the look-ahead; the state is checked again on
    the locked row, so an item completed meanwhile is passed over, never handed out.

    A test seam: the queue runs :func:`pick_sql`; this half on its own is for the tests
    that check which index the plan uses (``tests/annotation/test_queue.py``)."""
    return _handed_out_text(), [project_id, user_id]


def fresh_sql(*, project_id: int) -> tuple[str, list[Any]]:
    """The best open item nobody was ever handed (``item_fresh_idx``): it needs no look at
    the labeler's history. A test seam, like :func:`handed_out_sql`."""
    return _fresh_text(), [project_id]


def pick_sql(*, project_id: int, user_id: int) -> tuple[str, list[Any]]:
    """:func:`handed_out_sql`, else :func:`fresh_sql`, in one round trip: the second part
    runs (and locks) only when the first finds nothing."""
    return _pick_text(), [project_id, user_id, project_id]


def anywhere_sql(*, project_id: int, user_id: int) -> tuple[str, list[Any]]:
    """The best handed-out item this labeler has never held, however far down it is."""
    return _anywhere_text(), [project_id, user_id]


# The statements' text depends only on the database vendor: built once per process.


@cache
def _handed_out_text() -> str:
    columns = ", ".join(f"i.{c.strip()}" for c in _ITEM_COLUMNS.split(","))
    return (
        f"SELECT {columns} FROM (SELECT id, priority, random_key FROM {ITEM} "
        f"WHERE project_id = %s AND state = '{OPEN}' AND NOT is_gold AND handed_out "
        f"ORDER BY priority DESC, random_key LIMIT {PICK_LOOKAHEAD}) t "
        f"JOIN {ITEM} i ON i.id = t.id WHERE i.state = '{OPEN}' AND {_NOT_MINE.format('i')} "
        "ORDER BY t.priority DESC, t.random_key LIMIT 1" + _lock(of="i", skip_locked=True)
    )


@cache
def _fresh_text() -> str:
    return (
        f"SELECT {_ITEM_COLUMNS} FROM {ITEM} WHERE project_id = %s AND state = '{OPEN}' "
        "AND NOT is_gold AND NOT handed_out ORDER BY priority DESC, random_key LIMIT 1"
        + _lock(skip_locked=True)
    )


@cache
def _pick_text() -> str:
    return (
        f"SELECT * FROM ({_handed_out_text()}) s UNION ALL "
        f"SELECT * FROM ({_fresh_text()}) f LIMIT 1"
    )


@cache
def _anywhere_text() -> str:
    return (
        f"SELECT {_ITEM_COLUMNS} FROM {ITEM} WHERE project_id = %s AND state = '{OPEN}' "
        f"AND NOT is_gold AND handed_out AND {_NOT_MINE.format(ITEM)} "
        "ORDER BY priority DESC, random_key LIMIT 1" + _lock(skip_locked=True)
    )


def waiting_sql(*, project_id: int, user_id: int) -> tuple[str, list[Any]]:
    """Any open item this labeler has never held, handed-out ones first, locked WITHOUT
    skipping rows others hold: the last word before answering that nothing is left."""
    return _waiting_text(), [project_id, user_id]


@cache
def _waiting_text() -> str:
    return (
        f"SELECT {_ITEM_COLUMNS} FROM {ITEM} WHERE project_id = %s AND state = '{OPEN}' "
        f"AND NOT is_gold AND {_NOT_MINE.format(ITEM)} "
        "ORDER BY handed_out DESC, priority DESC, random_key LIMIT 1" + _lock()
    )


def pick_open(*, project_id: int, user_id: int) -> Item | None:
    """The item to hand this labeler next, locked; None when nothing is left for them.

    First an item already handed out to others (or given back) that this labeler has not held, so
    that items reach their overlap instead of waiting behind newer ones, by priority; then
    the best item nobody has had. A labeler's own half-done items stay open until someone
    else answers them; a labeler far ahead of the others (alone on the project, say) would
    step over every one of them on each pick, so only the first ``PICK_LOOKAHEAD`` handed-out
    items are looked at before the fresh ones, and the rest of the handed-out items only when
    no fresh item is left.

    Skipping locked rows is what lets labelers claim in parallel, but a row can also be
    locked by a write that is not a claim (a scoring pass writing priorities, say); if
    such a write held every item left, the skipping picks would find nothing while items
    remain, and the labeler would be told the queue is finished. So on PostgreSQL "nothing"
    is only answered after one more pick that waits for row locks (a claim holds its row
    for milliseconds, a score write a batch at a time, see tasks.services.scoring). It
    runs only when the skipping picks found nothing, so the hot path is unchanged."""
    statements = [
        pick_sql(project_id=project_id, user_id=user_id),
        anywhere_sql(project_id=project_id, user_id=user_id),
    ]
    if connection.vendor == "postgresql":
        statements.append(waiting_sql(project_id=project_id, user_id=user_id))
    for sql, params in statements:
        item = next(iter(Item.objects.raw(sql, params)), None)
        if item is not None:
            return item
    return None


@cache
def _same_group_text() -> str:
    submitted = Assignment.State.SUBMITTED.value
    last_group = (
        f"SELECT it.duplicate_group FROM {ASSIGNMENT} a JOIN {ITEM} it ON it.id = a.item_id "
        f"WHERE a.project_id = %s AND a.labeler_id = %s AND a.state = '{submitted}' "
        "ORDER BY a.closed_at DESC LIMIT 1"
    )
    return (
        f"SELECT {_ITEM_COLUMNS} FROM {ITEM} WHERE project_id = %s "
        f"AND duplicate_group = ({last_group}) AND state = '{OPEN}' AND NOT is_gold "
        f"AND {_NOT_MINE.format(ITEM)} ORDER BY priority DESC, random_key LIMIT 1"
        + _lock(skip_locked=True)
    )


def pick_same_group(*, project_id: int, user_id: int) -> Item | None:
    """An open item of the near-duplicate group of the item this labeler submitted last
    (``Project.duplicates_back_to_back``), never one they held, locked like ``pick_open``'s
    picks; None when that item is in no group or the group has nothing left for them. One
    query: the last submit through ``assignment_history_idx``, the group through
    ``item_duplicate_group_idx``."""
    params = [project_id, project_id, user_id, user_id]
    return next(iter(Item.objects.raw(_same_group_text(), params)), None)


@cache
def _gold_text(*, matched: bool) -> str:
    order = (
        "ABS(COALESCE(confidence, -1.0) - CAST(%s AS DOUBLE PRECISION)), random_key"
        if matched
        else "random_key"
    )
    return (
        f"SELECT {_ITEM_COLUMNS} FROM {ITEM} WHERE project_id = %s AND is_gold "
        f"AND {_NOT_MINE.format(ITEM)} ORDER BY {order} LIMIT 1"
    )


def pick_gold(*, project_id: int, user_id: int, like: float | None) -> Item | None:
    """A gold item this labeler has never held (not locked: gold items stay open, every
    labeler may get each of them): the one whose suggestion confidence is nearest ``like``,
    the confidence of the regular item it stands in for; in the seeded random order when
    there is none (qualification, or an item not scored yet).

    The queue serves regular items by priority, the most uncertain first; gold items drawn
    at random would come with visibly surer suggestions. Matching the confidence of the
    item a gold item replaces gives served gold items the served items' confidences (and,
    with a calibrated model, the same share of right suggestions)."""
    params: list[Any] = [project_id, user_id]
    if like is not None:
        params.append(like)
    return next(iter(Item.objects.raw(_gold_text(matched=like is not None), params)), None)


@cache
def _insert_sql(model: type[Model]) -> tuple[str, tuple[Any, ...]]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    # Field.column is Optional in django-stubs; a concrete field always has one.
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)  # type: ignore[arg-type]
    marks = ", ".join(["%s"] * len(fields))
    return (f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({marks}) RETURNING id", fields)


def insert(model: type[Model], **values: Any) -> Any:
    """Insert one row the way ``Model.objects.create`` would (defaults, ``auto_now``, the
    fields' own value adapters) from SQL built once per model, and return the instance."""
    obj = model(**values)
    sql, fields = _insert_sql(model)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def assignment_for_submit(*, assignment_id: int, user_id: int) -> Assignment | None:
    """One of the caller's assignments, locked, with their current role in its project
    (``member_role``, None once they left it)."""
    sql = (
        f"SELECT a.*, m.role AS member_role FROM {ASSIGNMENT} a LEFT JOIN {MEMBERSHIP} m "
        "ON m.project_id = a.project_id AND m.user_id = a.labeler_id "
        "WHERE a.id = %s AND a.labeler_id = %s" + _lock(of="a")
    )
    return next(iter(Assignment.objects.raw(sql, [assignment_id, user_id])), None)


def project_with_label_names(*, project_id: int) -> tuple[Project, list[str]]:
    """A project and its label names in display order, in one query (no names if the
    project has no labels left: then every answer is refused by name, not with an error).
    The hot path's own copy of ``annotation.selectors.label_names_of``, joined into the
    project's query to save a round trip; same order."""
    sql = (
        f"SELECT p.*, l.name AS label_name FROM {PROJECT} p LEFT JOIN {LABEL} l "
        'ON l.project_id = p.id WHERE p.id = %s ORDER BY l."order", l.id'
    )
    rows = list(Project.objects.raw(sql, [project_id]))
    # label_name: a column of the raw query, not a field of Project.
    return rows[0], [row.label_name for row in rows if row.label_name is not None]  # type: ignore[attr-defined]


def assignment_close(*, assignment_id: int, state: str, now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ASSIGNMENT} SET state = %s, closed_at = %s WHERE id = %s",
            [state, _dt(now), assignment_id],
        )


_COUNTERS_SQL = (
    f"UPDATE {ITEM} SET annotation_count = annotation_count + %s, "
    f"lease_count = lease_count + %s, handed_out = (handed_out OR %s), state = {STATE_CASE_SQL}, "
    "updated_at = %s WHERE id = %s"
)


def item_counters_update(*, item_id: int, overlap: int, d_annotations: int, d_leases: int) -> None:
    """Move an item's counters and recompute its state in the same UPDATE statement.

    The state is :mod:`annotation.item_state`'s rule, computed from the new counts; the
    item's last activity (``updated_at``) is now."""
    with connection.cursor() as cursor:
        cursor.execute(
            _COUNTERS_SQL,
            [
                d_annotations,
                d_leases,
                d_leases > 0,
                *state_case_params(overlap=overlap, d_annotations=d_annotations, d_leases=d_leases),
                _dt(timezone.now()),
                item_id,
            ],
        )
