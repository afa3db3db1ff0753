"""Embedding passes driven by hand (no worker): the tick plans a pass for items nobody
queued one for, a chunk is claimed by one job at a time, a stale chunk is taken over and
resumed, a chunk that keeps failing is given up with its reason, and the progress API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Item
from annotation.services.imports import items_import_records
from tasks.models import EmbeddingChunk, ItemEmbedding
from tasks.services.embedding_passes import (
    embed_chunk_size,
    embedding_chunk_run,
    embedding_chunks_reap,
    embedding_pass_start,
    embedding_tick,
)
from tasks.services.embeddings import item_embeddings_write, loaded_embedder
from tasks.services.lifecycle import MAX_ATTEMPTS
from tasks.services.models import learning_tick

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _embedder(settings):
    settings.SKEIN_EMBEDDER = "all-MiniLM-L6-v2-int8"
    settings.SKEIN_EMBED_CHUNK = 4
    loaded_embedder.cache_clear()
    yield
    loaded_embedder.cache_clear()


def _chunks(project):
    return EmbeddingChunk.objects.filter(project=project).order_by("first_item_id")


def test_the_tick_starts_a_pass_for_items_no_import_queued_and_only_one(make_project):
    # In a plain (non-transactional) test the import's after-commit hook never runs: as if
    # the message was lost to a broker outage, or the items came before embeddings did.
    project = make_project(items=10)
    assert not EmbeddingChunk.objects.exists()

    counts = learning_tick()
    assert counts["embed_passes"] == 1
    chunks = list(_chunks(project))
    assert [c.items_planned for c in chunks] == [4, 4, 2]
    assert all(c.state == "pending" and c.model_id == loaded_embedder().model_id for c in chunks)
    assert embedding_tick()["embed_passes"] == 0  # a pass is open
    assert embedding_pass_start(project_id=project.pk) == 0

    for n, chunk in enumerate(chunks):
        assert embedding_chunk_run(chunk_id=chunk.pk, job_id=f"job{n}") == chunk.items_planned
    assert ItemEmbedding.objects.filter(project=project).count() == 10
    assert embedding_tick()["embed_passes"] == 0  # nothing left to embed
    assert _chunks(project).count() == 3

    # Items that came later (their import's request lost) get a pass of their own.
    items_import_records(
        project=project,
        records=[{"external_id": f"late{n}", "text": f"late {n}"} for n in range(3)],
    )
    assert embedding_tick()["embed_passes"] == 1
    late = _chunks(project).last()
    assert (late.items_planned, late.state) == (3, "pending")


def test_a_chunk_runs_in_one_job_at_a_time_and_a_stale_one_is_resumed(make_project):
    project = make_project(items=4)
    embedding_pass_start(project_id=project.pk)
    chunk = _chunks(project).get()
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    embedder = loaded_embedder()

    # A job took the chunk, wrote two vectors and died.
    item_embeddings_write(
        project_id=project.pk,
        model_id=embedder.model_id,
        item_ids=ids[:2],
        vectors=embedder.embed(["item number 0", "item number 1"]),
    )
    EmbeddingChunk.objects.filter(pk=chunk.pk).update(
        state="running", attempts=1, job_id="dead", heartbeat_at=timezone.now()
    )
    kept = dict(ItemEmbedding.objects.filter(project=project).values_list("item_id", "pk"))

    assert embedding_chunk_run(chunk_id=chunk.pk, job_id="duplicate") is None  # live: left alone
    EmbeddingChunk.objects.filter(pk=chunk.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert embedding_chunk_run(chunk_id=chunk.pk, job_id="rescue") == 2  # only the missing
    chunk.refresh_from_db()
    assert (chunk.state, chunk.attempts, chunk.job_id, chunk.items_embedded) == (
        "done",
        2,
        "rescue",
        2,
    )
    after = dict(ItemEmbedding.objects.filter(project=project).values_list("item_id", "pk"))
    assert set(after) == set(ids) and {i: after[i] for i in kept} == kept
    assert embedding_chunk_run(chunk_id=chunk.pk, job_id="late") is None  # done: nothing


def test_a_chunk_whose_worker_keeps_dying_is_given_up_with_the_reason(make_project, api, manager):
    project = make_project(items=3)
    embedding_pass_start(project_id=project.pk)
    chunk = _chunks(project).get()
    old = timezone.now() - timedelta(hours=1)
    EmbeddingChunk.objects.filter(pk=chunk.pk).update(
        state="running", attempts=MAX_ATTEMPTS, job_id="x", heartbeat_at=old
    )
    model_id = loaded_embedder().model_id
    assert embedding_chunks_reap(model_id=model_id)["embed_failed"] == 1
    chunk.refresh_from_db()
    assert chunk.state == "failed" and "stopped responding" in chunk.error
    # No new pass right after a failure (it would fail again every minute).
    assert embedding_tick()["embed_passes"] == 0

    body = api(manager).get(f"/api/v1/projects/{project.pk}/embeddings/").json()
    assert body["chunks"]["failed"] == 1 and "stopped responding" in body["last_error"]
    assert (body["items"], body["embedded"], body["model_id"]) == (3, 0, model_id)

    # Later (past the stale limit) the tick tries again with a new pass.
    EmbeddingChunk.objects.filter(pk=chunk.pk).update(heartbeat_at=old)
    assert embedding_tick()["embed_passes"] == 1
    retry = _chunks(project).get()  # the failed chunk gives way to the new pass's
    assert (retry.state, retry.items_planned) == ("pending", 3)
    assert api(manager).get(f"/api/v1/projects/{project.pk}/embeddings/").json()["last_error"] == ""


def test_a_lost_pending_chunk_is_queued_again_and_a_project_without_text_is_left_alone(
    make_project,
):
    project = make_project(items=10)
    embedding_pass_start(project_id=project.pk)
    first, *rest = _chunks(project)
    model_id = loaded_embedder().model_id
    assert embedding_chunks_reap(model_id=model_id)["embed_requeued"] == 0  # just queued
    old = timezone.now() - timedelta(hours=1)
    EmbeddingChunk.objects.filter(pk__in=[c.pk for c in rest]).update(heartbeat_at=old)
    # While another chunk of the pass makes progress, waiting ones are just in the queue.
    EmbeddingChunk.objects.filter(pk=first.pk).update(
        state="running", attempts=1, job_id="alive", heartbeat_at=timezone.now()
    )
    assert embedding_chunks_reap(model_id=model_id)["embed_requeued"] == 0
    # The pass stalls (its worker died): every chunk is queued again.
    EmbeddingChunk.objects.filter(pk=first.pk).update(heartbeat_at=old)
    assert embedding_chunks_reap(model_id=model_id)["embed_requeued"] == 3
    assert not _chunks(project).exclude(state="pending").exists()
    assert (
        not _chunks(project).filter(heartbeat_at__lt=timezone.now() - timedelta(minutes=1)).exists()
    )

    pixels = make_project()
    items_import_records(project=pixels, records=[{"external_id": "a", "pixels": [0, 1, 2]}])
    assert embedding_pass_start(project_id=pixels.pk) == 0


def test_progress_is_for_managers_and_says_when_embedding_is_off(
    make_project, api, manager, labeler, add_member, settings
):
    project = make_project(items=2)
    add_member(project, labeler)
    assert api(labeler).get(f"/api/v1/projects/{project.pk}/embeddings/").status_code == 403
    body = api(manager).get(f"/api/v1/projects/{project.pk}/embeddings/").json()
    assert body["enabled"] is True and body["embedder"] == "all-MiniLM-L6-v2-int8"
    assert (body["items"], body["embedded"], body["model_id"]) == (2, 0, None)

    settings.SKEIN_EMBEDDER = "none"
    loaded_embedder.cache_clear()
    assert embedding_tick() == {}
    assert embedding_pass_start(project_id=project.pk) == 0
    body = api(manager).get(f"/api/v1/projects/{project.pk}/embeddings/").json()
    assert body["enabled"] is False and body["embedder"] is None
    assert not EmbeddingChunk.objects.exists()


def test_a_small_pass_is_still_shared_by_several_workers(settings):
    settings.SKEIN_EMBED_CHUNK = 1000
    assert embed_chunk_size(100_000) == 1000
    assert embed_chunk_size(1000) == 125  # 8 chunks
    assert embed_chunk_size(100) == 64  # never below one heartbeat batch
