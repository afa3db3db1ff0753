"""Removing a label from a project's schema: refused exactly when something uses the label
(annotations, gold answers, review decisions), whatever characters its name has, on both
databases."""

from __future__ import annotations

import json

import pytest

from annotation.models import Item, Label
from quality.services.review import review_submit
from tests.annotation.helpers import claim, streamed, submit

NAMES = ['say "hi"', "back\\slash", "café", "日本", 'both \\" mixed']


def _schema(project):
    return list(Label.objects.filter(project=project).values_list("name", flat=True))


def _patch_labels(api, manager, project, names):
    return api(manager).patch(f"/api/v1/projects/{project.pk}/", {"labels": names}, format="json")


def _label_one_item(api, project, labeler, name):
    response = claim(api(labeler), project)
    assert response.status_code == 200, response.content
    done = submit(api(labeler), response.json()["assignment"]["id"], [name])
    assert done.status_code == 201, done.content


@pytest.mark.parametrize("name", NAMES)
def test_a_used_label_cannot_be_removed_whatever_its_name(
    api, make_project, manager, labeler, add_member, name
):
    project = make_project(labels=(name, "other"), items=2)
    add_member(project, labeler)
    _label_one_item(api, project, labeler, name)

    response = _patch_labels(api, manager, project, ["other"])
    assert response.status_code == 400, response.content
    assert name in response.json()["labels"][0]
    assert "annotations" in response.json()["labels"][0]
    assert _schema(project) == [name, "other"]
    # The export still names the label of the labeled item.
    export = streamed(api(manager).get(f"/api/v1/projects/{project.pk}/export/"))
    assert [json.loads(line)["label"] for line in export.splitlines()] == [name]


@pytest.mark.parametrize("name", NAMES)
def test_an_unused_label_with_such_a_name_can_be_removed(
    api, make_project, manager, labeler, add_member, name
):
    project = make_project(labels=(name, "other"), items=2)
    add_member(project, labeler)
    _label_one_item(api, project, labeler, "other")

    response = _patch_labels(api, manager, project, ["other"])
    assert response.status_code == 200, response.content
    assert _schema(project) == ["other"]


def test_a_label_differing_only_in_case_from_a_used_one_can_be_removed(
    api, make_project, manager, labeler, add_member
):
    project = make_project(labels=("neg", "Neg", "pos"), items=2)
    add_member(project, labeler)
    _label_one_item(api, project, labeler, "neg")

    assert _patch_labels(api, manager, project, ["neg", "pos"]).status_code == 200
    assert _schema(project) == ["neg", "pos"]
    refused = _patch_labels(api, manager, project, ["pos"])
    assert refused.status_code == 400 and "'neg'" in refused.json()["labels"][0]


def test_a_label_that_is_a_gold_answer_cannot_be_removed(api, make_project, manager):
    project = make_project(labels=("日本", "other"), items=2)
    item = Item.objects.filter(project=project).first()
    gold = api(manager).patch(
        f"/api/v1/projects/{project.pk}/items/{item.pk}/gold/", {"gold": ["日本"]}, format="json"
    )
    assert gold.status_code == 200, gold.content

    response = _patch_labels(api, manager, project, ["other"])
    assert response.status_code == 400, response.content
    assert "gold answers" in response.json()["labels"][0]
    assert _schema(project) == ["日本", "other"]


def test_a_label_chosen_by_a_reviewer_cannot_be_removed(
    api, make_project, manager, make_user, add_member
):
    from tests.quality.helpers import annotate

    project = make_project(labels=('a "b"', "c", "d"), items=1, overlap=2)
    a, b = add_member(project, make_user("ann")), add_member(project, make_user("bob"))
    item = Item.objects.get(project=project)
    annotate(project=project, item=item, user=a, labels=["c"])
    annotate(project=project, item=item, user=b, labels=["d"])  # a tie: disputed
    review_submit(project=project, item_id=item.pk, reviewer=manager, labels=['a "b"'])

    response = _patch_labels(api, manager, project, ["c", "d"])
    assert response.status_code == 400, response.content
    assert "review decisions" in response.json()["labels"][0]
