"""Labelers speak up: a flag on an item they were handed ("none of these labels fits",
"unsure", a broken item) and comments on items. Both are audited and shown in the item's
story; flags also count on the dashboard and per guideline version in the guideline editor."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotation.models import Item, ItemComment, ItemFlag
from annotation.services.audit import audit_record
from annotation.services.queue import own_assignment

MAX_FLAG_COMMENT = 2000
MAX_COMMENT = 5000


def item_flag_raise(
    *, assignment_id: int, user: Any, reason: str, comment: str = ""
) -> tuple[ItemFlag, bool]:
    """Flag the item of one of the caller's own assignments; returns (flag, created). The
    lease is left as it is: the labeler may still submit or skip. Flagging the same
    assignment again replaces the reason and comment (one flag per assignment). ``reason``
    and ``comment`` come validated (a choice of ``ItemFlag.Reason``, text)."""
    with transaction.atomic():
        # Locked: two flags of the same assignment at once update one row, never collide.
        assignment = own_assignment(assignment_id=assignment_id, user=user, lock=True)
        flag, created = ItemFlag.objects.update_or_create(
            assignment=assignment,
            defaults={"reason": reason, "comment": comment[:MAX_FLAG_COMMENT]},
            create_defaults={
                "project_id": assignment.project_id,
                "item_id": assignment.item_id,
                "user": user,
                "reason": reason,
                "comment": comment[:MAX_FLAG_COMMENT],
                "guideline_version": assignment.guideline_version,
            },
        )
        external_id = (
            Item.objects.filter(pk=assignment.item_id).values_list("external_id", flat=True).get()
        )
        audit_record(
            actor=user,
            action="item.flagged",
            project=assignment.project,
            target=external_id,
            details={
                "flag_id": flag.pk,
                "reason": reason,
                "comment": flag.comment,
                "guideline_version": flag.guideline_version,
                "replaced": not created,
            },
            item_id=assignment.item_id,
        )
    return flag, created


def item_comment_add(*, item: Item, author: Any, body: str) -> ItemComment:
    """A note on an item the caller may see (``selectors.item_for(purpose="comment")``
    decided that); ``body`` comes validated (non-blank text)."""
    with transaction.atomic():
        comment = ItemComment.objects.create(
            project_id=item.project_id, item=item, author=author, body=body[:MAX_COMMENT]
        )
        audit_record(
            actor=author,
            action="item.commented",
            project=item.project,
            target=item.external_id,
            details={"comment_id": comment.pk, "body": comment.body},
            item_id=item.pk,
        )
    return comment
