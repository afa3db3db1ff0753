"""Embedding passes on a real Celery worker: an import is embedded in chunks, each item once;
a worker killed mid-pass is resumed by a fresh one without recomputing finished work;
duplicate deliveries do nothing; with the embedder off nothing runs."""

from __future__ import annotations

import random
import time

import numpy as np
import pytest
from celery import current_app
from celery.signals import before_task_publish

from annotation.models import Item
from annotation.services.imports import items_import_records
from config.jobs import job_name
from tasks import jobs
from tasks.models import EmbeddingChunk, ItemEmbedding, SimilarityIndex
from tasks.selectors import item_embeddings
from tasks.services.embeddings import loaded_embedder
from tests.tasks.conftest import STALE_SECONDS, WITH_EMBEDDER, wait_for
from tests.tasks.helpers import review

# Chunks of 6 items, each holding its worker 2 s after its vectors are written (so a test
# can see a chunk half-way); one worker for the tests that share these settings.
SLOW_CHUNKS = {**WITH_EMBEDDER, "SKEIN_EMBED_CHUNK": "6", "SKEIN_FAULT_SLEEP": "embed:2"}
pytestmark = pytest.mark.slow


def _reviews(project, n: int, *, prefix: str = "r") -> list[int]:
    """Import `n` short distinct reviews (the import's hook queues the pass); their ids."""
    rng = random.Random(n)
    kinds = ("pos", "neg", "mixed")
    records = [
        {"external_id": f"{prefix}{k}", "text": f"{review(kinds[k % 3], rng)} {k}"}
        for k in range(n)
    ]
    items_import_records(project=project, records=records)
    return list(
        Item.objects.filter(project=project, external_id__startswith=prefix)
        .order_by("id")
        .values_list("id", flat=True)
    )


def _all_embedded(project, n: int) -> bool:
    return (
        ItemEmbedding.objects.filter(project=project).count() >= n
        and not EmbeddingChunk.objects.filter(
            project=project, state__in=EmbeddingChunk.OPEN
        ).exists()
    )


def _send(name: str, *args: int) -> None:
    current_app.send_task(job_name(name), args=list(args))


def _succeeded(worker, name: str) -> int:
    """How many runs of the job `name` the worker's log reports finished."""
    prefix = f"Task {job_name(name)}["
    return sum(1 for line in worker.output().splitlines() if prefix in line and "succeeded" in line)


@pytest.mark.worker_env(SLOW_CHUNKS)
def test_imports_are_embedded_in_chunks_once_per_item_as_the_embedder_embeds(
    celery_worker, make_project, api, manager
):
    project = make_project()
    ids = _reviews(project, 30)
    wait_for(
        lambda: EmbeddingChunk.objects.filter(project=project, state="running").exists(),
        worker=celery_worker,
        what="the pass to start",
    )
    # Imported while the pass runs: its own request finds a pass open; the job that ends
    # the pass plans the next one over these items only.
    more = _reviews(project, 5, prefix="late")

    wait_for(lambda: _all_embedded(project, 35), worker=celery_worker, what="both passes")
    chunks = list(EmbeddingChunk.objects.filter(project=project).order_by("first_item_id"))
    assert [c.items_planned for c in chunks] == [6] * 5 + [5]
    assert all(c.state == "done" and c.attempts == 1 for c in chunks)
    assert sum(c.items_embedded for c in chunks) == 35
    assert (chunks[0].first_item_id, chunks[4].last_item_id) == (ids[0], ids[-1])
    assert (chunks[5].first_item_id, chunks[5].last_item_id) == (more[0], more[-1])

    embedder = loaded_embedder()
    assert embedder is not None
    ids += more
    rows = ItemEmbedding.objects.filter(project=project)
    assert rows.count() == 35 and set(rows.values_list("item_id", flat=True)) == set(ids)
    assert set(rows.values_list("model_id", flat=True)) == {embedder.model_id}
    stored, present = item_embeddings(item_ids=ids, model_id=embedder.model_id)
    assert present.all() and stored.shape == (35, embedder.dim)
    texts = [Item.objects.get(pk=i).data["text"] for i in ids]
    cosines = np.sum(stored * embedder.embed(texts), axis=1)
    assert cosines.min() > 0.99

    body = api(manager).get(f"/api/v1/projects/{project.pk}/embeddings/").json()
    assert body["enabled"] is True and body["model_id"] == embedder.model_id
    assert (body["items"], body["embedded"]) == (35, 35)
    assert body["chunks"] == {"pending": 0, "running": 0, "done": 6, "failed": 0}


@pytest.mark.worker_env(SLOW_CHUNKS)
def test_duplicate_deliveries_do_no_work_twice(celery_worker, make_project):
    ran = {name: _succeeded(celery_worker, name) for name in (jobs.EMBED_CHUNK, jobs.EMBED_PASS)}
    project = make_project()
    _reviews(project, 6)  # one chunk
    chunk = wait_for(
        lambda: EmbeddingChunk.objects.filter(project=project, state="running").first(),
        worker=celery_worker,
        what="the chunk to start",
    )
    # The same chunk twice more while it runs, and the pass asked for again.
    _send(jobs.EMBED_CHUNK, chunk.pk)
    _send(jobs.EMBED_PASS, project.pk)
    wait_for(lambda: _all_embedded(project, 6), worker=celery_worker, what="the pass")
    _send(jobs.EMBED_CHUNK, chunk.pk)  # and once more when it is done
    _send(jobs.EMBED_PASS, project.pk)
    wait_for(
        lambda: (
            _succeeded(celery_worker, jobs.EMBED_CHUNK) >= ran[jobs.EMBED_CHUNK] + 3
            and _succeeded(celery_worker, jobs.EMBED_PASS) >= ran[jobs.EMBED_PASS] + 3
        ),
        worker=celery_worker,
        what="the duplicates to be handled",
    )
    chunk.refresh_from_db()
    assert EmbeddingChunk.objects.filter(project=project).count() == 1
    assert (chunk.state, chunk.attempts, chunk.items_embedded) == ("done", 1, 6)
    assert ItemEmbedding.objects.filter(project=project).count() == 6


@pytest.mark.worker_env(SLOW_CHUNKS)
def test_a_worker_killed_mid_pass_is_resumed_without_recomputing_finished_work(
    celery_worker, make_project
):
    project = make_project()
    ids = _reviews(project, 36)
    chunks = EmbeddingChunk.objects.filter(project=project)

    def mid_pass() -> bool:
        done = chunks.filter(state="done").count()
        written = chunks.filter(state="running", items_embedded__gt=0).exists()
        return done >= 2 and written

    wait_for(mid_pass, worker=celery_worker, what="two chunks done and one half-way")
    celery_worker.kill()
    finished = {c.pk: (c.attempts, c.finished_at) for c in chunks.filter(state="done")}
    cut_off = {c.pk: c.attempts for c in chunks.filter(state="running")}
    stored = {
        r.item_id: (r.pk, r.created_at) for r in ItemEmbedding.objects.filter(project=project)
    }
    assert finished and cut_off and 12 <= len(stored) < 36

    time.sleep(STALE_SECONDS + 0.5)  # the dead worker's heartbeats go stale
    celery_worker.start(WITH_EMBEDDER)  # a fresh one: its first tick queues the lost chunks
    wait_for(lambda: _all_embedded(project, 36), worker=celery_worker, what="the pass to resume")

    assert chunks.count() == 6 and not chunks.exclude(state="done").exists()
    for chunk in chunks.filter(pk__in=finished):
        assert (chunk.attempts, chunk.finished_at) == finished[chunk.pk]  # never run again
    for chunk in chunks.filter(pk__in=cut_off):
        assert chunk.attempts == cut_off[chunk.pk] + 1
        assert chunk.items_embedded == chunk.items_planned  # its written vectors kept
    after = {r.item_id: (r.pk, r.created_at) for r in ItemEmbedding.objects.filter(project=project)}
    assert set(after) == set(ids)
    assert {item: after[item] for item in stored} == stored  # not one vector recomputed
    assert sum(chunks.values_list("items_embedded", flat=True)) == 36


@pytest.mark.worker_env({"SKEIN_EMBEDDER": "none"})
def test_with_the_embedder_off_nothing_is_queued_or_embedded(celery_worker, make_project, settings):
    settings.SKEIN_EMBEDDER = "none"
    published: list[str] = []

    def record(sender=None, **_):
        published.append(sender)

    before_task_publish.connect(record, weak=False)
    try:
        project = make_project()
        _reviews(project, 10)
    finally:
        before_task_publish.disconnect(record)
    assert job_name(jobs.EMBED_PASS) not in published

    # Even asked by name (a message left from before), the worker plans and embeds nothing.
    _send(jobs.EMBED_PASS, project.pk)
    _send(jobs.TICK)  # its second tick (the first ran when it started)
    wait_for(
        lambda: (
            _succeeded(celery_worker, jobs.EMBED_PASS) >= 1
            and _succeeded(celery_worker, jobs.TICK) >= 2
        ),
        worker=celery_worker,
        what="the pass request and the tick to run",
    )
    assert not EmbeddingChunk.objects.exists()
    assert not ItemEmbedding.objects.exists()


@pytest.mark.worker_env(WITH_EMBEDDER)
def test_the_end_of_a_pass_refreshes_the_similarity_index(celery_worker, make_project):
    """No tick runs here: the index row and its watermark can only come from the refresh
    the pass's last chunk queues."""
    project = make_project()
    _reviews(project, 8)
    embedder = loaded_embedder()
    assert embedder is not None

    def refreshed() -> bool:
        last = (
            ItemEmbedding.objects.filter(project=project, model_id=embedder.model_id)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
        index = SimilarityIndex.objects.filter(project=project, model_id=embedder.model_id).first()
        return (
            _all_embedded(project, 8)
            and index is not None
            and last is not None
            and index.embedding_watermark == last
        )

    wait_for(refreshed, worker=celery_worker, what="the similarity refresh after the pass")
    assert _succeeded(celery_worker, jobs.SIMILARITY_REFRESH) >= 1
