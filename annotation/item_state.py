"""The one rule for an item's queue state, derived from its counters.

An item is ``open`` while it has a free slot, ``leased`` while every missing annotation is
leased out, ``complete`` once it has ``overlap`` annotations. Gold items stay ``open``
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


def item_state(*, is_gold: bool, annotation_count: int, lease_count: int, overlap: int) -> str:
    """The queue state of an item with these counters."""
    if is_gold:
        return Item.State.OPEN.value
    if annotation_count >= overlap:
        return Item.State.COMPLETE.value
    if annotation_count < overlap - lease_count:
        return Item.State.OPEN.value
    return Item.State.LEASED.value


def item_state_case(*, overlap: int) -> Case:
    """:func:`item_state` of a non-gold item as an ORM expression over its counter columns
    (callers filter gold items out, or set their state apart)."""
    return Case(
        When(annotation_count__gte=overlap, then=Value(Item.State.COMPLETE)),
        When(annotation_count__lt=overlap - F("lease_count"), then=Value(Item.State.OPEN)),
        default=Value(Item.State.LEASED),
    )


STATE_CASE_SQL = (
    "CASE "
    "WHEN is_gold THEN %s "  # gold items stay open: every labeler may get them
    "WHEN annotation_count >= %s THEN %s "  # overlap reached
    "WHEN annotation_count < %s - lease_count THEN %s "  # a slot still free
    "ELSE %s END"
)
""":func:`item_state` in SQL, over the row's ``is_gold``, ``annotation_count`` and
``lease_count`` columns; parameters from :func:`state_case_params`."""


def state_case_params(*, overlap: int, d_annotations: int = 0, d_leases: int = 0) -> list[Any]:
    """Parameters of :data:`STATE_CASE_SQL`. Inside an UPDATE that also adds
    ``d_annotations`` and ``d_leases`` to the counters, the columns hold the values before
    the update, so the thresholds are shifted to give the state of the new counts."""
    return [
        Item.State.OPEN.value,
        overlap - d_annotations, Item.State.COMPLETE.value,
        overlap - d_annotations - d_leases, Item.State.OPEN.value,
        Item.State.LEASED.value,
    ]
