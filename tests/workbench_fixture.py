"""A hand-built project for the item table's tests (tests/annotation/test_item_filters.py,
tests/annotation/test_api_item_table.py, tests/quality/test_item_table.py): items a..g with
known text, fields, answers, skips, flags, predictions, gold, groups and import batches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from annotation.models import Annotation, Assignment, AuditEvent, Item, ItemComment, ItemFlag
from annotation.services.imports import items_import_records

TEXTS = {
    "a": "The quick brown fox jumps over the lazy dog",
    "b": "A lazy afternoon by the river",
    "c": "Foxes are quick and clever animals",
    "d": "Stock markets fell sharply today",
    "e": "The river flooded the market square",
    "f": "Nothing to see here",
}


@pytest.fixture
def bench(make_project, make_user, add_member) -> dict[str, Any]:
    """Six items a..f with known annotations, skips, predictions, gold and groups."""
    project = make_project(labels=("pos", "neg", "odd"), private_fields=["secret"])
    items_import_records(
        project=project,
        records=[
            {
                "external_id": key,
                "text": text,
                "lang": "fr" if key in "bd" else "en",
                "stars": 5 if key == "c" else 3,
                "secret": f"codename{key}",
            }
            for key, text in TEXTS.items()
        ],
    )
    later = items_import_records(
        project=project, records=[{"external_id": "g", "text": "late arrival"}]
    )
    assert later.created == 1
    users = {
        name: add_member(project, make_user(name), role)
        for name, role in (("alice", "labeler"), ("bob", "labeler"), ("rev", "reviewer"))
    }
    items = {i.external_id: i for i in Item.objects.filter(project=project)}
    now = timezone.now()

    def annotate(key: str, user: str, labels: list[str]) -> None:
        Annotation.objects.create(
            project=project, item=items[key], labeler=users[user], labels=labels
        )

    annotate("a", "alice", ["pos"])
    annotate("a", "bob", ["pos"])
    annotate("b", "alice", ["pos"])
    annotate("b", "bob", ["neg"])
    annotate("c", "bob", ["neg"])
    for key, count in (("a", 2), ("b", 2), ("c", 1)):
        Item.objects.filter(pk=items[key].pk).update(annotation_count=count)
    for key, user, reason in (("d", "alice", "unclear"), ("e", "bob", "offensive")):
        Assignment.objects.create(
            project=project,
            item=items[key],
            labeler=users[user],
            state=Assignment.State.SKIPPED,
            skip_reason=reason,
            expires_at=now,
        )
    Item.objects.filter(pk=items["f"].pk).update(gold=["odd"], is_gold=True)
    for key, labels, confidence, priority in (
        ("a", ["pos"], 0.9, 0.5),
        ("b", ["neg"], 0.55, 0.5),
        ("c", ["neg"], 0.7, 0.9),
        ("d", ["pos"], 0.55, 0.1),
    ):
        Item.objects.filter(pk=items[key].pk).update(
            predicted_labels=labels, confidence=confidence, priority=priority
        )
    Item.objects.filter(pk__in=[items["a"].pk, items["c"].pk]).update(duplicate_group=items["a"].pk)
    for n, key in enumerate("fedcbag"):  # last activity: f oldest ... g newest
        Item.objects.filter(pk=items[key].pk).update(
            updated_at=now - timedelta(hours=1, seconds=-n)
        )
    for key, second in zip("abcdefg", (0, 0, 1, 2, 2, 2, 0), strict=True):  # ties: a, b, g
        Item.objects.filter(pk=items[key].pk).update(
            created_at=now - timedelta(days=1, seconds=-second)
        )
    ItemFlag.objects.create(
        project=project, item=items["c"], user=users["bob"], reason=ItemFlag.Reason.NONE_FITS
    )
    ItemFlag.objects.create(
        project=project,
        item=items["d"],
        user=users["alice"],
        reason=ItemFlag.Reason.UNSURE,
        resolved_at=now,
    )
    ItemComment.objects.create(project=project, item=items["e"], author=users["bob"], body="?")
    ItemComment.objects.create(project=project, item=items["g"], author=users["alice"], body="!")
    batch = AuditEvent.objects.filter(project=project, action="items.imported").order_by("id")
    return {
        "project": project,
        "users": users,
        "items": items,
        "first_batch": batch[0].pk,
        "second_batch": batch[1].pk,
    }
