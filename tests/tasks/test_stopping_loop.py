"""The stopping signal in the loop, on a real worker: a pool the model has learned says
stop after its predictions on the stop set hold still over three retrains; a pool of noise
keeps changing. Read through the models API, as the dashboard reads it."""

from __future__ import annotations

import random

from annotation.models import Item
from annotation.services.imports import items_import_records
from tasks.models import ModelVersion, StopSetItem, StopSetPrediction
from tasks.services.models import model_version_request
from tests.quality.helpers import annotate
from tests.tasks.conftest import wait_for
from tests.tasks.helpers import sentiment_items, true_label


def _retrain(project, worker, version: int) -> ModelVersion:
    model_version_request(project=project)
    return wait_for(
        lambda: ModelVersion.objects.filter(
            project=project, version=version, state="active"
        ).first(),
        worker=worker,
        what=f"model v{version} active",
    )


def _label(project, user, n: int, answer) -> None:
    for item in Item.objects.filter(project=project, annotation_count=0).order_by("id")[:n]:
        annotate(project=project, item=item, user=user, labels=[answer(item)])


def test_a_converged_model_says_stop(
    celery_worker, make_project, make_user, add_member, manager, api
):
    project = make_project(retrain_every=10_000)
    sentiment_items(project, clear=160, mixed=0)
    alice = add_member(project, make_user("alice"))
    url = f"/api/v1/projects/{project.pk}/models/"
    assert api(manager).get(url).json()["stopping"]["state"] == "no_model"
    _label(project, alice, 24, true_label)
    first = _retrain(project, celery_worker, 1)
    stop_set = set(StopSetItem.objects.filter(project=project).values_list("item_id", flat=True))
    assert len(stop_set) == 136  # every item unlabeled when it was drawn (fewer than 2,000)
    assert first.metrics["stop_set"]["items"] == 136
    assert first.metrics["stop_set"]["kappa"] is None  # nothing to compare with yet
    stopping = api(manager).get(url).json()["stopping"]
    assert stopping["state"] == "too_early" and not stopping["stop"]
    signal = None
    for version in range(2, 7):
        _label(project, alice, 8, true_label)
        _retrain(project, celery_worker, version)
        signal = api(manager).get(url).json()["stopping"]
        if signal["stop"]:
            break
    assert signal is not None and signal["state"] == "stop", signal
    assert version >= 4  # three comparisons need four versions
    assert len(signal["recent"]) == 3 and min(signal["recent"]) >= 0.99
    assert "unlikely to improve the model much" in signal["reading"]
    # Each version carries its own reading (API contract: prediction_agreement, advice).
    rows = {v["version"]: v for v in api(manager).get(url).json()["results"]}
    assert rows[version]["stopping"] == {
        "prediction_agreement": signal["kappa"],
        "advice": signal["reading"],
    }
    assert rows[1]["stopping"]["prediction_agreement"] is None  # nothing to compare with
    assert rows[1]["stopping"]["advice"].startswith("Too early to tell")
    # Predictions are stored per version, never for stop-set items it trained on.
    latest = ModelVersion.objects.get(project=project, version=version)
    predicted = set(
        StopSetPrediction.objects.filter(version=latest).values_list("item_id", flat=True)
    )
    trained = set(
        Item.objects.filter(project=project, annotation_count__gt=0).values_list("id", flat=True)
    )
    assert predicted == stop_set - trained and predicted


def test_a_model_of_noise_is_still_changing(
    celery_worker, make_project, make_user, add_member, manager, api
):
    project = make_project(retrain_every=10_000)
    rng = random.Random(5)
    items_import_records(
        project=project,
        records=[
            {"external_id": f"n{n}", "text": " ".join(f"w{rng.randrange(300)}" for _ in range(6))}
            for n in range(160)
        ],
    )
    alice = add_member(project, make_user("alice"))
    labels = {}

    def coin(item: Item) -> str:
        labels[item.pk] = rng.choice(["pos", "neg"])
        return labels[item.pk]

    _label(project, alice, 24, coin)
    for version in range(1, 6):
        _retrain(project, celery_worker, version)
        _label(project, alice, 10, coin)
    signal = api(manager).get(f"/api/v1/projects/{project.pk}/models/").json()["stopping"]
    assert signal["state"] == "changing" and not signal["stop"], signal
    assert signal["kappa"] < 0.99
    assert signal["reading"].startswith("The model is still changing")
