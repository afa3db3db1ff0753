"""A label renamed or merged while a model exists: the model's artifact keeps the names it was
fitted with, and its scores are written in today's names (ModelVersion.label_renames)."""

from __future__ import annotations

import pytest

from annotation.models import Item
from annotation.services.labels import label_merge, label_rename
from tasks.models import ModelVersion, ScoreChunk
from tasks.services.label_names import renamed_predictions, renames_compose
from tasks.services.models import model_version_request
from tasks.services.scoring import model_version_score_chunk, model_version_score_finish
from tasks.services.training import model_version_train
from tests.tasks.helpers import label_some, sentiment_items


def test_scores_of_a_model_trained_before_a_rename_use_the_new_name(
    settings, make_project, make_user, add_member, manager
):
    settings.SKEIN_SCORE_CHUNK = 25
    project = make_project(retrain_every=10)
    sentiment_items(project, clear=60, mixed=4)
    label_some(project, add_member(project, make_user("alice")), 12)
    version = model_version_request(project=project)
    model_version_train(version_id=version.pk, job_id="train-1")  # fitted on pos / neg

    label_rename(project=project, actor=manager, label="pos", name="positive")

    for chunk in ScoreChunk.objects.filter(version=version).order_by("index"):
        model_version_score_chunk(chunk_id=chunk.pk, job_id=f"chunk-{chunk.pk}")
    model_version_score_finish(version_id=version.pk)
    predicted = {
        name
        for labels in Item.objects.filter(
            project=project, predicted_labels__isnull=False
        ).values_list("predicted_labels", flat=True)
        for name in labels
    }
    assert predicted == {"positive", "neg"}
    assert ModelVersion.objects.get(pk=version.pk).label_renames == {"pos": "positive"}


def test_successive_renames_and_a_merge_compose(make_project, manager):
    project = make_project(labels=("a", "b", "c"))
    version = ModelVersion.objects.create(project=project, version=1, state="retired")
    label_rename(project=project, actor=manager, label="a", name="x")
    label_rename(project=project, actor=manager, label="x", name="y")
    label_merge(project=project, actor=manager, label="b", into="y")
    version.refresh_from_db()
    assert version.label_renames == {"a": "y", "b": "y", "x": "y"}


@pytest.mark.parametrize(
    ("renames", "mapping", "expected"),
    [
        ({}, {"a": "b"}, {"a": "b"}),
        ({"a": "b"}, {"b": "a"}, {"b": "a"}),  # back to the fitted name: nothing to map
        ({"a": "b"}, {"c": "d"}, {"a": "b", "c": "d"}),
    ],
)
def test_renames_compose(renames, mapping, expected):
    assert renames_compose(renames, mapping) == expected


def test_a_merge_makes_two_predicted_labels_one():
    assert renamed_predictions([["a", "b"], ["c"]], {"a": "b"}) == [["b"], ["c"]]
