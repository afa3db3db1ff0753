"""Embedding passes: a project's items embedded in chunks any worker can take, each item once
per model, resumable after a worker dies (issue 12, point 1).

When a pass starts: after an import that created items commits (the core's items-imported
hook, tasks.triggers.after_import, queues ``embedding_pass_start`` by name), and from the
periodic learning tick (``embedding_tick``) for any project with items lacking a vector and
no pass open, which catches a broker outage and items imported before. Nothing happens when
``SKEIN_EMBEDDER`` is "none".

How a pass runs:
- ``embedding_pass_start`` lists the items with no vector in the workers' space, cuts them
  into id ranges of ``SKEIN_EMBED_CHUNK`` items at most (one ``EmbeddingChunk`` each; a
  small pass into ``MIN_CHUNKS`` of at least ``BATCH``) and queues one
  job per chunk after commit. One pass per project and space at a time (the project row is
  locked while planning; a pass is open while any of its chunks is pending or running).
- ``embedding_chunk_run`` claims a chunk (a chunk another live worker runs is left alone, so
  a duplicate delivery does nothing), embeds its items still lacking a vector in batches of
  ``BATCH`` texts, and after each batch stores the vectors and renews the heartbeat in one
  short transaction (a long chunk is not presumed dead; a worker that lost the chunk stops).
- The job that finishes a pass's last chunk plans the next pass if items came in meanwhile.
- A worker that dies leaves its chunk running with a heartbeat that goes stale; the tick
  queues it again (``MAX_ATTEMPTS`` runs at most, then the chunk is failed with the reason
  and a new pass is planned no sooner than ``stale_after`` later). The next run skips every
  item already stored, so finished work is never recomputed.

Worker-side for the embedding itself (``loaded_embedder`` loads onnxruntime on first use);
the web process only queues by name (tasks.jobs).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from annotation.iterables import chunks
from annotation.models import Item, Project
from config.faults import fault_sleep
from tasks import jobs
from tasks.models import EmbeddingChunk, ItemEmbedding
from tasks.selectors import items_lacking_embedding, items_without_embedding
from tasks.services.embeddings import (
    embedder_name,
    embedding_text,
    item_embeddings_write,
    loaded_embedder,
)
from tasks.services.lifecycle import MAX_ATTEMPTS, chunk_take, is_stale, stale_after

logger = logging.getLogger(__name__)

BATCH = 64
"""Texts embedded between two heartbeats (and per committed write): ~4 s of long reviews
on one core, well inside any stale limit."""
_TEXT_SAMPLE = 50


MIN_CHUNKS = 8
"""A small pass is still cut into about this many chunks (of at least ``BATCH`` items), so
that several workers share it: 1,000 reviews are a minute of one core."""


def embed_chunk_size(missing: int) -> int:
    """Items per chunk for a pass over `missing` items: ``SKEIN_EMBED_CHUNK`` at most."""
    most = max(1, int(getattr(settings, "SKEIN_EMBED_CHUNK", 1000)))
    return min(most, max(BATCH, math.ceil(missing / MIN_CHUNKS)))


def _open_chunks(*, project_id: int, model_id: str) -> Any:
    return EmbeddingChunk.objects.filter(
        project_id=project_id, model_id=model_id, state__in=EmbeddingChunk.OPEN
    )


def _has_text(item_ids: list[int]) -> bool:
    """Whether any of these items has text to embed (an image-only project has none)."""
    return any(
        embedding_text(data or {})
        for data in Item.objects.filter(pk__in=item_ids).values_list("data", flat=True)
    )


def embedding_pass_start(*, project_id: int) -> int:
    """Plan a pass over the project's items lacking a vector in the configured space and
    queue its chunks; returns the number of chunks (0: disabled, nothing missing, no text,
    or a pass already open)."""
    embedder = loaded_embedder()
    if embedder is None:
        return 0
    model_id = embedder.model_id
    with transaction.atomic():
        # One planner per project at a time (web imports and the tick may both ask).
        if Project.objects.select_for_update().filter(pk=project_id).first() is None:
            return 0
        if _open_chunks(project_id=project_id, model_id=model_id).exists():
            return 0
        missing = list(
            items_lacking_embedding(project_id=project_id, model_id=model_id)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not missing or not _has_text(missing[:_TEXT_SAMPLE]):
            return 0
        size = embed_chunk_size(len(missing))
        # A new pass covers the items of the chunks given up before: they are history now.
        EmbeddingChunk.objects.filter(
            project_id=project_id, model_id=model_id, state=EmbeddingChunk.State.FAILED
        ).delete()
        now = timezone.now()
        planned = EmbeddingChunk.objects.bulk_create(
            [
                EmbeddingChunk(
                    project_id=project_id,
                    model_id=model_id,
                    first_item_id=part[0],
                    last_item_id=part[-1],
                    items_planned=len(part),
                    heartbeat_at=now,  # queued now: a lost message shows as a stale chunk
                )
                for part in chunks(missing, size)
            ]
        )
        ids = [c.pk for c in planned] if all(c.pk for c in planned) else None
        if ids is None:  # backends that do not return ids from a bulk insert
            ids = list(
                _open_chunks(project_id=project_id, model_id=model_id).values_list("pk", flat=True)
            )
        for chunk_id in ids:
            jobs.enqueue_embedding_chunk(chunk_id=chunk_id)
    logger.info(
        "embedding pass for project %s: %s items in %s chunks", project_id, len(missing), len(ids)
    )
    return len(ids)


def _chunk_claim(*, chunk_id: int, job_id: str, model_id: str) -> EmbeddingChunk | None:
    """Take the chunk for this job, or None: done or failed already, or running in another
    live worker (a duplicate delivery), or given up after MAX_ATTEMPTS."""
    with transaction.atomic():
        chunk = EmbeddingChunk.objects.select_for_update().filter(pk=chunk_id).first()
        if chunk is None or chunk.state not in EmbeddingChunk.OPEN:
            return None
        if (
            chunk.state == EmbeddingChunk.State.RUNNING
            and chunk.job_id != job_id
            and not is_stale(chunk.heartbeat_at)
        ):
            return None
        if chunk.model_id != model_id:
            chunk.state = EmbeddingChunk.State.FAILED
            chunk.error = (
                f"this worker embeds with {model_id}, the chunk was planned for "
                f"{chunk.model_id}: the workers' SKEIN_EMBEDDER settings differ"
            )
            chunk.heartbeat_at = timezone.now()
            chunk.save(update_fields=["state", "error", "heartbeat_at"])
            return None
        if chunk.attempts >= MAX_ATTEMPTS:
            chunk.state = EmbeddingChunk.State.FAILED
            chunk.error = f"Gave up after {chunk.attempts} attempts. {chunk.error}".strip()[:4000]
            chunk.heartbeat_at = timezone.now()
            chunk.save(update_fields=["state", "error", "heartbeat_at"])
            return None
        chunk_take(chunk, job_id=job_id, resumed="resumed")
    return chunk


def embedding_chunk_run(*, chunk_id: int, job_id: str) -> int | None:
    """Embed the chunk's items that still lack a vector; returns how many were computed,
    or None when this job did not run it (see ``_chunk_claim``) or lost it part-way."""
    embedder = loaded_embedder()
    if embedder is None:
        return None
    chunk = _chunk_claim(chunk_id=chunk_id, job_id=job_id, model_id=embedder.model_id)
    if chunk is None:
        return None
    ids = list(
        Item.objects.filter(
            project_id=chunk.project_id,
            data_erased_at__isnull=True,
            id__gte=chunk.first_item_id,
            id__lte=chunk.last_item_id,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    missing = items_without_embedding(
        project_id=chunk.project_id, model_id=chunk.model_id, item_ids=ids
    )
    ours = EmbeddingChunk.objects.filter(
        pk=chunk.pk, job_id=job_id, state=EmbeddingChunk.State.RUNNING
    )
    computed = 0
    for batch in chunks(missing, BATCH):
        data = dict(
            Item.objects.filter(pk__in=batch, data_erased_at__isnull=True).values_list("id", "data")
        )
        kept = [item_id for item_id in batch if item_id in data]
        vectors = embedder.embed([embedding_text(data[item_id] or {}) for item_id in kept])
        with transaction.atomic():
            # The heartbeat and the check that the chunk is still ours, with the write.
            if not ours.update(
                heartbeat_at=timezone.now(), items_embedded=F("items_embedded") + len(kept)
            ):
                return None  # taken over by another worker after a stale heartbeat
            if kept:
                item_embeddings_write(
                    project_id=chunk.project_id,
                    model_id=chunk.model_id,
                    item_ids=kept,
                    vectors=vectors,
                )
        computed += len(kept)
        fault_sleep("embed")
    now = timezone.now()
    if not ours.update(
        state=EmbeddingChunk.State.DONE, heartbeat_at=now, finished_at=now, error=""
    ):
        return None
    if not _open_chunks(project_id=chunk.project_id, model_id=chunk.model_id).exists():
        # The pass is over: its vectors go into the similarity index and near-duplicate
        # groups now rather than at the similarity tick (two chunks ending together queue
        # two refreshes: they lock the index, and the second finds nothing new); items
        # imported while it ran (their own request found it open) get the next pass now; and
        # a project without a model gets its cold start (clusters of these vectors) now,
        # through a training check.
        jobs.enqueue_similarity_refresh(project_id=chunk.project_id, model_id=chunk.model_id)
        embedding_pass_start(project_id=chunk.project_id)
        if Project.objects.filter(pk=chunk.project_id, training_enabled=True).exists():
            jobs.enqueue_training_check(project_id=chunk.project_id)
    return computed


def embedding_chunk_retry_note(*, chunk_id: int, job_id: str, error: str) -> None:
    """A chunk attempt raised: back to pending (Celery retries it) with the reason shown."""
    EmbeddingChunk.objects.filter(
        pk=chunk_id, state=EmbeddingChunk.State.RUNNING, job_id=job_id
    ).update(state=EmbeddingChunk.State.PENDING, error=error[:4000], heartbeat_at=timezone.now())


def embedding_chunk_fail(*, chunk_id: int, error: str) -> None:
    """Give up on a chunk (its retries are spent): failed, with the reason shown."""
    EmbeddingChunk.objects.filter(pk=chunk_id, state__in=EmbeddingChunk.OPEN).update(
        state=EmbeddingChunk.State.FAILED, error=error[:4000], heartbeat_at=timezone.now()
    )
    logger.warning("embedding chunk %s failed: %s", chunk_id, error[:200])


def embedding_chunks_reap(*, model_id: str, now: Any = None) -> dict[str, int]:
    """Queue again the chunks whose worker died (running, heartbeat stale) or whose message
    was lost (pending, queued longer than ``stale_after`` ago while its pass made no progress:
    in a long pass the last chunks wait their turn for longer than that, and their messages
    are still queued); fail those out of attempts."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    counts = {"embed_requeued": 0, "embed_failed": 0}
    chunks_of = EmbeddingChunk.objects.filter(model_id=model_id)
    progressing = set(
        chunks_of.filter(
            state__in=(EmbeddingChunk.State.RUNNING, EmbeddingChunk.State.DONE),
            heartbeat_at__gte=cutoff,
        ).values_list("project_id", flat=True)
    )
    stale = chunks_of.filter(state__in=EmbeddingChunk.OPEN, heartbeat_at__lt=cutoff).exclude(
        state=EmbeddingChunk.State.PENDING, project_id__in=progressing
    )
    for chunk in stale:
        if chunk.state == EmbeddingChunk.State.RUNNING and chunk.attempts >= MAX_ATTEMPTS:
            embedding_chunk_fail(
                chunk_id=chunk.pk,
                error=(
                    f"Gave up: the worker stopped responding {chunk.attempts} times. "
                    f"{chunk.error}".strip()
                ),
            )
            counts["embed_failed"] += 1
            continue
        with transaction.atomic():
            moved = EmbeddingChunk.objects.filter(
                pk=chunk.pk, state=chunk.state, heartbeat_at__lt=cutoff
            ).update(
                state=EmbeddingChunk.State.PENDING,
                heartbeat_at=now,
                error=(
                    f"attempt {chunk.attempts}: the worker stopped responding; queued again"
                    if chunk.state == EmbeddingChunk.State.RUNNING
                    else chunk.error
                ),
            )
            if moved:
                jobs.enqueue_embedding_chunk(chunk_id=chunk.pk)
                counts["embed_requeued"] += 1
    return counts


def _needs_pass(*, project_id: int, model_id: str, full: bool) -> bool:
    """Whether the project has items lacking a vector. Cheap by default: only items above
    the newest embedded one (ids grow, and passes cover every item below it), one index
    probe; a full anti-join over the project (seconds at 1,000,000 items) only when
    ``full`` (chunks were given up, so holes may lie below)."""
    lacking = items_lacking_embedding(project_id=project_id, model_id=model_id)
    if not full:
        top = ItemEmbedding.objects.filter(project_id=project_id, model_id=model_id).aggregate(
            top=Max("item_id")
        )["top"]
        if top is not None:
            lacking = lacking.filter(id__gt=top)
    return lacking.exists()


def embedding_tick(*, now: Any = None) -> dict[str, int]:
    """The learning tick's embedding round: recover lost chunks, then start a pass for each
    project with items lacking a vector and no pass open (none within ``stale_after`` of a
    failed chunk, so a chunk that keeps failing is not retried every minute)."""
    if embedder_name() is None:
        return {}
    embedder = loaded_embedder()
    if embedder is None:
        return {}
    model_id = embedder.model_id
    now = now or timezone.now()
    counts = embedding_chunks_reap(model_id=model_id, now=now)
    chunks_of = EmbeddingChunk.objects.filter(model_id=model_id)
    busy = set(
        chunks_of.filter(state__in=EmbeddingChunk.OPEN).values_list("project_id", flat=True)
    ) | set(
        chunks_of.filter(
            state=EmbeddingChunk.State.FAILED, heartbeat_at__gte=now - stale_after()
        ).values_list("project_id", flat=True)
    )
    gave_up = set(
        chunks_of.filter(state=EmbeddingChunk.State.FAILED).values_list("project_id", flat=True)
    )
    started = 0
    for project_id in Project.objects.exclude(pk__in=busy).values_list("pk", flat=True):
        if _needs_pass(
            project_id=project_id, model_id=model_id, full=project_id in gave_up
        ) and embedding_pass_start(project_id=project_id):
            started += 1
    counts["embed_passes"] = started
    return counts
