"""Bulk writes of item scores in raw SQL: the learning loop's priorities and predictions
for many items at once (measured in bench/README.md, "Big writes and the queue"). The
core owns the items table; the learning loop calls this to write its scores."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import connection

from annotation.models import Item

if TYPE_CHECKING:  # the learning loop passes numpy arrays; the core does not import numpy
    import numpy as np
    import numpy.typing as npt


def item_scores_write(
    *,
    ids: Sequence[int],
    priority: Sequence[float] | npt.NDArray[np.float64],
    labels: Sequence[Any] | None,
    confidence: Sequence[float | None] | npt.NDArray[np.float64] | None,
    scored_by_version: int | None,
    suggested_by: Sequence[str | None] | None = None,
) -> None:
    """Write priorities (and predictions) of many items in one statement per call. With
    ``labels``, ``suggested_by`` names a team's own model per item (a project model's
    predictions leave it NULL, so they replace the team's suggestions).

    On PostgreSQL: one UPDATE ... FROM unnest(...) bounded to the ids' range (so the join reads
    that range through the primary key, not the whole table), skipping rows that already hold
    the same values (a re-score by the same model rewrites nothing)."""
    # The only name formatted into the SQL below: our own table, never input.
    table = connection.ops.quote_name(Item._meta.db_table)
    ids = [int(i) for i in ids]
    prio = [float(p) for p in priority]
    if not ids:
        return
    if connection.vendor == "postgresql":
        bounds = [min(ids), max(ids)]
        with connection.cursor() as cursor:
            if labels is None:
                cursor.execute(
                    f"UPDATE {table} AS i SET priority = v.p FROM "
                    "unnest(%s::bigint[], %s::float8[]) AS v(id, p) WHERE i.id = v.id "
                    "AND i.id BETWEEN %s AND %s AND i.priority IS DISTINCT FROM v.p",
                    [ids, prio, *bounds],
                )
            else:
                cursor.execute(
                    f"UPDATE {table} AS i SET priority = v.p, predicted_labels = v.l, "
                    "confidence = v.c, scored_by_version = %s, suggested_by = v.s "
                    "FROM (SELECT u.id, u.p, u.l::jsonb AS l, u.c, u.s FROM unnest("
                    "%s::bigint[], %s::float8[], %s::text[], %s::float8[], %s::text[]) "
                    "AS u(id, p, l, c, s)) AS v WHERE i.id = v.id AND i.id BETWEEN %s AND %s "
                    "AND (i.priority, i.predicted_labels, i.confidence, i.scored_by_version, "
                    "i.suggested_by) IS DISTINCT FROM (v.p, v.l, v.c, %s, v.s)",
                    [
                        scored_by_version,
                        ids,
                        prio,
                        _label_texts(labels),
                        _floats(confidence, len(ids)),
                        _sources(suggested_by, len(ids)),
                        *bounds,
                        scored_by_version,
                    ],
                )
        return
    with connection.cursor() as cursor:
        if labels is None:
            cursor.executemany(
                f"UPDATE {table} SET priority = %s WHERE id = %s", list(zip(prio, ids, strict=True))
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET priority = %s, predicted_labels = %s, "
                "confidence = %s, scored_by_version = %s, suggested_by = %s WHERE id = %s",
                [
                    (p, lab, c, scored_by_version, s, i)
                    for p, lab, c, s, i in zip(
                        prio,
                        _label_texts(labels),
                        _floats(confidence, len(ids)),
                        _sources(suggested_by, len(ids)),
                        ids,
                        strict=True,
                    )
                ],
            )


def _floats(values: Any, n: int) -> list[float | None]:
    """Confidences as floats (a team's prediction may have no score: NULL)."""
    if values is None:
        return []
    return [None if v is None else float(v) for v in values]


def _sources(values: Sequence[str | None] | None, n: int) -> list[str | None]:
    return [None] * n if values is None else list(values)


def item_suggestions_clear(*, project_id: int) -> int:
    """Take every suggestion a team's own model made off the project's items (and the
    priority it gave them); returns how many items changed."""
    return Item.objects.filter(project_id=project_id, suggested_by__isnull=False).update(
        predicted_labels=None, confidence=None, suggested_by=None, priority=0.0
    )


def _label_texts(labels: Sequence[Any]) -> list[str]:
    """JSON of each row's labels; rows mostly share a few label sets (lists of label names),
    so each of those is dumped once."""
    memo: dict[tuple[str, ...], str] = {}
    out = []
    for value in labels:
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            key = tuple(value)
            text = memo.get(key)
            if text is None:
                text = memo[key] = json.dumps(value)
            out.append(text)
        else:
            out.append(json.dumps(value))
    return out
