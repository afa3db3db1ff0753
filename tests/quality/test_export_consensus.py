"""The export's majority vote is the quality report's consensus: one rule, same answers.

On the same annotations (single- and multi-label, with ties, unvoted items and annotations
that do not count), each exported record's label, tie and confidence equal what
``project_consensus`` (the quality report's and review queue's consensus) gives the item,
and training takes the same labels. A pure-Python copy of the export's former per-item rule
checks, on random votes cut into chunks, that moving the rule changed no answer."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from annotation.models import Item
from annotation.services.exports import export_records
from quality.export_aggregation import export_aggregator, majority_aggregator
from quality.services.review import project_consensus
from tasks.services.training import training_set
from tests.quality.helpers import annotate


def _records(project: Any) -> dict[int, dict[str, Any]]:
    by_external = {
        r["external_id"]: r
        for r in export_records(
            project=project,
            aggregate=export_aggregator(project=project, aggregation="majority"),
            state="all",
        )
    }
    return {item.pk: by_external[item.external_id] for item in Item.objects.filter(project=project)}


def _assert_export_is_consensus(project: Any) -> dict[int, dict[str, Any]]:
    records = _records(project)
    a, result = project_consensus(project=project, method="majority")
    names = a.label_names
    seen = set()
    for i, item_id in enumerate(a.item_ids.tolist()):
        record = records[item_id]
        seen.add(item_id)
        chosen = [names[j] for j in np.flatnonzero(result.chosen[i])]
        ties = [names[j] for j in np.flatnonzero(result.tie_labels[i])]
        assert record["confidence"] == result.confidence[i]
        if project.is_multi_label:
            assert record["labels"] == chosen
            assert "tie" not in record  # a half-and-half label is simply not chosen
        elif result.tied[i]:
            assert (record["label"], record["labels"], record["tie"]) == (None, None, ties)
        else:
            assert (record["label"], record["labels"]) == (chosen[0], chosen)
            assert "tie" not in record
    for item_id, record in records.items():
        if item_id not in seen:  # no counted annotation: no aggregate
            assert (record["labels"], record["confidence"]) == (None, None)
    return records


@pytest.mark.django_db
def test_single_label_export_equals_the_report_consensus(make_project, make_user, add_member):
    project = make_project(labels=("pos", "neg", "meh"), items=7, overlap=4)
    users = [add_member(project, make_user()) for _ in range(4)]
    votes = [
        ["pos", "pos", "pos"],  # agreed
        ["pos", "neg", "pos"],  # 2 of 3
        ["pos", "neg"],  # a tie
        ["neg", "meh", "meh", "neg"],  # a tie of two, the third label out
        ["pos", "neg", "meh"],  # a three-way tie
        ["meh"],
    ]  # one vote; item 6 has none
    items = list(Item.objects.filter(project=project).order_by("id"))
    for item, labels in zip(items, votes, strict=False):
        for user, label in zip(users, labels, strict=False):
            annotate(project=project, item=item, user=user, labels=[label])
    # An annotation that does not count (an unqualified labeler) changes nothing.
    annotate(project=project, item=items[2], user=users[3], labels=["pos"], counts=False)

    records = _assert_export_is_consensus(project)
    got = {
        item.external_id: (
            records[item.pk]["label"],
            records[item.pk]["confidence"],
            records[item.pk].get("tie"),
        )
        for item in items
    }
    assert got == {
        "i0": ("pos", 1.0, None),
        "i1": ("pos", 2 / 3, None),
        "i2": (None, 0.5, ["pos", "neg"]),
        "i3": (None, 0.5, ["neg", "meh"]),
        "i4": (None, 1 / 3, ["pos", "neg", "meh"]),
        "i5": ("meh", 1.0, None),
        "i6": (None, None, None),
    }
    labeled = training_set(project=project)
    assert dict(zip(labeled.item_ids, labeled.labels, strict=True)) == {
        item.pk: records[item.pk]["label"] for item in items if records[item.pk]["label"]
    }


@pytest.mark.django_db
def test_multi_label_export_equals_the_report_consensus(make_project, make_user, add_member):
    project = make_project(labels=("a", "b", "c"), items=5, overlap=4, kind="multi_label")
    users = [add_member(project, make_user()) for _ in range(4)]
    votes = [
        [["a", "b"], ["a", "b"], ["a"]],  # a 3/3, b 2/3, c 0/3
        [["a"], ["b"]],  # a and b half and half: neither chosen
        [["a", "c"], [], ["c"], ["a"]],  # a half, c half, b none
        [["b"]],
    ]  # one vote; item 4 has none
    items = list(Item.objects.filter(project=project).order_by("id"))
    for item, answers in zip(items, votes, strict=False):
        for user, labels in zip(users, answers, strict=False):
            annotate(project=project, item=item, user=user, labels=labels)

    records = _assert_export_is_consensus(project)
    got = {
        item.external_id: (records[item.pk]["labels"], records[item.pk]["confidence"])
        for item in items
    }
    assert got == {
        "i0": (["a", "b"], pytest.approx((1 + 2 / 3 + 1) / 3)),
        "i1": ([], pytest.approx((0.5 + 0.5 + 1) / 3)),
        "i2": ([], pytest.approx((0.5 + 1 + 0.5) / 3)),
        "i3": (["b"], 1.0),
        "i4": (None, None),
    }
    labeled = training_set(project=project)
    assert dict(zip(labeled.item_ids, labeled.labels, strict=True)) == {
        item.pk: records[item.pk]["labels"] for item in items[:4]
    }


def _former_per_item_rule(
    label_lists: list[list[str]], label_names: list[str], multi: bool
) -> tuple[Any, Any, dict]:
    """The export's majority vote as it was written before it moved to the report's rule."""
    if not label_lists:
        return None, None, {}
    n = len(label_lists)
    counts: dict[str, int] = {}
    for labels in label_lists:
        for name in labels:
            counts[name] = counts.get(name, 0) + 1
    if multi:
        chosen = [name for name in label_names if counts.get(name, 0) * 2 > n]
        shares = [max(counts.get(name, 0), n - counts.get(name, 0)) / n for name in label_names]
        return chosen, sum(shares) / len(shares), {}
    best = max(counts.values())
    winners = [name for name in label_names if counts.get(name) == best]
    if len(winners) > 1:
        return None, best / n, {"tie": winners}
    return winners, best / n, {}


@pytest.mark.parametrize("multi", [False, True])
def test_chunked_majority_gives_the_former_per_item_answers(multi: bool) -> None:
    rng = random.Random(11)
    names = ["w", "x", "y", "z"]
    aggregate = majority_aggregator(
        project=SimpleNamespace(is_multi_label=multi), label_names=names
    )
    lists = []
    for _ in range(3000):
        n = rng.choice([0, 1, 2, 2, 3, 4, 5, 6])
        lists.append(
            [
                rng.sample(names, rng.randint(0, 3)) if multi else [rng.choice(names)]
                for _ in range(n)
            ]
        )
    ids = list(range(len(lists)))
    got = []
    for start in range(0, len(ids), 700):  # chunks, the last one short
        got.extend(aggregate(ids[start : start + 700], lists[start : start + 700]))
    expected = [_former_per_item_rule(x, names, multi) for x in lists]
    assert got == expected
    assert any("tie" in extra for _, _, extra in got) != multi
    assert aggregate([], []) == []
