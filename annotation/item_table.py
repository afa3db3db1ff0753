"""Reads: one page of the item table, by keyset (the last row's sort key and id), so page
1,000 costs what page 1 does; and the rows as the viewer may see them (private fields and
gold only for managers). The filters are :mod:`annotation.item_filters`'."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q
from django.utils.dateparse import parse_datetime

from annotation.errors import InvalidInput
from annotation.extensions import item_column_extensions
from annotation.item_filters import MANAGING, Ordering, items_matching, ordering_parse
from annotation.models import Item, ItemFlag, Project
from annotation.selectors import item_data_for

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
_DATETIMES = ("created_at", "updated_at")
_NUMBERS = ("priority", "confidence")
_INTEGERS = ("id", "annotation_count")


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (or, ``backward``, before) the row with this sort key
    and id, under this ordering."""

    ordering: str
    key: Any
    id: int
    backward: bool = False

    def encode(self) -> str:
        key = self.key.isoformat() if isinstance(self.key, datetime) else self.key
        raw = json.dumps([self.ordering, key, self.id, self.backward], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class ItemPage:
    rows: list[dict[str, Any]]
    next: Cursor | None
    previous: Cursor | None


def cursor_decode(value: str, ordering: Ordering) -> Cursor:
    """A ``cursor`` parameter; 400 naming it when it is not one of ours for this ordering."""
    bad = InvalidInput({"cursor": ["Not a cursor of this list; start again from the first page."]})
    try:
        raw = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        name, key, item_id, backward = raw
    except (ValueError, TypeError, binascii.Error):
        raise bad from None
    if name != ordering.param or not isinstance(item_id, int) or not isinstance(backward, bool):
        raise bad
    if ordering.name in _DATETIMES:
        key = parse_datetime(key) if isinstance(key, str) else None
    elif ordering.name in _NUMBERS:
        key = float(key) if isinstance(key, int | float) and not isinstance(key, bool) else None
    elif ordering.name in _INTEGERS:
        key = key if isinstance(key, int) and not isinstance(key, bool) else None
    elif not isinstance(key, str):
        key = None
    if key is None:
        raise bad
    return Cursor(ordering=name, key=key, id=item_id, backward=backward)


def _beyond(ordering: Ordering, cursor: Cursor, *, forward: bool) -> Q:
    """Rows after the cursor in the direction of travel. The key's own bound comes first
    so the database starts its index range there instead of filtering from the top."""
    ascending = ordering.descending != forward
    gt, gte = ("gt", "gte") if ascending else ("lt", "lte")
    if ordering.name == "id":
        return Q(**{f"id__{gt}": cursor.id})
    if ordering.unique:
        return Q(**{f"order_key__{gt}": cursor.key})
    return Q(**{f"order_key__{gte}": cursor.key}) & (
        Q(**{f"order_key__{gt}": cursor.key}) | Q(order_key=cursor.key, **{f"id__{gt}": cursor.id})
    )


def items_page(
    *,
    project: Project,
    params: Mapping[str, str],
    viewer: Any,
    role: str,
    limit: int = DEFAULT_LIMIT,
) -> ItemPage:
    """The page of the item table that ``params`` ask for (filters, ``ordering``,
    ``cursor``), at most ``limit`` rows."""
    ordering = ordering_parse(params.get("ordering"))
    items = items_matching(project, params, viewer, role=role)
    cursor = cursor_decode(params["cursor"], ordering) if params.get("cursor") else None
    backward = cursor is not None and cursor.backward
    if cursor is not None:
        items = items.filter(_beyond(ordering, cursor, forward=not backward))
    if backward:
        items = items.reverse()
    found = list(items[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    if backward:
        found.reverse()
    first, last = (found[0], found[-1]) if found else (None, None)
    next_cursor = previous_cursor = None
    if last is not None and (more or backward):
        next_cursor = Cursor(ordering.param, last.order_key, last.pk)  # type: ignore[attr-defined]
    if first is not None and cursor is not None and (more or not backward):
        previous_cursor = Cursor(ordering.param, first.order_key, first.pk, backward=True)  # type: ignore[attr-defined]
    if not found and cursor is not None:  # past an end: offer the way back
        way_back = Cursor(ordering.param, cursor.key, cursor.id, backward=not backward)
        next_cursor, previous_cursor = (way_back, None) if backward else (None, way_back)
    return ItemPage(
        rows=item_rows(project=project, items=found, role=role),
        next=next_cursor,
        previous=previous_cursor,
    )


def item_rows(*, project: Project, items: list[Item], role: str) -> list[dict[str, Any]]:
    """The rows as this viewer may see them, with the columns other apps add (one query
    per app, whatever the page's size)."""
    managing = role in MANAGING
    extra: dict[int, dict[str, Any]] = {item.pk: {} for item in items}
    ids = list(extra)
    flags = open_flag_counts(project=project, item_ids=ids)
    for columns in item_column_extensions() if ids else ():
        for item_id, values in columns(project=project, item_ids=ids).items():
            extra[item_id].update(values)
    rows = []
    for item in items:
        row: dict[str, Any] = {
            "id": item.pk,
            "external_id": item.external_id,
            "data": item_data_for(item.data, project=project, include_private=managing),
            "state": item.state,
            "annotation_count": item.annotation_count,
            "lease_count": item.lease_count,
            "priority": item.priority,
            "predicted": item.predicted_labels,
            "predicted_labels": item.predicted_labels,
            "confidence": item.confidence,
            "duplicate_group": item.duplicate_group,
            "created_at": item.created_at,
            "updated_at": item.updated_at,
            "label": None,
            "agreement": None,
            "reviewed": None,
            "flags": flags.get(item.pk, 0),
        }
        if managing:
            row["gold"] = item.gold
            row["is_gold"] = item.is_gold
        row.update(extra[item.pk])
        rows.append(row)
    return rows


def open_flag_counts(*, project: Project, item_ids: list[int]) -> dict[int, int]:
    """The open (unresolved) flags of each of these items, in one query (none when empty)."""
    if not item_ids:
        return {}
    rows = (
        ItemFlag.objects.filter(project=project, item_id__in=item_ids, resolved_at__isnull=True)
        .values("item_id")
        .annotate(n=Count("id"))
        .values_list("item_id", "n")
    )
    return dict(rows)


def page_limit(value: str | None) -> int:
    """The ``limit`` parameter: rows per page."""
    if value in (None, ""):
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise InvalidInput({"limit": [f"Use a whole number from 1 to {MAX_LIMIT}."]})
    return int(value)
