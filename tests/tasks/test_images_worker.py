"""The learning loop on images, on a real Celery worker and real files in a temporary
MEDIA_ROOT: a zip of digits uploaded through the API -> items with stored images -> the
worker reads them through the storage API and trains on their pixels -> it scores the pool.
And no SSRF: an image URL in item data is never fetched unless its host is allowed."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from annotation.models import Item, StoredImage
from annotation.services.imports import items_import_records
from annotation.services.queue import annotation_submit, assignment_claim_next
from tasks.models import ModelVersion, StopSetPrediction
from tasks.services.artifacts import artifact_load
from tasks.services.images import image_fetch, url_allowed
from tasks.services.models import model_version_request
from tests.annotation.image_files import digit_pngs, png, upload, zipped
from tests.tasks.conftest import wait_for

DIGITS = [str(d) for d in range(10)]


def _active(project: Any) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, state="active").first()


def _label(project: Any, user: Any, n: int, truth: dict[str, str]) -> None:
    for _ in range(n):
        claim = assignment_claim_next(project=project, user=user)
        assert claim is not None
        label = truth[claim.item.external_id]
        annotation_submit(assignment_id=claim.assignment.pk, user=user, labels=[label])


@pytest.mark.slow
def test_a_zip_of_digit_images_trains_a_model_on_their_pixels_and_scores_the_pool(
    celery_worker, settings, tmp_path, make_project, manager, make_user, add_member, api
):
    settings.MEDIA_ROOT = tmp_path / "media"
    celery_worker.restart(env={"MEDIA_ROOT": str(settings.MEDIA_ROOT)})
    project = make_project(labels=DIGITS, retrain_every=1000, suggestions="show")
    files, truth = digit_pngs(300)
    response = api(manager).post(
        f"/api/v1/projects/{project.pk}/images/",
        {"files": [upload("digits.zip", zipped(files))]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 300
    assert len(list((settings.MEDIA_ROOT / "images").rglob("*.png"))) == 300

    alice = add_member(project, make_user("alice"))
    _label(project, alice, 80, truth)
    version = model_version_request(project=project)
    wait_for(lambda: _active(project), worker=celery_worker, timeout=120, what="an active model")
    version.refresh_from_db()

    featurizer = artifact_load(version.artifact.name).featurizer
    assert [(f.name, f.kind) for f in featurizer.spec.fields] == [("stored_image", "image_file")]
    # Ten classes: chance is 0.1. Cross-validated on the 80 labels, then on the unlabeled pool.
    assert version.metrics["accuracy"] >= 0.6, version.metrics
    pool = Item.objects.filter(project=project, annotation_count=0)
    assert pool.count() == 220
    assert not pool.exclude(scored_by_version=version.version).exists()
    right = sum(item.predicted_labels == [truth[item.external_id]] for item in pool)
    assert right / 220 >= 0.6, right
    # The stopping signal's stop set is predicted from the pixels too.
    stop_set = StopSetPrediction.objects.filter(version=version).select_related("item")
    assert stop_set.count() >= 20
    right = sum(p.labels == [truth[p.item.external_id]] for p in stop_set)
    assert right / stop_set.count() >= 0.6, right
    bob = add_member(project, make_user("bob"))
    claim = assignment_claim_next(project=project, user=bob)
    assert claim.suggestion["model_version"] == version.version
    assert claim.item.data == {
        "stored_image": StoredImage.objects.get(
            project=project, original_name=claim.item.external_id
        ).key
    }


class _Counting(BaseHTTPRequestHandler):
    """Serves a PNG at /img/<n>.png and a redirect at /redirect; counts every request."""

    hits: list[str] = []
    body = png(shade=128)

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/img/0.png")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def image_server() -> Iterator[tuple[str, list[str]]]:
    _Counting.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Counting.hits
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_url_images_are_never_fetched_unless_their_host_is_allowed(
    celery_worker, image_server, make_project, make_user, add_member
):
    base, hits = image_server
    project = make_project(retrain_every=1000)
    items_import_records(
        project=project,
        records=[
            {"external_id": f"u{n}", "image": f"{base}/img/{n}.png", "text": f"photo {n % 2}"}
            for n in range(30)
        ],
    )
    alice = add_member(project, make_user("alice"))
    for _ in range(10):
        claim = assignment_claim_next(project=project, user=alice)
        label = "pos" if claim.item.data["text"].endswith("1") else "neg"
        annotation_submit(assignment_id=claim.assignment.pk, user=alice, labels=[label])

    first = model_version_request(project=project)
    wait_for(lambda: _active(project), worker=celery_worker, timeout=90, what="model v1")
    assert hits == []  # trained and scored the whole pool without one request
    first.refresh_from_db()
    kinds = {f.name: f.kind for f in artifact_load(first.artifact.name).featurizer.spec.fields}
    assert kinds["image"] == "text"  # the URL stays what it was: text

    # With the host allowed, the worker fetches the pixels (and only then).
    celery_worker.restart(env={"SKEIN_IMAGE_FETCH_HOSTS": "127.0.0.1"})
    second = model_version_request(project=project)
    wait_for(
        lambda: _active(project) and _active(project).pk == second.pk,
        worker=celery_worker,
        timeout=90,
        what="model v2",
    )
    second.refresh_from_db()
    kinds = {f.name: f.kind for f in artifact_load(second.artifact.name).featurizer.spec.fields}
    assert kinds["image"] == "image_file"
    assert hits and all(path.startswith("/img/") for path in hits)


def test_the_fetch_refuses_other_hosts_schemes_and_redirects(settings, image_server):
    base, hits = image_server
    settings.SKEIN_IMAGE_FETCH_HOSTS = []
    assert image_fetch(f"{base}/img/1.png") is None  # nothing allowed: nothing fetched
    settings.SKEIN_IMAGE_FETCH_HOSTS = ["127.0.0.1"]
    port = base.rsplit(":", 1)[1]
    for url in (
        f"http://localhost:{port}/img/1.png",  # another name for the same machine
        "file:///etc/passwd",
        f"ftp://127.0.0.1:{port}/img/1.png",
        f"http://user:pw@127.0.0.1:{port}/img/1.png",
    ):
        assert not url_allowed(url)
        assert image_fetch(url) is None
    assert hits == []
    assert image_fetch(f"{base}/redirect") is None  # the redirect is not followed
    assert hits == ["/redirect"]
    settings.SKEIN_IMAGE_MAX_BYTES = 10
    assert image_fetch(f"{base}/img/2.png") is None  # over the size cap
    settings.SKEIN_IMAGE_MAX_BYTES = 10_000_000
    assert image_fetch(f"{base}/img/3.png") == _Counting.body
    settings.SKEIN_IMAGE_FETCH_HOSTS = ["*.example.org"]
    assert url_allowed("https://cdn.example.org/a.png")
    assert not url_allowed("https://example.org.evil.net/a.png")


def test_the_worker_reads_stored_images_in_sub_chunks_and_beats_meanwhile(
    db, settings, tmp_path, make_project, monkeypatch
):
    from annotation.services.images import images_upload
    from tasks.learning import fit_featurizer
    from tasks.services import images as worker_images

    settings.MEDIA_ROOT = tmp_path / "media"
    project = make_project()
    files = {f"{n}.png": png(shade=20 * n, size=16 + n) for n in range(5)}
    images_upload(project=project, uploads=[("s.zip", io.BytesIO(zipped(files)))])
    data = list(Item.objects.filter(project=project).order_by("id").values_list("data", flat=True))
    data.append({"stored_image": "f" * 32})  # no such image: a row of zeros, not a failure
    featurizer = fit_featurizer([data])
    monkeypatch.setattr(worker_images, "SUB_CHUNK", 2)
    monkeypatch.setattr(worker_images, "HEARTBEAT_SECONDS", -1.0)
    beats: list[int] = []

    X = worker_images.featurize(
        featurizer, data, project_id=project.pk, heartbeat=lambda: beats.append(1)
    )

    assert X.shape == (6, featurizer.n_features)
    assert (abs(X[:5]).sum(axis=1) > 0).all() and not X[5].any()
    assert len(beats) == 3  # before each of the three sub-chunks
    other = make_project()  # another project's worker never reads this project's files
    assert not worker_images.featurize(featurizer, data, project_id=other.pk).any()
