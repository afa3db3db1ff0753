"""The models API: who may see and train models, and roll-back that re-scores the pool."""

from __future__ import annotations

from annotation.models import Item
from tasks.models import ModelVersion
from tasks.services.models import model_version_request
from tests.tasks.conftest import wait_for
from tests.tasks.helpers import label_some, sentiment_items


def test_labelers_get_403_and_strangers_404(make_project, make_user, add_member, api):
    project = make_project(items=5)
    labeler = add_member(project, make_user("lab"))
    stranger = make_user("stranger")
    version = ModelVersion.objects.create(
        project=project, version=1, state="retired", artifact="models/x.pkl"
    )
    for user, code in ((labeler, 403), (stranger, 404)):
        client = api(user)
        assert client.get(f"/api/v1/projects/{project.pk}/models/").status_code == code
        assert client.post(f"/api/v1/projects/{project.pk}/models/train/").status_code == code
        assert client.post(f"/api/v1/models/{version.pk}/activate/").status_code == code
    assert api(None).get(f"/api/v1/projects/{project.pk}/models/").status_code in (401, 403)
    assert ModelVersion.objects.filter(project=project).count() == 1


def test_train_queues_one_run_at_a_time(make_project, manager, api):
    project = make_project(items=5)
    client = api(manager)
    response = client.post(f"/api/v1/projects/{project.pk}/models/train/")
    assert response.status_code == 202
    assert response.json()["state"] == "queued" and response.json()["version"] == 1
    again = client.post(f"/api/v1/projects/{project.pk}/models/train/")
    assert again.status_code == 409
    listing = client.get(f"/api/v1/projects/{project.pk}/models/").json()
    assert listing["count"] == 1 and listing["results"][0]["state"] == "queued"
    assert listing["active"] is None
    assert listing["suggestion_agreement"]["shown"]["rate"] is None


def test_suggestion_agreement_counts_shown_and_hidden(
    make_project, make_user, add_member, manager, api
):
    project = make_project(items=8, suggestions="ab")
    Item.objects.filter(project=project).update(
        predicted_labels=["pos"], confidence=0.9, scored_by_version=1
    )
    alice = add_member(project, make_user("alice"))
    from annotation.services.queue import annotation_submit, assignment_claim_next

    answers = {}
    for _ in range(8):
        claim = assignment_claim_next(project=project, user=alice)
        annotation_submit(assignment_id=claim.assignment.pk, user=alice, labels=["pos"])
        answers[claim.item.pk] = claim.assignment.suggestion["shown"]
    body = api(manager).get(f"/api/v1/projects/{project.pk}/models/").json()
    agreement = body["suggestion_agreement"]
    shown = sum(answers.values())
    assert agreement["shown"] == {
        "annotations": shown,
        "agree": shown,
        "rate": 1.0 if shown else None,
    }
    assert agreement["hidden"]["annotations"] == 8 - shown


def test_activate_rolls_back_by_rescoring(
    celery_worker, make_project, make_user, add_member, manager, api
):
    project = make_project(retrain_every=1000)
    sentiment_items(project, clear=60, mixed=4)
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 10)
    first = model_version_request(project=project)
    wait_for(
        lambda: ModelVersion.objects.filter(pk=first.pk, state="active").exists(),
        worker=celery_worker,
        what="v1",
    )
    label_some(project, alice, 4)
    second = model_version_request(project=project)
    wait_for(
        lambda: ModelVersion.objects.filter(pk=second.pk, state="active").exists(),
        worker=celery_worker,
        what="v2",
    )
    pool = Item.objects.filter(project=project, annotation_count=0)
    assert not pool.exclude(scored_by_version=2).exists()

    client = api(manager)
    response = client.post(f"/api/v1/models/{first.pk}/activate/")
    assert response.status_code == 202 and response.json()["state"] == "scoring"
    assert ModelVersion.objects.get(pk=second.pk).state == "active"  # until re-scored
    wait_for(
        lambda: ModelVersion.objects.filter(pk=first.pk, state="active").exists(),
        worker=celery_worker,
        what="v1 active again",
    )
    assert ModelVersion.objects.get(pk=second.pk).state == "retired"
    assert not pool.exclude(scored_by_version=1).exists()
    body = client.get(f"/api/v1/projects/{project.pk}/models/").json()
    assert body["active"]["version"] == 1
    assert [p["n_labels"] for p in body["learning_curve"]] == [10, 14]
    assert client.post(f"/api/v1/models/{first.pk}/activate/").status_code == 409
