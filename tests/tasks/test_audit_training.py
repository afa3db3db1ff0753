"""Training runs, activation and roll-back are in the audit log, through the real API and
worker."""

from __future__ import annotations

from annotation.models import AuditEvent
from tasks.models import ModelVersion
from tests.tasks.conftest import wait_for
from tests.tasks.helpers import label_some, sentiment_items


def _events(project, *actions):
    return list(AuditEvent.objects.filter(project=project, action__in=actions).order_by("id"))


def test_training_and_roll_back_are_audited(
    celery_worker, make_project, make_user, add_member, manager, api
):
    project = make_project(retrain_every=1000)
    sentiment_items(project, clear=60, mixed=4)
    alice = add_member(project, make_user("alice"))
    client = api(manager)
    label_some(project, alice, 10)
    first = client.post(f"/api/v1/projects/{project.pk}/models/train/").json()
    wait_for(
        lambda: ModelVersion.objects.filter(pk=first["id"], state="active").exists(),
        worker=celery_worker,
        what="v1",
    )
    label_some(project, alice, 4)
    second = client.post(f"/api/v1/projects/{project.pk}/models/train/").json()
    wait_for(
        lambda: ModelVersion.objects.filter(pk=second["id"], state="active").exists(),
        worker=celery_worker,
        what="v2",
    )
    assert client.post(f"/api/v1/models/{first['id']}/activate/").status_code == 202
    wait_for(
        lambda: ModelVersion.objects.filter(pk=first["id"], state="active").exists(),
        worker=celery_worker,
        what="v1 again",
    )

    events = _events(
        project,
        "model.training_started",
        "model.training_finished",
        "model.activation_requested",
        "model.activated",
    )
    assert [(e.action, e.target, e.actor) for e in events] == [
        ("model.training_started", "v1", manager),
        ("model.training_finished", "v1", manager),
        ("model.activated", "v1", manager),
        ("model.training_started", "v2", manager),
        ("model.training_finished", "v2", manager),
        ("model.activated", "v2", manager),
        ("model.activation_requested", "v1", manager),
        ("model.activated", "v1", manager),
    ]
    assert events[0].details == {"version": 1, "trigger": "manual", "strategy": "margin"}
    finished = events[4].details
    assert finished["n_labels"] == 14 and "accuracy" in str(finished["metrics"])
    assert events[5].details == {
        "version": 2,
        "replaced": 1,
        "trigger": "manual",
        "direction": "forward",
    }
    assert events[6].details == {"version": 1, "active": 2, "direction": "rollback"}
    assert events[7].details == {
        "version": 1,
        "replaced": 2,
        "trigger": "activate",
        "direction": "rollback",
    }


def test_a_failed_training_run_is_audited(celery_worker, make_project, manager, api):
    project = make_project(items=5, retrain_every=1000)
    response = api(manager).post(f"/api/v1/projects/{project.pk}/models/train/")
    assert response.status_code == 202
    wait_for(
        lambda: ModelVersion.objects.filter(project=project, state="failed").exists(),
        worker=celery_worker,
        what="the run to fail",
    )
    [failed] = _events(project, "model.training_failed")
    assert failed.target == "v1" and failed.actor is None
    assert "labeled items" in failed.details["error"] and failed.details["version"] == 1
