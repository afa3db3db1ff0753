"""The one rule for an item's queue state, derived from its counters.

An item is ``open`` while it has a free slot, ``leased`` while every missing annotation is
leased out, ``complete`` once it has ``overlap`` annotations (the project's overlap plus the
item's own ``extra_overlap``, raised by a bulk requeue). Gold items stay ``open``
(every labeler may get them). :func:`item_state` states the rule; :func:`item_state_case`
is the same rule as an ORM expression (bulk refreshes, marking gold) and
:data:`STATE_CASE_SQL` as the SQL fragment the hot ``submit``/``skip`` path writes inline
(``queue_sql.item_counters_update``). ``tests/annotation/test_item_state.py`` checks the
three agree on every counter combination.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, Value, When

from annotation.models import Item


def item_state(
    *, is_gold: bool, annotation_count: int, lease_count: int, overlap: int, extra_overlap: int = 0
) -> str:
    """The queue state of an item with these counters (``overlap``: the project's)."""
    overlap += extra_overlap
    if is_gold:
        return Item.State.OPEN.value
    if annotation_count >= overlap:
        return Item.State.COMPLETE.value
    if annotation_count < overlap - lease_count:
        return Item.State.OPEN.value
    return Item.State.LEASED.value


def item_state_case(
    *,
    overlap: int,
    d_annotations: int = 0,
    d_leases: int = 0,
    gold_open: bool = False,
    extra_overlap: Any = None,
) -> Case:
    """:func:`item_state` as an ORM expression over the counter columns. Inside an UPDATE
    that also adds ``d_annotations`` and ``d_leases`` to the counters, the thresholds are
    shifted as in :func:`state_case_params`. Gold items are left to the caller (filtered
    out, or their state set apart when the gold flag changes in the same UPDATE) unless
    ``gold_open``, which adds the rule's gold branch. ``extra_overlap``: the expression an
    UPDATE that also sets that column sets it to (by default the column)."""
    gold = [When(is_gold=True, then=Value(Item.State.OPEN))] if gold_open else []
    extra = F("extra_overlap") if extra_overlap is None else extra_overlap
    return Case(
        *gold,
        When(
            annotation_count__gte=Value(overlap - d_annotations) + extra,
            then=Value(Item.State.COMPLETE),
        ),
        When(
            annotation_count__lt=Value(overlap - d_annotations - d_leases)
            + extra
            - F("lease_count"),
            then=Value(Item.State.OPEN),
        ),
        default=Value(Item.State.LEASED),
    )


STATE_CASE_SQL = (
    "CASE "
    "WHEN is_gold THEN %s "  # gold items stay open: every labeler may get them
    "WHEN annotation_count >= %s + extra_overlap THEN %s "  # overlap reached
    "WHEN annotation_count < %s + extra_overlap - lease_count THEN %s "  # a slot still free
    "ELSE %s END"
)
""":func:`item_state` in SQL, over the row's ``is_gold``, ``annotation_count``,
``lease_count`` and ``extra_overlap`` columns; parameters from :func:`state_case_params`."""


def state_case_params(*, overlap: int, d_annotations: int = 0, d_leases: int = 0) -> list[Any]:
    """Parameters of :data:`STATE_CASE_SQL`. Inside an UPDATE that also adds
    ``d_annotations`` and ``d_leases`` to the counters, the columns hold the values before
    the update, so the thresholds are shifted to give the state of the new counts."""
    return [
        Item.State.OPEN.value,
        overlap - d_annotations,
        Item.State.COMPLETE.value,
        overlap - d_annotations - d_leases,
        Item.State.OPEN.value,
        Item.State.LEASED.value,
    ]
