"""A project's model endpoint, called by a real Celery worker against a real HTTP server
in this process: the happy path, an endpoint that times out or answers garbage (the queue
keeps serving, the failure is visible), and the refusal of loopback addresses (SSRF)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from annotation.errors import Conflict
from annotation.models import Item, ItemPrediction
from annotation.services.imports import items_import_records
from tasks.models import PredictionRun
from tasks.services.endpoint import prediction_run_chunk, prediction_run_request
from tests.tasks.conftest import wait_for

WORKER_ENV = {"SKEIN_ALLOW_PRIVATE_ENDPOINTS": "1"}


class Endpoint:
    """A model endpoint by the contract: ``mode`` says how it answers."""

    def __init__(self) -> None:
        self.mode = "good"
        self.requests: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body)
                if endpoint.mode == "slow":
                    time.sleep(3)
                if endpoint.mode == "garbage":
                    answer = b"<html>502 upstream oops</html>"
                else:
                    answer = json.dumps(
                        {
                            "predictions": [
                                {
                                    "id": item["id"],
                                    # "pos" for even numbers; the score grows with the number
                                    "labels": ["pos" if item["data"]["n"] % 2 == 0 else "neg"],
                                    "score": 0.5 + item["data"]["n"] / 100,
                                    "model_version": "llm-2026-11",
                                }
                                for item in body["items"]
                            ]
                        }
                    ).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the caller gave up (timeout)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/predict"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


def _project(make_project, n: int, **settings: Any):
    project = make_project(suggestions="show", retrain_every=1000, **settings)
    items_import_records(
        project=project,
        records=[{"external_id": f"x{n}", "text": f"item {n}", "n": n} for n in range(n)],
    )
    return project


def _run_finished(run_id: int) -> PredictionRun | None:
    run = PredictionRun.objects.get(pk=run_id)
    return run if run.state not in PredictionRun.ACTIVE else None


def _served_by(endpoint, n, *, worker, settings, api, manager, make_project):
    """A project of ``n`` items whose manager set ``endpoint`` through the API (private
    endpoints allowed here and in the worker) with a 1 s timeout and 10 items a call."""
    settings.SKEIN_ALLOW_PRIVATE_ENDPOINTS = True
    worker.restart(env=WORKER_ENV)
    project = _project(make_project, n)
    url = f"/api/v1/projects/{project.pk}/"
    body = {"model_endpoint": {"url": endpoint.url, "timeout_seconds": 1, "batch_size": 10}}
    response = api(manager).patch(url, body, format="json")
    assert response.status_code == 200
    assert response.json()["model_endpoint"]["url"] == endpoint.url
    return project


def test_an_endpoint_run_through_the_worker_serves_its_predictions(
    celery_worker, endpoint, make_project, make_user, add_member, api, manager, settings
):
    project = _served_by(
        endpoint,
        25,
        worker=celery_worker,
        settings=settings,
        api=api,
        manager=manager,
        make_project=make_project,
    )
    url = f"/api/v1/projects/{project.pk}/"
    alice = add_member(project, make_user("alice"))
    assert "model_endpoint" not in api(alice).get(url).json()  # managers only

    response = api(manager).post(f"/api/v1/projects/{project.pk}/prediction-runs/")
    assert response.status_code == 202, response.content
    assert response.json()["chunks_total"] == 3
    run = wait_for(
        lambda: _run_finished(response.json()["id"]), worker=celery_worker, what="the run"
    )
    assert run.state == "done" and run.errors == []
    assert (run.items_predicted, run.chunks_done, run.model_versions) == (25, 3, ["llm-2026-11"])

    # The contract as sent: the project, its labels, items by id with their data.
    assert len(endpoint.requests) == 3
    first = endpoint.requests[0]
    assert first["project"] == project.pk and first["labels"] == ["pos", "neg"]
    assert set(first["items"][0]) == {"id", "data"} and "n" in first["items"][0]["data"]
    assert ItemPrediction.objects.filter(project=project, source="endpoint").count() == 25

    # The least sure prediction (n = 0, score 0.5) is served first, with its suggestion.
    response = api(alice).post(f"/api/v1/projects/{project.pk}/next/")
    assert response.json()["item"]["external_id"] == "x0"
    assert response.json()["suggestion"] == {
        "labels": ["pos"],
        "confidence": 0.5,
        "model_version": "endpoint:llm-2026-11",
    }
    item = Item.objects.get(project=project, external_id="x7")
    assert (item.predicted_labels, item.suggested_by) == (["neg"], "endpoint:llm-2026-11")

    listed = api(manager).get(f"/api/v1/projects/{project.pk}/prediction-runs/").json()
    assert listed["results"][0]["state"] == "done"
    detail = api(manager).get(f"/api/v1/prediction-runs/{run.pk}/")
    assert detail.json()["items_predicted"] == 25
    assert api(alice).get(f"/api/v1/prediction-runs/{run.pk}/").status_code == 403


def test_an_endpoint_timing_out_or_answering_garbage_leaves_the_queue_serving(
    celery_worker, endpoint, make_project, make_user, add_member, api, manager, settings
):
    project = _served_by(
        endpoint,
        15,
        worker=celery_worker,
        settings=settings,
        api=api,
        manager=manager,
        make_project=make_project,
    )
    alice = add_member(project, make_user("alice"))
    runs = f"/api/v1/projects/{project.pk}/prediction-runs/"

    endpoint.mode = "slow"  # 3 s, past the worker's 1 s timeout: retried, then given up
    run_id = api(manager).post(runs).json()["id"]
    wait_for(lambda: endpoint.requests, what="the first call")
    started = time.monotonic()
    response = api(alice).post(f"/api/v1/projects/{project.pk}/next/")
    assert response.status_code == 200 and time.monotonic() - started < 1.0
    assert response.json()["suggestion"] is None
    run = wait_for(lambda: _run_finished(run_id), timeout=90, worker=celery_worker, what="a run")
    assert run.state == "failed" and run.chunks_failed == 2
    messages = " ".join(e["message"] for e in run.errors)
    assert "timed out after 1 s" in messages and "gave up after retries" in messages
    assert not ItemPrediction.objects.filter(project=project).exists()

    endpoint.mode = "garbage"
    run_id = api(manager).post(runs).json()["id"]
    run = wait_for(lambda: _run_finished(run_id), worker=celery_worker, what="a run")
    assert run.state == "failed"
    assert any("not JSON" in e["message"] for e in run.errors), run.errors
    body = api(manager).get(f"/api/v1/projects/{project.pk}/models/").json()
    assert body["team_predictions"]["latest_run"]["state"] == "failed"
    assert body["team_predictions"]["latest_run"]["errors"]

    # The labeler's queue went on all along.
    for _ in range(3):
        response = api(alice).post(f"/api/v1/projects/{project.pk}/next/")
        assert response.status_code == 200
        api(alice).post(
            f"/api/v1/assignments/{response.json()['assignment']['id']}/submit/",
            {"labels": ["pos"]},
            format="json",
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/predict",
        "http://localhost/predict",
        "http://[::1]/predict",
        "http://10.1.2.3/predict",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://example.org/predict",
        "file:///etc/passwd",
    ],
)
def test_a_private_loopback_or_non_http_endpoint_is_refused(api, manager, make_project, url):
    project = make_project()
    response = api(manager).patch(
        f"/api/v1/projects/{project.pk}/", {"model_endpoint": {"url": url}}, format="json"
    )
    assert response.status_code == 400
    assert "url" in response.json()["model_endpoint"]
    project.refresh_from_db()
    assert project.prediction_endpoint == ""


def test_a_loopback_endpoint_is_not_called_without_the_admin_setting(
    endpoint, make_project, manager
):
    project = _project(make_project, 5)
    project.prediction_endpoint = endpoint.url  # as if set while private endpoints were allowed
    project.save()
    run = prediction_run_request(project=project, actor=manager)
    assert prediction_run_chunk(run_id=run.pk, index=0) == 0
    run.refresh_from_db()
    assert run.state == "failed"
    assert "refused" in run.errors[0]["message"] and "127.0.0.1" in run.errors[0]["message"]
    assert endpoint.requests == []  # never reached


def test_a_run_needs_an_endpoint(api, manager, make_project):
    project = make_project()
    response = api(manager).post(f"/api/v1/projects/{project.pk}/prediction-runs/")
    assert response.status_code == 409


def test_the_circuit_breaker_stops_calling_a_failing_endpoint(
    endpoint, make_project, manager, settings
):
    settings.SKEIN_ALLOW_PRIVATE_ENDPOINTS = True
    settings.SKEIN_ENDPOINT_CHUNK = 2
    settings.SKEIN_ENDPOINT_FAILURES = 2
    settings.SKEIN_ENDPOINT_BREAKER_SECONDS = 60
    endpoint.mode = "garbage"
    project = _project(make_project, 8)
    project.prediction_endpoint = endpoint.url + "?breaker-test"  # its own circuit
    project.save()
    run = prediction_run_request(project=project, actor=manager)
    for index in range(4):
        prediction_run_chunk(run_id=run.pk, index=index)
    run.refresh_from_db()
    assert len(endpoint.requests) == 2  # the last two chunks never reached it
    assert [("circuit open" in e["message"]) for e in run.errors] == [False, False, True, True]
    assert (run.state, run.chunks_failed) == ("failed", 4)


def test_a_run_that_stopped_moving_gives_way_to_a_new_one(endpoint, make_project, manager):
    project = _project(make_project, 3)
    project.prediction_endpoint = "https://models.example.org/predict"
    project.save()
    stuck = prediction_run_request(project=project, actor=manager)
    with pytest.raises(Conflict):
        prediction_run_request(project=project, actor=manager)
    PredictionRun.objects.filter(pk=stuck.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    fresh = prediction_run_request(project=project, actor=manager)
    stuck.refresh_from_db()
    assert stuck.state == "failed" and "no progress" in stuck.error
    assert fresh.state == "running"
