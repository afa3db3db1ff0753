"""GET items/{id}/: one item's story — content and provenance, the hidden-suggestion rule,
who may read what (managers all; reviewers no gold answer, private field, hidden suggestion, model
prediction or audit; labelers and outsiders 404), prev/next in the list's order, and a
query count flat in the number of
annotations and model versions."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.models import Assignment, Item
from annotation.services.guidelines import guideline_publish
from annotation.services.imports import items_import_records
from annotation.services.items import item_gold_set
from quality.models import LabelError, LabelErrorList
from tasks.models import ModelVersion, StopSetPrediction
from tests.quality.helpers import annotate

SHOWN = {"labels": ["pos"], "confidence": 0.8, "model_version": 2, "shown": True}
HIDDEN = {"labels": ["neg"], "confidence": 0.7, "model_version": 2, "shown": False}


def _story(client, item_id):
    return client.get(f"/api/v1/items/{item_id}/")


def _model_versions(project, item, n):
    versions = [
        ModelVersion.objects.create(
            project=project, version=v, state="retired", trained_at=timezone.now()
        )
        for v in range(1, n + 1)
    ]
    StopSetPrediction.objects.bulk_create(
        StopSetPrediction(version=version, item=item, labels=["pos"]) for version in versions
    )
    Item.objects.filter(pk=item.pk).update(
        predicted_labels=["neg"], confidence=0.66, scored_by_version=n, suggested_by=None
    )


@pytest.fixture
def story_world(make_project, manager, make_user, add_member, api):
    project = make_project(overlap=3, private_fields=["author"], suggestions="ab")
    items_import_records(
        project=project,
        records=[
            {
                "external_id": "story-1",
                "text": "a quiet film",
                "author": "Ann",
                "predictions": [{"labels": ["pos"], "score": 0.9, "model_version": "team-v1"}],
            },
            {"external_id": "gold-1", "text": "gold text", "gold": "pos"},
        ],
    )
    item = Item.objects.get(project=project, external_id="story-1")
    guideline_publish(project=project, actor=manager, body="rules v1")
    users = {
        "reviewer": add_member(project, make_user("rev"), "reviewer"),
        "labeler": add_member(project, make_user("lab")),
        "other": add_member(project, make_user("oth")),
        "skipper": add_member(project, make_user("skp")),
    }
    first = annotate(
        project=project,
        item=item,
        user=users["labeler"],
        labels=["pos"],
        suggestion=SHOWN,
        duration_ms=4200,
        guideline_version=1,
    )
    annotate(
        project=project,
        item=item,
        user=users["other"],
        labels=["neg"],
        suggestion=HIDDEN,
        duration_ms=1300,
        guideline_version=1,
    )
    Assignment.objects.create(
        project=project,
        item=item,
        labeler=users["skipper"],
        state=Assignment.State.SKIPPED,
        skip_reason="cannot tell",
        guideline_version=1,
        expires_at=timezone.now(),
        closed_at=timezone.now(),
    )
    lab = api(users["labeler"])
    flag = lab.post(
        f"/api/v1/assignments/{first.assignment_id}/flag/",
        {"reason": "unsure", "comment": "sarcasm?"},
        format="json",
    )
    assert flag.status_code == 201
    assert (
        api(manager)
        .post(f"/api/v1/items/{item.pk}/comments/", {"body": "check the source"}, format="json")
        .status_code
        == 201
    )
    review = api(users["reviewer"]).post(
        f"/api/v1/projects/{project.pk}/review/{item.pk}/",
        {"labels": ["pos"], "note": "irony, still positive"},
        format="json",
    )
    assert review.status_code == 201, review.content
    _model_versions(project, item, 2)
    error_list = LabelErrorList.objects.create(project=project, model_version=2, flagged=1)
    LabelError.objects.create(
        error_list=error_list,
        item=item,
        rank=1,
        given="pos",
        suggested="neg",
        score=0.4,
        given_proba=0.2,
        suggested_proba=0.7,
    )
    return {"project": project, "item": item, "users": users}


def test_manager_reads_the_whole_story(api, manager, story_world):
    item = story_world["item"]
    response = _story(api(manager), item.pk)
    assert response.status_code == 200, response.content
    story = response.json()
    assert story["external_id"] == "story-1"
    assert story["data"] == {"text": "a quiet film", "author": "Ann"}
    assert story["state"] == "open" and story["gold"] is None
    first, second = story["annotations"]
    assert (first["annotator"], first["labels"], first["guideline_version"]) == ("lab", ["pos"], 1)
    assert first["duration_ms"] == 4200 and first["created_at"] and first["counts"] is True
    # The full provenance: the suggestion as recorded, a hidden one too, with `shown`.
    assert first["suggestion"] == SHOWN and second["suggestion"] == HIDDEN
    assert story["skips"] == [
        {
            "user": "skp",
            "reason": "cannot tell",
            "guideline_version": 1,
            "at": story["skips"][0]["at"],
        }
    ]
    assert [(f["user"], f["reason"], f["comment"]) for f in story["flags"]] == [
        ("lab", "unsure", "sarcasm?")
    ]
    assert [(c["author"], c["body"]) for c in story["comments"]] == [
        ("manager", "check the source")
    ]
    assert story["review"]["labels"] == ["pos"] and story["review"]["reviewer"] == "rev"
    assert story["review"]["note"] == "irony, still positive"
    assert [e["suggested"] for e in story["label_errors"]] == ["neg"]
    predictions = [
        (p["source"], p["model_version"], p["labels"], p["current"]) for p in story["predictions"]
    ]
    assert predictions == [
        ("import", "team-v1", ["pos"], False),
        ("model", 1, ["pos"], False),
        ("model", 2, ["pos"], False),
        ("model", 2, ["neg"], True),
    ]
    actions = [event["action"] for event in story["audit"]]
    assert actions == ["review.decided", "item.commented", "item.flagged"]


def test_reviewer_reads_what_the_review_queue_shows(api, story_world):
    item = story_world["item"]
    story = _story(api(story_world["users"]["reviewer"]), item.pk).json()
    assert story["data"] == {"text": "a quiet film"}  # no private field
    assert story["gold"] is None
    first, second = story["annotations"]
    # Only what the labeler was shown: a hidden A/B suggestion is none at all.
    assert first["suggestion"] == {k: SHOWN[k] for k in ("labels", "confidence", "model_version")}
    assert second["suggestion"] is None
    assert story["predictions"] == [] and story["audit"] == []
    assert story["review"]["labels"] == ["pos"] and len(story["flags"]) == 1
    assert "Ann" not in str(story) and "team-v1" not in str(story)


def test_who_reads_a_story(api, manager, make_user, story_world):
    project, item, users = story_world["project"], story_world["item"], story_world["users"]
    gold = Item.objects.get(project=project, external_id="gold-1")
    assert _story(api(make_user("boss", staff=True)), item.pk).status_code == 200
    assert _story(api(manager), gold.pk).json()["gold"] == ["pos"]
    missing = _story(api(users["labeler"]), 999999)
    for user in (users["labeler"], users["skipper"], make_user("stranger")):
        # A labeler who annotated it, one who skipped it, an outsider: the missing item's 404.
        response = _story(api(user), item.pk)
        assert response.status_code == 404 and response.json() == missing.json()
    # Reviewers read a gold item as they read any other (the item table lists it too):
    # nothing in it says gold.
    seen = _story(api(users["reviewer"]), gold.pk)
    assert seen.status_code == 200
    plain = _story(api(users["reviewer"]), item.pk).json()
    assert set(seen.json()) == set(plain)
    assert seen.json()["gold"] is None and seen.json()["audit"] == []
    assert seen.json()["state"] == "open" and seen.json()["label_errors"] == []
    assert _story(api(), item.pk).status_code in (401, 403)


def test_a_gold_mark_shows_in_the_managers_audit(api, manager, story_world):
    project, item = story_world["project"], story_world["item"]
    item_gold_set(project=project, item_id=item.pk, actor=manager, gold=["neg"])
    story = _story(api(manager), item.pk).json()
    assert story["gold"] == ["neg"]
    assert story["audit"][0]["action"] == "item.gold_set"
    assert story["audit"][0]["actor"] == "manager"


def _queries(client, item_id):
    with CaptureQueriesContext(connection) as ctx:
        assert _story(client, item_id).status_code == 200
    return len(ctx.captured_queries)


def test_story_query_count_is_flat(api, manager, make_user, add_member, story_world):
    project, item = story_world["project"], story_world["item"]
    client = api(manager)
    reviewer = api(story_world["users"]["reviewer"])
    small_manager, small_reviewer = _queries(client, item.pk), _queries(reviewer, item.pk)
    # One query per part: the item with the caller's role, annotations, skips, flags,
    # comments, team predictions, audit, reviews, label errors, the model versions'
    # predictions. Reviewers skip team predictions, audit and the model's.
    assert small_manager == 10
    assert small_reviewer == 7
    Project = type(project)
    Project.objects.filter(pk=project.pk).update(overlap=30)
    project.refresh_from_db()
    for n in range(12):
        annotate(
            project=project,
            item=item,
            user=add_member(project, make_user(f"many{n}")),
            labels=["neg"],
            suggestion=HIDDEN,
        )
    ModelVersion.objects.filter(project=project).delete()
    _model_versions(project, item, 9)
    client.post(f"/api/v1/items/{item.pk}/comments/", {"body": "more"}, format="json")
    assert _queries(client, item.pk) == small_manager
    assert _queries(reviewer, item.pk) == small_reviewer
    assert len(_story(client, item.pk).json()["annotations"]) == 14


def test_neighbours_follow_the_lists_filter_and_ordering_with_ties(make_project, manager):
    from annotation.story import item_neighbours

    project = make_project(items=6)
    items = list(Item.objects.filter(project=project).order_by("id"))
    # priorities: ties between items 1 and 3 (0.5) and between 0 and 5 (0.9); 4 is complete.
    for n, priority in enumerate([0.9, 0.5, 0.1, 0.5, 0.7, 0.9]):
        Item.objects.filter(pk=items[n].pk).update(priority=priority)
    Item.objects.filter(pk=items[4].pk).update(state="complete")

    def around(n, **params):
        before, after = item_neighbours(
            project=project, item=items[n], viewer=manager, role="manager", params=params
        )
        index = {item.pk: k for k, item in enumerate(items)}
        return index.get(before), index.get(after)

    assert around(2) == (1, 3)  # the default: by id
    assert around(0) == (None, 1)
    assert around(2, ordering="-id") == (3, 1)
    assert around(3, state="open") == (2, 5)  # 4 is filtered out
    # -priority: 5, 0 (0.9; ties by id in the list's direction), 4 (0.7), 3, 1 (0.5), 2.
    assert around(5, ordering="-priority") == (None, 0)
    assert around(1, ordering="-priority") == (3, 2)
    assert around(1, ordering="priority") == (2, 3)  # 2, 1, 3, 4, 0, 5
    assert around(3, ordering="-priority", state="open") == (0, 1)
    # A filter the table refuses: no neighbours rather than an error.
    assert around(2, nonsense="1") == (None, None)
