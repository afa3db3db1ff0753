"""Writes to a project's items outside the labeling path: marking an item gold."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Value
from django.utils import timezone

from annotation.errors import InvalidInput, NotFound
from annotation.item_state import item_state_case
from annotation.models import Annotation, Assignment, Item, Project
from annotation.selectors import label_names_of
from annotation.services.audit import audit_record
from annotation.services.queue import labels_validate


@transaction.atomic
def item_gold_set(*, project: Project, item_id: int, actor: Any, gold: Any) -> Item:
    """Mark an item gold with its answer (or unmark it with ``None``)."""
    item = Item.objects.select_for_update().filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound({"detail": "Item not found."})
    if gold is None:
        clean = None
    else:
        if isinstance(gold, str):
            gold = [gold]
        try:
            clean = labels_validate(
                project=project, labels=gold, label_names=label_names_of(project=project)
            )
        except InvalidInput as exc:
            raise InvalidInput({"gold": exc.detail.get("labels", exc.detail)}) from None
    is_gold = clean is not None
    Item.objects.filter(pk=item.pk).update(
        gold=clean,
        is_gold=is_gold,
        updated_at=timezone.now(),
        # the gold flag changes in this same UPDATE, so its branch of the rule is chosen here
        state=(Value(Item.State.OPEN) if is_gold else item_state_case(overlap=project.overlap)),
    )
    Assignment.objects.filter(item_id=item.pk).update(is_gold=is_gold)
    Annotation.objects.filter(item_id=item.pk).update(is_gold=is_gold)
    audit_record(
        actor=actor,
        action="item.gold_set",
        project=project,
        target=item.external_id,
        details={"item_id": item.pk, "gold": clean, "before": item.gold},
        item_id=item.pk,
    )
    item.refresh_from_db()
    return item
