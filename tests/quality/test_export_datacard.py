"""Export with aggregation=dawid_skene (confidence is the posterior), the data card of a
label set, and marking gold after import."""

from __future__ import annotations

import json

import numpy as np
import pytest

from annotation.models import Item, LabelSet
from quality import metrics
from quality.aggregation import dawid_skene
from quality.labelsets import labelset_build, labelset_request
from tests.quality.helpers import annotate

LABELS = ("pos", "neg", "meh")


def _planted(make_project, make_user, add_member, *, n_items=30, **settings):
    project = make_project(labels=LABELS, items=n_items, overlap=3, **settings)
    users = [add_member(project, make_user(f"a{k}")) for k in range(4)]
    items = list(Item.objects.filter(project=project).order_by("id"))
    rng = np.random.default_rng(7)
    rows = []
    for i, item in enumerate(items):
        truth = i % 3
        for k in rng.choice(4, size=3, replace=False):
            # a0, a1 reliable; a2 random; a3 adversarial (always the next label).
            label = (
                truth
                if k < 2 and rng.random() < 0.9
                else int(rng.integers(3))
                if k == 2
                else (truth + 1) % 3
            )
            annotate(
                project=project,
                item=item,
                user=users[k],
                labels=[LABELS[label]],
                suggestion={"labels": ["pos"], "confidence": 0.5, "model_version": 2, "shown": True}
                if i < 5
                else None,
                guideline_version=1 + (i >= 15),
            )
            rows.append((i, int(k), label))
    return project, items, np.asarray(rows)


def _export(api, manager, project, aggregation):
    response = api(manager).get(
        f"/api/v1/projects/{project.pk}/export/?format=jsonl&aggregation={aggregation}"
    )
    assert response.status_code == 200
    return [json.loads(x) for x in b"".join(response.streaming_content).splitlines()]


def test_dawid_skene_export(api, make_project, make_user, manager, add_member):
    project, items, rows = _planted(make_project, make_user, add_member)
    records = _export(api, manager, project, "dawid_skene")
    fit = dawid_skene(rows[:, 0], rows[:, 1], rows[:, 2], len(items), 4, 3)
    assert len(records) == len(items)
    for i, record in enumerate(records):
        assert record["label"] == LABELS[fit.labels[i]]
        assert record["confidence"] == pytest.approx(fit.posteriors[i].max(), abs=1e-9)
        assert record["posterior"][record["label"]] == pytest.approx(record["confidence"], abs=1e-6)
    truth = [LABELS[i % 3] for i in range(len(items))]
    ds_right = sum(r["label"] == t for r, t in zip(records, truth, strict=True))
    majority = _export(api, manager, project, "majority")
    mv_right = sum(r["label"] == t for r, t in zip(majority, truth, strict=True))
    assert ds_right >= mv_right  # the adversary is undone, not just outvoted


def test_dawid_skene_multi_label(api, make_project, make_user, manager, add_member):
    project = make_project(labels=("a", "b"), items=2, overlap=2, kind="multi_label")
    u, v = add_member(project, make_user()), add_member(project, make_user())
    i0, i1 = Item.objects.filter(project=project).order_by("id")
    for user in (u, v):
        annotate(project=project, item=i0, user=user, labels=["a", "b"])
        annotate(project=project, item=i1, user=user, labels=["b"])
    records = {r["external_id"]: r for r in _export(api, manager, project, "dawid_skene")}
    assert records[i0.external_id]["labels"] == ["a", "b"]
    assert records[i1.external_id]["labels"] == ["b"]
    assert 0.5 < records[i1.external_id]["confidence"] <= 1.0


def test_unknown_aggregation_is_a_400(api, make_project, manager):
    project = make_project(items=1)
    response = api(manager).get(f"/api/v1/projects/{project.pk}/export/?aggregation=vote")
    assert response.status_code == 400


def test_data_card(make_project, make_user, manager, add_member):
    from tasks.models import ModelVersion

    project, _items, rows = _planted(make_project, make_user, add_member, aggregation="dawid_skene")
    ModelVersion.objects.create(
        project=project, version=2, state="active", strategy="margin", n_labels=40
    )
    labelset = labelset_request(
        project=project, actor=manager, fmt="jsonl", aggregation="dawid_skene", state="labeled"
    )
    labelset_build(labelset_id=labelset.pk)
    card = LabelSet.objects.get(pk=labelset.pk).data_card
    assert card["items"] == 30 and card["annotations"] == 90
    assert card["annotators"] == 4
    counts = np.bincount(rows[:, 2], minlength=3)
    assert card["label_distribution"] == {name: int(counts[j]) for j, name in enumerate(LABELS)}
    assert card["agreement"]["krippendorff_alpha"] == pytest.approx(
        metrics.krippendorff_alpha_nominal(rows[:, 0], rows[:, 1], rows[:, 2]), abs=1e-12
    )
    low, high = card["agreement"]["krippendorff_alpha_interval"]
    assert low <= card["agreement"]["krippendorff_alpha"] <= high
    assert card["guideline_versions"] == [1, 2]
    assert [m["version"] for m in card["model_versions"]] == [2]
    assert card["model_versions"][0]["strategy"] == "margin"
    assert card["aggregation"] == "dawid_skene"
    assert card["filters"] == {"state": "labeled"}
    json.dumps(card, allow_nan=False)


def test_mark_gold_after_import(api, make_project, manager, labeler, add_member):
    project = make_project(labels=("pos", "neg"), items=2)
    add_member(project, labeler)
    item = Item.objects.filter(project=project).first()
    url = f"/api/v1/projects/{project.pk}/items/{item.pk}/gold/"
    assert api(labeler).patch(url, {"gold": ["pos"]}, format="json").status_code == 403
    bad = api(manager).patch(url, {"gold": ["nope"]}, format="json")
    assert bad.status_code == 400 and "gold" in bad.json()
    ok = api(manager).patch(url, {"gold": "pos"}, format="json")
    assert ok.status_code == 200, ok.content
    item.refresh_from_db()
    assert item.is_gold and item.gold == ["pos"]
    assert api(manager).patch(url, {"gold": None}, format="json").json()["is_gold"] is False
    item.refresh_from_db()
    assert not item.is_gold and item.gold is None and item.state == "open"
