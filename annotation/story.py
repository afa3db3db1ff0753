"""One item's story, read: its data and state, its gold answer, every annotation with its
provenance, the skips, flags and comments, the team's own predictions and the audit of
changes to it; the apps above add theirs (quality: the review decisions; tasks: the project
model's predictions over versions) through ``annotation.extensions.story_sections``.

A fixed number of queries whatever the number of annotations or model versions: one per
part, each a ``values()`` read with its user names joined. Managers and admins read all;
reviewers (who may label too) read every item, as the item table lists them, but not what
would tell them which items are gold or what a labeler may not see: no private field, no
gold answer, no suggestion that was hidden from a labeler, no model prediction, no audit.
The previous and next item of the list the reader came from are ``item_neighbours``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import F, Q

from annotation.errors import InvalidInput
from annotation.extensions import story_sections
from annotation.item_filters import items_matching, ordering_parse
from annotation.models import (
    Annotation,
    Assignment,
    AuditEvent,
    Item,
    ItemComment,
    ItemFlag,
    ItemPrediction,
    Project,
)
from annotation.selectors import MANAGING_ROLES, item_data_for
from annotation.services.queue import visible_suggestion

MAX_AUDIT_EVENTS = 200


def _annotations(item: Item, *, full: bool) -> list[dict[str, Any]]:
    rows = (
        Annotation.objects.filter(item_id=item.pk)
        .order_by("id")
        .values(
            "id",
            "labeler__username",
            "labels",
            "guideline_version",
            "duration_ms",
            "suggestion",
            "is_counted",
            "created_at",
            "updated_at",
            "assignment__created_at",
        )
    )
    out = []
    for row in rows:
        suggestion = row["suggestion"] if full else visible_suggestion(row["suggestion"])
        out.append(
            {
                "id": row["id"],
                "annotator": row["labeler__username"],
                "labels": row["labels"],
                "created_at": row["created_at"],
                "updated_at": row["updated_at"],
                "handed_out_at": row["assignment__created_at"],
                "guideline_version": row["guideline_version"],
                "duration_ms": row["duration_ms"],
                # Managers: the suggestion as recorded, with ``shown`` (false: hidden in
                # the A/B test). Others: only what the labeler was shown.
                "suggestion": suggestion,
                "counts": row["is_counted"],
            }
        )
    return out


def _skips(item: Item) -> list[dict[str, Any]]:
    return [
        dict(row)
        for row in Assignment.objects.filter(item_id=item.pk, state=Assignment.State.SKIPPED)
        .order_by("closed_at", "id")
        .values(
            "guideline_version",
            user=F("labeler__username"),
            reason=F("skip_reason"),
            at=F("closed_at"),
        )
    ]


def _flags(item: Item) -> list[dict[str, Any]]:
    rows = (
        ItemFlag.objects.filter(item_id=item.pk)
        .order_by("id")
        .values(
            "id",
            "reason",
            "comment",
            "guideline_version",
            "created_at",
            "resolved_at",
            "user__username",
            "resolved_by__username",
        )
    )
    # "user" and "resolved_by" are the model's own field names, so they cannot be aliases.
    return [
        {
            **{k: v for k, v in row.items() if not k.endswith("__username")},
            "user": row["user__username"],
            "resolved_by": row["resolved_by__username"],
        }
        for row in rows
    ]


def _comments(item: Item) -> list[dict[str, Any]]:
    rows = (
        ItemComment.objects.filter(item_id=item.pk)
        .order_by("id")
        .values("id", "body", "created_at", "author__username")
    )
    return [
        {
            "id": r["id"],
            "author": r["author__username"],
            "body": r["body"],
            "created_at": r["created_at"],
        }
        for r in rows
    ]


def _team_predictions(item: Item) -> list[dict[str, Any]]:
    """The team's own model's predictions (imported or from its endpoint), oldest first."""
    rows = (
        ItemPrediction.objects.filter(project_id=item.project_id, item_id=item.pk)
        .order_by("id")
        .values("source", "model_version", "labels", "score", at=F("created_at"))
    )
    return [{**row, "current": False} for row in rows]


def _audit(item: Item) -> list[dict[str, Any]]:
    rows = (
        AuditEvent.objects.filter(item_id=item.pk)
        .order_by("-id")
        .values("id", "created_at", "actor__username", "action", "details")[:MAX_AUDIT_EVENTS]
    )
    return [
        {
            "id": row["id"],
            "at": row["created_at"],
            "actor": row["actor__username"],
            "action": row["action"],
            "details": row["details"],
        }
        for row in rows
    ]


def item_story(*, item: Item, role: str) -> dict[str, Any]:
    """The story of an item the caller may read (``selectors.item_for(purpose="story")``
    decided that); ``item.project`` must be loaded with it."""
    full = role in MANAGING_ROLES
    project = item.project
    story: dict[str, Any] = {
        "id": item.pk,
        "external_id": item.external_id,
        "project": item.project_id,
        "data": item_data_for(item.data, project=project, include_private=full),
        "data_erased": item.data_erased_at is not None,
        "state": item.state,
        "created_at": item.created_at,
        "annotation_count": item.annotation_count,
        "gold": item.gold if full else None,
        "annotations": _annotations(item, full=full),
        "skips": _skips(item),
        "flags": _flags(item),
        "comments": _comments(item),
        "review": None,
        "reviews": [],
        "predictions": _team_predictions(item) if full else [],
        "audit": _audit(item) if full else [],
    }
    if full:
        story["priority"] = item.priority
        story["duplicate_group"] = item.duplicate_group
        # The newest prediction of the team's model that serves as the item's suggestion.
        for prediction in reversed(story["predictions"]):
            if item.suggested_by == f"{prediction['source']}:{prediction['model_version']}":
                prediction["current"] = True
                break
    for section in story_sections():
        for key, value in section(item=item, role=role).items():
            if isinstance(value, list) and isinstance(story.get(key), list):
                story[key].extend(value)
            else:
                story[key] = value
    return story


def item_neighbours(
    *, project: Project, item: Item, viewer: Any, role: str, params: Mapping[str, str]
) -> tuple[int | None, int | None]:
    """The ids of the items before and after ``item`` in the item table under ``params``
    (its filters and ``ordering``, ties by id): keyset reads from the item's own sort key,
    so they cost what the list's first page costs wherever the item is (three queries).
    Parameters the table refuses give no neighbours (None, None)."""
    filters = {k: v for k, v in params.items() if k not in ("cursor", "limit", "offset")}
    try:
        ordering = ordering_parse(filters.get("ordering"))
        items = items_matching(project, filters, viewer, role=role)
    except InvalidInput:
        return None, None
    key = (
        Item.objects.filter(pk=item.pk)
        .annotate(order_key=ordering.key)
        .values_list("order_key", flat=True)
        .first()
    )
    # The keyset as a range on the sort key (which the (project, key, id) index serves) and
    # the tie rule inside it: a bare "key > v OR (key = v AND id > x)" is read by a scan.
    after = Q(order_key__gte=key) & (Q(order_key__gt=key) | Q(id__gt=item.pk))
    before = Q(order_key__lte=key) & (Q(order_key__lt=key) | Q(id__lt=item.pk))
    if ordering.descending:
        after, before = before, after
    ids = items.values_list("id", flat=True)
    following = ids.filter(after).first()  # the list's own order
    reverse = (F("order_key").asc(), F("id").asc())
    if not ordering.descending:
        reverse = (F("order_key").desc(), F("id").desc())
    preceding = ids.filter(before).order_by(*reverse).first()
    return preceding, following
