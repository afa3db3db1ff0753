"""Renaming and merging labels in use (POST projects/{id}/labels/rename/ and merge/): every
stored copy of the name follows in one transaction, audited; exports show the new names;
bad input is a field-named 400 with nothing written; on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from annotation import extensions
from annotation.models import (
    Annotation,
    Assignment,
    AuditEvent,
    Item,
    ItemPrediction,
    Label,
)
from annotation.services.items import item_gold_set
from quality.models import Review
from quality.services.review import review_submit
from tests.annotation.helpers import streamed
from tests.quality.helpers import annotate


def _rename(api: Any, user: Any, project: Any, **body: Any) -> Any:
    return api(user).post(f"/api/v1/projects/{project.pk}/labels/rename/", body, format="json")


def _merge(api: Any, user: Any, project: Any, **body: Any) -> Any:
    return api(user).post(f"/api/v1/projects/{project.pk}/labels/merge/", body, format="json")


def _export(api: Any, manager: Any, project: Any, aggregation: str = "majority") -> list[dict]:
    response = api(manager).get(
        f"/api/v1/projects/{project.pk}/export/?format=jsonl&aggregation={aggregation}"
    )
    assert response.status_code == 200
    return [json.loads(line) for line in streamed(response).splitlines()]


def _schema(project: Any) -> list[str]:
    return list(Label.objects.filter(project=project).values_list("name", flat=True))


@pytest.fixture
def used(make_project, manager, make_user, add_member):
    """A project where 'spam' is in every kind of place a label name is stored."""
    project = make_project(labels=("spam", "ham", "eggs"), items=4, overlap=2)
    ann, bob = add_member(project, make_user("ann")), add_member(project, make_user("bob"))
    i0, i1, i2, i3 = Item.objects.filter(project=project).order_by("id")
    suggestion = {"labels": ["spam"], "confidence": 0.9, "model_version": 1, "shown": True}
    annotate(project=project, item=i0, user=ann, labels=["spam"])
    annotate(project=project, item=i0, user=bob, labels=["spam"])
    annotate(project=project, item=i1, user=ann, labels=["spam"])
    annotate(project=project, item=i1, user=bob, labels=["ham"])  # a tie: disputed
    Annotation.objects.filter(item=i0, labeler=ann).update(suggestion=suggestion)
    Assignment.objects.filter(item=i0, labeler=ann).update(suggestion=suggestion)
    review_submit(project=project, item_id=i1.pk, reviewer=manager, labels=["spam"])
    item_gold_set(project=project, item_id=i2.pk, actor=manager, gold=["spam"])
    Item.objects.filter(pk=i3.pk).update(predicted_labels=["spam"], confidence=0.7)
    ItemPrediction.objects.create(
        project=project, item=i3, source="import", model_version="m1", labels=["spam"]
    )
    return project


def test_a_rename_reaches_every_stored_copy_and_the_export(api, manager, used):
    response = _rename(api, manager, used, label="spam", name="junk")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [lb["name"] for lb in body["labels"]] == ["junk", "ham", "eggs"]
    assert body["rows"] == {
        "annotations": 3,
        "annotation_suggestions": 1,
        "assignment_suggestions": 1,
        "gold_answers": 1,
        "predicted_labels": 1,
        "predictions": 1,
        "review_decisions": 1,
        "label_errors": 0,
        "stop_set_predictions": 0,
    }
    assert _schema(used) == ["junk", "ham", "eggs"]  # order and keys kept
    names = json.dumps(
        [
            list(Annotation.objects.filter(project=used).values_list("labels", "suggestion")),
            list(Assignment.objects.filter(project=used).values_list("suggestion", flat=True)),
            list(Item.objects.filter(project=used).values_list("gold", "predicted_labels")),
            list(ItemPrediction.objects.filter(project=used).values_list("labels", flat=True)),
            list(Review.objects.filter(project=used).values_list("labels", flat=True)),
        ]
    )
    assert "spam" not in names and names.count("junk") == 9
    records = {r["external_id"]: r for r in _export(api, manager, used)}
    assert records["i0"]["label"] == "junk"
    assert records["i1"]["label"] == "junk"  # the reviewer's decision, renamed
    assert [a["labels"] for a in records["i0"]["annotations"]] == [["junk"], ["junk"]]
    event = AuditEvent.objects.get(action="label.renamed")
    assert (event.actor, event.project, event.details["from"], event.details["to"]) == (
        manager,
        used,
        "spam",
        "junk",
    )
    # The labelers answer with the new name; the old one is refused.
    assert Label.objects.filter(project=used, name="spam").count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": "nope", "name": "x"}, "label"),
        ({"label": "spam", "name": "ham"}, "name"),  # taken: merge instead
        ({"label": "spam", "name": "  "}, "name"),
        ({"label": "spam", "name": "spam"}, "name"),
        ({"label": "spam", "name": "x" * 101}, "name"),
        ({"label": "spam"}, "name"),
        ({"label": "spam", "name": 3}, "name"),
        ({"label": "spam", "name": "x", "extra": 1}, "extra"),
    ],
)
def test_a_bad_rename_is_a_field_named_400_and_changes_nothing(api, manager, used, body, field):
    before = list(Annotation.objects.filter(project=used).values_list("labels", flat=True))

    response = _rename(api, manager, used, **body)

    assert response.status_code == 400, response.content
    assert field in response.json()
    assert _schema(used) == ["spam", "ham", "eggs"]
    assert list(Annotation.objects.filter(project=used).values_list("labels", flat=True)) == before
    assert not AuditEvent.objects.filter(action="label.renamed").exists()


@pytest.mark.django_db(transaction=True)
def test_a_rename_that_fails_midway_leaves_nothing_half_written(api, manager, used):
    def broken(*, project: Any, mapping: dict[str, str]) -> None:
        raise RuntimeError("a hook failed after the core rows were rewritten")

    extensions.register_labels_renamed(broken)
    try:
        with pytest.raises(RuntimeError):
            _rename(api, manager, used, label="spam", name="junk")
    finally:
        extensions._labels_renamed.remove(broken)
    assert _schema(used) == ["spam", "ham", "eggs"]
    assert Annotation.objects.filter(project=used, labels=["spam"]).count() == 3
    assert Item.objects.filter(project=used, gold=["spam"]).count() == 1
    assert not AuditEvent.objects.filter(action="label.renamed").exists()


def test_only_managers_rename_or_merge(api, used, make_user, add_member):
    reviewer = add_member(used, make_user("rita"), "reviewer")
    outsider = make_user("olga")
    labeler = Annotation.objects.filter(project=used).first().labeler
    for user, status in ((labeler, 403), (reviewer, 403), (outsider, 404)):
        assert _rename(api, user, used, label="spam", name="x").status_code == status
        assert _merge(api, user, used, label="spam", into="ham").status_code == status
    assert _schema(used) == ["spam", "ham", "eggs"]


def test_a_merge_moves_every_use_and_drops_the_label(api, manager, used):
    response = _merge(api, manager, used, label="spam", into="ham")

    assert response.status_code == 200, response.content
    assert _schema(used) == ["ham", "eggs"]
    assert list(Label.objects.filter(project=used).values_list("order", flat=True)) == [0, 1]
    assert Annotation.objects.filter(project=used, labels=["ham"]).count() == 4
    assert Item.objects.filter(project=used, gold=["ham"]).count() == 1
    records = {r["external_id"]: r for r in _export(api, manager, used)}
    assert records["i0"]["label"] == "ham"
    # The tie on i1 became agreement; the reviewer's decision was "spam", now "ham".
    assert records["i1"]["label"] == "ham"
    event = AuditEvent.objects.get(action="label.merged")
    assert (event.details["from"], event.details["into"]) == ("spam", "ham")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"label": "nope", "into": "ham"}, {"label"}),
        ({"label": "spam", "into": "nope"}, {"into"}),
        ({"label": "spam", "into": "spam"}, {"into"}),
        ({"label": "nope", "into": "nada"}, {"label", "into"}),
    ],
)
def test_a_bad_merge_is_a_field_named_400(api, manager, used, body, fields):
    response = _merge(api, manager, used, **body)
    assert response.status_code == 400, response.content
    assert set(response.json()) == fields
    assert _schema(used) == ["spam", "ham", "eggs"]


def test_a_multi_label_merge_leaves_one_of_the_two(api, make_project, manager, labeler):
    project = make_project(labels=("cat", "kitten", "dog"), items=2, kind="multi_label")
    i0, i1 = Item.objects.filter(project=project).order_by("id")
    annotate(project=project, item=i0, user=labeler, labels=["cat", "kitten", "dog"])
    annotate(project=project, item=i1, user=labeler, labels=["kitten"])

    response = _merge(api, manager, project, label="kitten", into="cat")

    assert response.status_code == 200, response.content
    by_item = dict(Annotation.objects.filter(project=project).values_list("item_id", "labels"))
    assert by_item == {i0.pk: ["cat", "dog"], i1.pk: ["cat"]}
    records = {r["external_id"]: r for r in _export(api, manager, project)}
    assert sorted(records["i0"]["labels"]) == ["cat", "dog"]
    assert records["i1"]["labels"] == ["cat"]
