"""/healthz and /metrics: what operators and Prometheus read."""

from __future__ import annotations

import re

from django.test import Client, override_settings

from annotation.services.queue import annotation_submit, assignment_claim_next
from config import heartbeat


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


def test_metrics_count_queue_leases_and_annotations(project, labeler, add_member):
    add_member(project, labeler)
    claim = assignment_claim_next(project=project, user=labeler)
    annotation_submit(assignment_id=claim.assignment.pk, user=labeler, labels=["pos"])
    assignment_claim_next(project=project, user=labeler)
    text = Client().get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    pid = str(project.pk)
    assert _metric(text, "skein_queue_items", project_id=pid) == 8  # 10 - 1 done - 1 leased
    assert _metric(text, "skein_queue_items_by_state", project_id=pid, state="complete") == 1
    assert _metric(text, "skein_leases", project_id=pid, state="live") == 1
    assert _metric(text, "skein_annotations_last_minute", project_id=pid) == 1


def test_metrics_need_the_token_from_elsewhere(db):
    assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    with override_settings(SKEIN_METRICS_TOKEN="s3cret"):
        assert Client().get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
        ok = Client().get("/metrics", REMOTE_ADDR="10.1.2.3",
                          HTTP_AUTHORIZATION="Bearer s3cret")
        assert ok.status_code == 200
        assert b"skein_queue_items" in ok.content
