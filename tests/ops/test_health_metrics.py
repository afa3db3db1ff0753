"""/healthz and /metrics: what operators and Prometheus read."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from annotation.models import Assignment
from annotation.services import queue
from annotation.services.queue import annotation_submit, assignment_claim_next
from config import heartbeat
from quality.services.report_cache import quality_report_refresh
from tasks.models import ModelVersion


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} {labels} not in metrics")


def test_healthz_reports_database_broker_and_workers(db, settings):
    settings.SKEIN_METRICS_TOKEN = "s3cret"
    heartbeat.beat("worker-a@test")
    response = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert "worker-a@test" in body["workers"]["live"]


def test_healthz_says_when_the_broker_is_down(db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # nothing listens on port 9
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.SKEIN_METRICS_TOKEN = "s3cret"
    response = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200  # labeling still works
    body = response.json()
    assert body["status"] == "degraded"
    assert body["broker"] != "ok"


def test_every_gauge_reports_real_data(project, make_project, make_user, add_member, settings):
    """Each gauge of /metrics, with a value computed by hand from what was done here."""
    settings.SKEIN_METRICS_TOKEN = "s3cret"
    pid = str(project.pk)
    first, second = add_member(project, make_user()), add_member(project, make_user())
    claim = assignment_claim_next(project=project, user=first)
    annotation_submit(assignment_id=claim.assignment.pk, user=first, labels=["pos"])
    live = assignment_claim_next(project=project, user=first).assignment
    overdue = assignment_claim_next(project=project, user=second).assignment
    Assignment.objects.filter(pk=overdue.pk).update(
        expires_at=timezone.now() - timedelta(seconds=5)
    )
    assert live.pk != overdue.pk
    # A second project with overlap 2; two labelers agree on two items, split on the third.
    rated = make_project(items=3, overlap=2)
    answers = {"i0": ("pos", "pos"), "i1": ("neg", "neg"), "i2": ("pos", "neg")}
    for k, labeler in enumerate((add_member(rated, make_user()), add_member(rated, make_user()))):
        for _ in answers:
            lease = assignment_claim_next(project=rated, user=labeler).assignment
            annotation_submit(
                assignment_id=lease.pk, user=labeler, labels=[answers[lease.item.external_id][k]]
            )
    report = quality_report_refresh(project_id=rated.pk)
    # Nominal alpha by hand: pairable values p,p n,n p,n: D_o = 2/6, D_e = 2*3*3/(6*5).
    alpha = 1 - (2 / 6) / (18 / 30)
    assert report.payload["agreement"]["krippendorff_alpha"] == pytest.approx(alpha)
    trained = timezone.now()
    ModelVersion.objects.create(
        project=project,
        version=1,
        state=ModelVersion.State.RETIRED,
        metrics={"accuracy": 0.5},
        trained_at=trained,
    )
    active = ModelVersion.objects.create(
        project=project, version=2, state=ModelVersion.State.ACTIVE, metrics={"accuracy": 0.875}
    )
    ModelVersion.objects.filter(pk=active.pk).update(
        created_at=trained - timedelta(seconds=42), trained_at=trained
    )

    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").content.decode()
    # 10 items: 1 complete, 2 leased (one live, one past expiry), 7 open.
    assert _metric(text, "skein_queue_items", project_id=pid) == 7
    assert _metric(text, "skein_queue_items_by_state", project_id=pid, state="open") == 7
    assert _metric(text, "skein_queue_items_by_state", project_id=pid, state="leased") == 2
    assert _metric(text, "skein_queue_items_by_state", project_id=pid, state="complete") == 1
    assert _metric(text, "skein_leases", project_id=pid, state="live") == 1
    assert _metric(text, "skein_leases", project_id=pid, state="overdue") == 1
    assert _metric(text, "skein_leases", project_id=pid, state="expired") == 0
    assert _metric(text, "skein_annotations_last_minute", project_id=pid) == 1
    assert _metric(text, "skein_annotations_last_minute", project_id=str(rated.pk)) == 6
    assert _metric(text, "skein_model_accuracy", project_id=pid, version="2") == 0.875
    assert _metric(
        text, "skein_model_training_seconds", project_id=pid, version="2"
    ) == pytest.approx(42)
    assert _metric(
        text, "skein_agreement_krippendorff_alpha", project_id=str(rated.pk)
    ) == pytest.approx(alpha)
    # One agreeing and one split item of two raters, nominal: alpha = 1 - 4 * 1/2 / 2 ... by
    # the definition, D_o = 2/4 and D_e = (2*3*1)/(4*3) * 2 / ... checked against the report.
    queue.assignments_expire(project=project)
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").content.decode()
    assert _metric(text, "skein_leases", project_id=pid, state="expired") == 1
    assert _metric(text, "skein_leases", project_id=pid, state="overdue") == 0
    assert _metric(text, "skein_queue_items", project_id=pid) == 8


def test_metrics_need_the_token_from_elsewhere(db):
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    with override_settings(SKEIN_METRICS_TOKEN="s3cret"):
        assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
        ok = Client().get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret")
        assert ok.status_code == 200
        assert b"skein_queue_items" in ok.content


def test_metrics_refuse_loopback_and_a_local_proxy(db, settings):
    """Behind nginx on the same host every caller is 127.0.0.1: no address opens /metrics."""
    for token in ("", "s3cret"):
        settings.SKEIN_METRICS_TOKEN = token
        for remote in ("127.0.0.1", "::1"):
            response = Client().get(
                "/metrics", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR="127.0.0.1"
            )
            assert response.status_code == 403
        assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
        assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_metrics_open_to_a_staff_session(make_user):
    client = Client()
    client.force_login(make_user("ops", staff=True))
    assert client.get("/metrics").status_code == 200
    client.force_login(make_user("plain"))
    assert client.get("/metrics").status_code == 403


def test_healthz_tells_anonymous_callers_only_up_or_down(db, settings, make_user):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"  # down: its error text is internal
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = Client().get("/healthz", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    staff = Client()
    staff.force_login(make_user("ops", staff=True))
    detailed = staff.get("/healthz").json()
    assert detailed["status"] == "degraded" and detailed["broker"] != "ok"
