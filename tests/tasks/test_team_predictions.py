"""A team's own predictions against the project's own model: the model takes over their
suggestions and priority only when better by cross-validation (both cases built here), the
decision is recorded (audit, models API), and the export and data card name the team's
model behind each suggestion."""

from __future__ import annotations

import json
import random

from annotation.models import AuditEvent, Item, LabelSet
from annotation.services.imports import items_import_records
from annotation.services.queue import assignment_claim_next
from quality.labelsets import labelset_build, labelset_request
from tasks.models import ModelVersion, ScoreChunk
from tasks.services.models import model_version_request
from tasks.services.scoring import model_version_score_chunk, model_version_score_finish
from tasks.services.training import model_version_train
from tests.tasks.helpers import label_some, review, true_label


def _pool_with_predictions(project, *, right_share: float, n: int = 80, seed: int = 3) -> None:
    """Clear reviews, each with a team prediction that is right for ``right_share`` of them."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        kind = "pos" if i % 2 else "neg"
        text = review(kind, rng)
        truth = "pos" if kind == "pos" else "neg"
        wrong = "neg" if truth == "pos" else "pos"
        predicted = truth if rng.random() < right_share else wrong
        records.append(
            {
                "external_id": f"r{i}",
                "text": text,
                "predictions": [
                    {"labels": [predicted], "score": 0.5 + rng.random() / 2, "model_version": "t5"}
                ],
            }
        )
    items_import_records(project=project, records=records)


def _train(project) -> ModelVersion:
    version = model_version_request(project=project)
    model_version_train(version_id=version.pk, job_id="train-1")
    version.refresh_from_db()
    return version


def test_the_own_model_does_not_take_over_while_the_team_predictions_are_as_good(
    make_project, make_user, add_member, api, manager
):
    project = make_project(retrain_every=1000, suggestions="show")
    _pool_with_predictions(project, right_share=1.0)  # perfect predictions: unbeatable
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 24)
    version = _train(project)

    assert version.state == ModelVersion.State.READY  # trained, not scoring, not active
    assert not ScoreChunk.objects.filter(version=version).exists()
    takeover = version.takeover
    assert takeover["decision"] == "predictions"
    assert takeover["predictions_accuracy"] == 1.0
    assert takeover["own_accuracy"] == version.metrics["accuracy"]
    assert takeover["compared_items"] == takeover["labeled_items"] == 24
    assert takeover["prediction_models"] == {"import:t5": 24}
    assert AuditEvent.objects.filter(project=project, action="model.kept_predictions").exists()

    # The team's predictions keep serving.
    claim = assignment_claim_next(project=project, user=alice)
    assert claim.suggestion["model_version"] == "import:t5"
    body = api(manager).get(f"/api/v1/projects/{project.pk}/models/").json()
    assert body["active"] is None
    assert body["results"][0]["takeover"]["decision"] == "predictions"
    assert body["team_predictions"]["in_charge"] is True
    assert body["team_predictions"]["items_with_predictions"] == 80


def test_the_own_model_takes_over_when_better_by_cross_validation(
    make_project, make_user, add_member, api, manager
):
    project = make_project(retrain_every=1000, suggestions="show")
    _pool_with_predictions(project, right_share=0.5)  # a coin flip
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 24)
    version = _train(project)

    takeover = version.takeover
    assert takeover["decision"] == "model", takeover
    assert takeover["own_accuracy"] > takeover["predictions_accuracy"]
    assert version.state == ModelVersion.State.SCORING
    assert AuditEvent.objects.filter(project=project, action="model.took_over").exists()
    for chunk in ScoreChunk.objects.filter(version=version).order_by("index"):
        model_version_score_chunk(chunk_id=chunk.pk, job_id=f"c{chunk.pk}")
    model_version_score_finish(version_id=version.pk)
    version.refresh_from_db()
    assert version.state == ModelVersion.State.ACTIVE

    # Every item still to label now carries the project model's suggestion.
    pool = Item.objects.filter(project=project, annotation_count=0)
    assert not pool.filter(suggested_by__isnull=False).exists()
    assert not pool.exclude(scored_by_version=version.version).exists()
    claim = assignment_claim_next(project=project, user=alice)
    assert claim.suggestion["model_version"] == version.version
    body = api(manager).get(f"/api/v1/projects/{project.pk}/models/").json()
    assert body["active"]["takeover"]["decision"] == "model"
    assert body["team_predictions"]["in_charge"] is False

    # Predictions imported after the takeover are kept, not served.
    project.refresh_from_db()
    item = pool.first()
    items_import_records(
        project=project,
        records=[
            {
                "external_id": item.external_id,
                "text": item.data["text"],
                "predictions": [{"labels": ["pos"], "score": 0.9, "model_version": "t6"}],
            }
        ],
    )
    item.refresh_from_db()
    assert item.suggested_by is None and item.scored_by_version == version.version


def test_source_predictions_keeps_them_serving_even_against_a_better_model(
    make_project, make_user, add_member, api, manager
):
    """The same coin-flip predictions the own model beats under "auto" keep serving under
    "predictions"; the comparison is still recorded, and "model" takes them off."""
    project = make_project(retrain_every=1000, suggestions="show")
    url = f"/api/v1/projects/{project.pk}/"
    assert (
        api(manager).patch(url, {"suggestion_source": "predictions"}, format="json").status_code
        == 200
    )
    project.refresh_from_db()
    _pool_with_predictions(project, right_share=0.5)
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 24)
    version = _train(project)

    assert version.state == ModelVersion.State.READY
    assert not ScoreChunk.objects.filter(version=version).exists()
    assert version.takeover["decision"] == "predictions"
    assert "suggestion_source" in version.takeover["reason"]
    assert version.takeover["own_accuracy"] > version.takeover["predictions_accuracy"]
    body = api(manager).get(f"/api/v1/projects/{project.pk}/models/").json()
    assert body["team_predictions"] | {"latest_run": None} == {
        "suggestion_source": "predictions",
        "in_charge": True,
        "items_with_predictions": 80,
        "latest_run": None,
    }
    assert assignment_claim_next(project=project, user=alice).suggestion["model_version"] == (
        "import:t5"
    )

    assert api(manager).patch(url, {"suggestion_source": "model"}, format="json").status_code == 200
    assert not Item.objects.filter(project=project, suggested_by__isnull=False).exists()
    body = api(manager).get(f"/api/v1/projects/{project.pk}/models/").json()
    assert body["team_predictions"]["in_charge"] is False


def test_source_predictions_holds_the_model_back_before_any_prediction_arrived(
    make_project, make_user, add_member
):
    project = make_project(retrain_every=1000, suggestion_source="predictions")
    alice = add_member(project, make_user("alice"))
    items_import_records(
        project=project,
        records=[
            {"external_id": f"r{i}", "text": review("pos" if i % 2 else "neg", random.Random(i))}
            for i in range(40)
        ],
    )
    label_some(project, alice, 24)
    version = _train(project)
    assert version.state == ModelVersion.State.READY, version.takeover
    assert version.takeover["decision"] == "predictions"


def test_export_and_data_card_name_the_team_model_behind_each_suggestion(
    make_project, make_user, add_member, manager
):
    project = make_project(suggestions="ab")
    _pool_with_predictions(project, right_share=1.0, n=12)
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 12)
    labelset = labelset_request(
        project=project, actor=manager, fmt="jsonl", aggregation="majority", state="labeled"
    )
    labelset_build(labelset_id=labelset.pk)
    labelset = LabelSet.objects.get(pk=labelset.pk)
    assert labelset.data_card["model_versions"] == [
        {"version": "import:t5", "source": "import", "model_version": "t5"}
    ]
    with labelset.file.open("rb") as f:
        records = [json.loads(line) for line in f.read().decode().splitlines()]
    suggestions = [a["suggestion"] for r in records for a in r["annotations"]]
    assert len(suggestions) == 12
    assert {s["model_version"] for s in suggestions} == {"import:t5"}
    assert {s["shown"] for s in suggestions} == {True, False}  # A/B: both recorded


def test_labels_from_true_label_helper_are_consistent():
    """The pool builder's truth is the helper's truth (the tests above rely on it)."""
    rng = random.Random(0)
    text = review("pos", rng)
    assert true_label(Item(data={"text": text})) == "pos"
