"""Review end to end: a disputed item appears, a reviewer decides, export and training
prefer the decision."""

from __future__ import annotations

import json

from annotation.models import Item
from tasks.services.training import training_set
from tests.quality.helpers import annotate


def _export(api, user, project, aggregation="majority"):
    response = api(user).get(
        f"/api/v1/projects/{project.pk}/export/?format=jsonl&aggregation={aggregation}"
    )
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).splitlines()
    return {r["external_id"]: r for r in map(json.loads, lines)}


def test_review_flow(api, make_project, make_user, manager, add_member):
    project = make_project(labels=("pos", "neg", "meh"), items=3, overlap=2, review_threshold=0.6)
    a, b = make_user("ann"), make_user("bob")
    reviewer = make_user("rita")
    for user in (a, b):
        add_member(project, user)
    add_member(project, reviewer, "reviewer")
    i0, i1, i2 = Item.objects.filter(project=project).order_by("id")
    annotate(project=project, item=i0, user=a, labels=["pos"])
    annotate(project=project, item=i0, user=b, labels=["pos"])  # agreed
    annotate(project=project, item=i1, user=a, labels=["pos"])
    annotate(project=project, item=i1, user=b, labels=["neg"])  # a tie
    annotate(project=project, item=i2, user=a, labels=["meh"])  # one vote: not disputed

    # Labelers may not see the queue; reviewers see the tie with every label and who gave it.
    assert api(a).get(f"/api/v1/projects/{project.pk}/review/").status_code == 403
    queue = api(reviewer).get(f"/api/v1/projects/{project.pk}/review/")
    assert queue.status_code == 200, queue.content
    body = queue.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["item"]["external_id"] == i1.external_id
    assert sorted(row["tie"]) == ["neg", "pos"]
    assert sorted((x["annotator"], x["labels"][0]) for x in row["annotations"]) == [
        ("ann", "pos"),
        ("bob", "neg"),
    ]
    assert (
        api(manager).get(f"/api/v1/projects/{project.pk}/quality/").json()["review_queue"]["size"]
        == 1
    )

    # Before the decision the export reports the tie and gives no label.
    before = _export(api, manager, project)
    assert before[i1.external_id]["label"] is None
    assert sorted(before[i1.external_id]["tie"]) == ["neg", "pos"]

    bad = api(reviewer).post(
        f"/api/v1/projects/{project.pk}/review/{i1.pk}/", {"labels": ["nope"]}, format="json"
    )
    assert bad.status_code == 400 and "labels" in bad.json()
    assert (
        api(a)
        .post(f"/api/v1/projects/{project.pk}/review/{i1.pk}/", {"labels": ["neg"]}, format="json")
        .status_code
        == 403
    )
    decided = api(reviewer).post(
        f"/api/v1/projects/{project.pk}/review/{i1.pk}/",
        {"labels": ["neg"], "note": "sarcasm"},
        format="json",
    )
    assert decided.status_code == 201, decided.content
    assert decided.json()["labels"] == ["neg"]

    # Out of the queue; export (both aggregations) and training take the decision.
    assert api(reviewer).get(f"/api/v1/projects/{project.pk}/review/").json()["count"] == 0
    for aggregation in ("majority", "dawid_skene"):
        after = _export(api, manager, project, aggregation)
        assert after[i1.external_id]["label"] == "neg"
        assert after[i1.external_id]["confidence"] == 1.0
        assert after[i1.external_id]["adjudicated"] is True
        assert after[i0.external_id]["label"] == "pos"
    training = training_set(project=project)
    labels = dict(zip(training.item_ids, training.labels, strict=True))
    assert labels[i1.pk] == "neg" and labels[i0.pk] == "pos" and labels[i2.pk] == "meh"


def test_low_share_is_disputed(api, make_project, make_user, manager, add_member):
    project = make_project(labels=("pos", "neg", "meh"), items=1, overlap=3, review_threshold=0.7)
    item = Item.objects.get(project=project)
    for user, label in zip(
        (make_user(), make_user(), make_user()), ("pos", "pos", "neg"), strict=True
    ):
        add_member(project, user)
        annotate(project=project, item=item, user=user, labels=[label])
    rows = api(manager).get(f"/api/v1/projects/{project.pk}/review/").json()["results"]
    assert [r["item"]["id"] for r in rows] == [item.pk]
    assert rows[0]["tie"] is None
    assert abs(rows[0]["confidence"] - 2 / 3) < 1e-9
    project.review_threshold = 0.6
    project.save()
    assert api(manager).get(f"/api/v1/projects/{project.pk}/review/").json()["count"] == 0


def test_gold_items_never_in_review(api, make_project, make_user, manager, add_member):
    project = make_project(labels=("pos", "neg"), items=1, overlap=2)
    item = Item.objects.get(project=project)
    assert (
        api(manager)
        .patch(
            f"/api/v1/projects/{project.pk}/items/{item.pk}/gold/", {"gold": ["pos"]}, format="json"
        )
        .status_code
        == 200
    )
    item.refresh_from_db()
    for user, label in zip((make_user(), make_user()), ("pos", "neg"), strict=True):
        add_member(project, user)
        annotate(project=project, item=item, user=user, labels=[label])
    assert api(manager).get(f"/api/v1/projects/{project.pk}/review/").json()["count"] == 0
