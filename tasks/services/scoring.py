"""Scoring the pool with a model version, in chunks any worker can take, then activating it.

How old and new priorities meet: a scoring pass rewrites every item of the pool (items still
needing annotations, gold items too) by item-id ranges, each chunk in short committed
batches (so labelers are never locked out of the pool, see ``model_version_score_chunk``), with
chunk scores in [0, 1) on a fixed scale. The job that writes the last chunk re-ranks the top
candidates into the next batch (priorities in [1, 2], diversity + exploration from
tasks.learning) and, in the same transaction, makes the version active and retires the old
one. While chunks are being written the queue serves a mix of old and new chunk scores, both
on the same [0, 1) scale, and the old batch (in [1, 2]) until its chunk is rewritten; each
item's suggestion names the version that made it (``scored_by_version``). Items imported after a
pass began keep priority 0 and are served in the seeded random order after scored ones.
A pass that fails part-way leaves the chunks it wrote (their items name the failed version
in ``scored_by_version``); the previous version stays active, and the next pass rewrites them all.

Cold start, before any model, is tasks.services.cold_start.
"""

from __future__ import annotations

import logging
import math
import random
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from annotation.models import Item, Project
from annotation.services.audit import audit_record
from annotation.services.bulk import item_statistics_refresh
from annotation.services.items_sql import item_scores_write
from tasks import jobs
from tasks.learning import (
    Featurizer,
    batch_priorities,
    candidate_count,
    exploration_count,
    score_chunk,
)
from tasks.models import ModelVersion, ScoreChunk
from tasks.services.artifacts import artifact_load
from tasks.services.faults import fault_sleep
from tasks.services.images import featurize, featurize_columns
from tasks.services.label_names import renamed_predictions
from tasks.services.lifecycle import MAX_ATTEMPTS, chunk_take, is_stale, model_version_fail
from tasks.services.text_features import featurizer_vectors

logger = logging.getLogger(__name__)

MAX_BATCH = 500
# Rows per committed score write. An UPDATE of 1,000 items takes ~20 ms on the bench
# machine, so the row locks a write holds (which claims skip, and submits wait for) last
# that long; a 20,000-item chunk in one statement held them 0.34-0.50 s and was not
# faster overall (bench/README.md, "Big writes and the queue").
SCORE_WRITE_BATCH = 1000


def chunk_size() -> int:
    return int(getattr(settings, "SKEIN_SCORE_CHUNK", 20_000))


def predicted_of(project_id: int) -> QuerySet[Item]:
    """The items a model scores: not complete, data not erased, gold items included. Gold
    items get a suggestion like any other item, so that a labeler cannot tell them by its
    absence; they are never ranked into a batch (the queue draws gold at ``gold_rate``)."""
    return Item.objects.filter(project_id=project_id, data_erased_at__isnull=True).exclude(
        state=Item.State.COMPLETE
    )


def pool_of(project_id: int) -> QuerySet[Item]:
    """The items the queue ranks: those a model scores, without gold."""
    return predicted_of(project_id).filter(is_gold=False)


def batch_size_for(project: Project) -> int:
    """Items served between two retrains: retrain_every labels at `overlap` per item."""
    return max(1, min(MAX_BATCH, math.ceil(project.retrain_every / max(1, project.overlap))))


def _async_commit() -> None:
    """Inside the current transaction: don't wait for its WAL flush at commit. Scores are
    recomputable (a crash loses at most the last moments of writes, never consistency), so
    scoring doesn't need to pay for a disk flush per chunk."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def read_chunk(
    queryset: QuerySet[Item], featurizer: Featurizer
) -> tuple[list[int], dict[str, list[Any]]]:
    """Ids and the featurizer's fields of the items of `queryset`, column by column. Text-only
    specs read just `data->>field` as text (no JSON decoding of whole items); others read
    `data` and pick the fields."""
    fields = featurizer.spec.fields
    if all(f.kind == "text" for f in fields):
        names = {f"_f{n}": f.name for n, f in enumerate(fields)}
        rows = list(
            queryset.annotate(
                **{alias: KeyTextTransform(name, "data") for alias, name in names.items()}
            ).values_list("id", *names)
        )
        return (
            [r[0] for r in rows],
            {name: [r[n + 1] for r in rows] for n, name in enumerate(names.values())},
        )
    rows = list(queryset.values_list("id", "data"))
    return (
        [r[0] for r in rows],
        {f.name: [(r[1] or {}).get(f.name) for r in rows] for f in fields},
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


# ----- a scoring pass ------------------------------------------------------------------------
def model_version_score_start(*, version: ModelVersion) -> int:
    """Plan a pass over the pool (call inside the caller's transaction): chunks by item-id
    ranges, the version in state scoring, one job per chunk queued after commit."""

    ScoreChunk.objects.filter(version=version).delete()
    ids = list(predicted_of(version.project_id).order_by("id").values_list("id", flat=True))
    size = chunk_size()
    chunks = [
        ScoreChunk(
            version=version,
            index=n,
            first_item_id=ids[start],
            last_item_id=ids[min(start + size, len(ids)) - 1],
        )
        for n, start in enumerate(range(0, len(ids), size))
    ]
    ScoreChunk.objects.bulk_create(chunks)
    ModelVersion.objects.filter(pk=version.pk).update(
        state=ModelVersion.State.SCORING,
        chunks_total=len(chunks),
        chunks_done=0,
        heartbeat_at=timezone.now(),
        job_id="",
    )
    version.state = ModelVersion.State.SCORING
    version.chunks_total, version.chunks_done = len(chunks), 0
    if not chunks:
        jobs.enqueue_finish(version_id=version.pk)
    for chunk_id in ScoreChunk.objects.filter(version=version).values_list("pk", flat=True):
        jobs.enqueue_chunk(chunk_id=chunk_id)
    return len(chunks)


def _claim_chunk(*, chunk_id: int, job_id: str) -> ScoreChunk | None:
    with transaction.atomic():
        chunk = (
            ScoreChunk.objects.select_for_update(of=("self",))
            .select_related("version", "version__project")
            .filter(pk=chunk_id)
            .first()
        )
        if (
            chunk is None
            or chunk.state == ScoreChunk.State.DONE
            or chunk.version.state != ModelVersion.State.SCORING
        ):
            return None
        if (
            chunk.state == ScoreChunk.State.RUNNING
            and chunk.job_id != job_id
            and not is_stale(chunk.heartbeat_at)
        ):
            return None
        if chunk.attempts >= MAX_ATTEMPTS:
            version_id = chunk.version_id
            transaction.on_commit(
                lambda: model_version_fail(
                    version_id=version_id,
                    error=(
                        f"Gave up: scoring chunk {chunk.index} failed {chunk.attempts} times. "
                        f"{chunk.error}".strip()
                    ),
                )
            )
            return None
        chunk_take(chunk, job_id=job_id, resumed="retrying")
    return chunk


def _still_ours(*, chunk_id: int, job_id: str) -> bool:
    return (
        ScoreChunk.objects.filter(
            pk=chunk_id, job_id=job_id, version__state=ModelVersion.State.SCORING
        )
        .exclude(state=ScoreChunk.State.DONE)
        .exists()
    )


def model_version_score_chunk(*, chunk_id: int, job_id: str) -> int | None:
    """Score one chunk and write it; returns the version id when it was the pass's last
    chunk (the caller then runs ``model_version_score_finish``), else None.

    The scores are written ``SCORE_WRITE_BATCH`` rows per transaction, then the chunk is
    marked done in a short transaction of its own. A write holds row locks on its items
    until it commits, and the queue's claim skips locked rows: a whole chunk in one
    transaction kept its items from labelers (and their submits waiting) for as long as
    the chunk took. A chunk interrupted between batches is not done, and is scored again
    (same version, same seed: the rows already written are unchanged and skipped)."""
    chunk = _claim_chunk(chunk_id=chunk_id, job_id=job_id)
    if chunk is None:
        return None
    version = chunk.version
    assert version.artifact.name is not None  # NOT NULL column; the stubs say str | None
    artifact = artifact_load(version.artifact.name)
    ids, columns = read_chunk(
        predicted_of(version.project_id)
        .filter(id__gte=chunk.first_item_id, id__lte=chunk.last_item_id)
        .order_by("id"),
        artifact.featurizer,
    )
    fault_sleep("score")
    if ids:
        vectors = featurizer_vectors(
            project_id=version.project_id, item_ids=ids, featurizer=artifact.featurizer
        )
        X = featurize_columns(
            artifact.featurizer,
            columns,
            len(ids),
            project_id=version.project_id,
            heartbeat=lambda: ScoreChunk.objects.filter(pk=chunk_id, job_id=job_id).update(
                heartbeat_at=timezone.now()
            ),
            embeddings=vectors,
        )
        del columns
        seed = int(version.project.seed) + 7919 * version.version + chunk.index
        scores = score_chunk(artifact.model, X, artifact.strategy, seed)
        del X
        labels = [_jsonable(x) for x in scores.predicted_labels]
        labels = [x if isinstance(x, list) else [x] for x in labels]
        labels = renamed_predictions(labels, version.label_renames or {})
    for start in range(0, len(ids), SCORE_WRITE_BATCH):
        end = start + SCORE_WRITE_BATCH
        with transaction.atomic():
            if not _still_ours(chunk_id=chunk.pk, job_id=job_id):
                return None  # the version failed, or another worker finished the chunk
            _async_commit()
            item_scores_write(
                ids=ids[start:end],
                priority=scores.priority[start:end],
                labels=labels[start:end],
                confidence=scores.confidence[start:end],
                scored_by_version=version.version,
            )
    now = timezone.now()
    with transaction.atomic():
        _async_commit()
        if (
            not ScoreChunk.objects.filter(pk=chunk.pk, job_id=job_id)
            .exclude(state=ScoreChunk.State.DONE)
            .update(state=ScoreChunk.State.DONE, items_scored=len(ids), heartbeat_at=now)
        ):
            return None  # another worker finished it meanwhile
        if not ModelVersion.objects.filter(pk=version.pk, state=ModelVersion.State.SCORING).update(
            chunks_done=F("chunks_done") + 1, heartbeat_at=now
        ):
            transaction.set_rollback(True)  # the version failed meanwhile
            return None
        done, total = (
            ModelVersion.objects.filter(pk=version.pk)
            .values_list("chunks_done", "chunks_total")
            .get()
        )
    return version.pk if done >= total else None


def activation_direction(version: int, active: int | None) -> str:
    """A roll-back goes to an older version than the active one; anything else is forward."""
    return "rollback" if active is not None and version < active else "forward"


def _class_information(
    version: ModelVersion, candidates: list[tuple[Any, ...]]
) -> tuple[list[str] | None, list[str] | None]:
    """Single-label: each candidate's predicted label and the training labels (from the
    version's label counts), so the batch spreads over classes; (None, None) otherwise."""
    counts = (version.metrics or {}).get("label_counts")
    if not counts:
        return None, None
    predicted = [str(c[3][0]) if c[3] else "" for c in candidates]
    labeled = [str(label) for label, n in counts.items() for _ in range(int(n))]
    return predicted, labeled


def model_version_score_finish(*, version_id: int) -> ModelVersion | None:
    """Re-rank the top candidates into the next batch and activate the version (the old
    active one retired), all in one transaction; a no-op unless every chunk is written."""
    version = ModelVersion.objects.select_related("project").filter(pk=version_id).first()
    if (
        version is None
        or version.state != ModelVersion.State.SCORING
        or version.chunks_done < version.chunks_total
    ):
        return None
    project = version.project
    assert version.artifact.name is not None  # NOT NULL column; the stubs say str | None
    artifact = artifact_load(version.artifact.name)
    batch = batch_size_for(project)
    seed = int(project.seed) + 7919 * version.version
    pool = pool_of(project.pk)
    candidates = list(
        pool.filter(scored_by_version=version.version, priority__lt=1.0)
        .order_by("-priority", "random_key")
        .values_list("id", "data", "priority", "predicted_labels")[: candidate_count(batch)]
    )
    taken = {c[0] for c in candidates}
    start = random.Random(seed).random()
    explore = [
        r
        for r in pool.filter(random_key__gte=start)
        .order_by("random_key")
        .values_list("id", "data")[: exploration_count(batch) + len(taken)]
        if r[0] not in taken
    ][: exploration_count(batch)]
    writes: tuple[list[int], list[float]] = ([], [])
    if candidates:
        featurizer = artifact.featurizer
        vectors = featurizer_vectors(
            project_id=project.pk,
            item_ids=[c[0] for c in candidates] + [r[0] for r in explore],
            featurizer=featurizer,
        )
        X_candidates: Any
        X_random: Any
        if vectors is not None:  # diversity and density between the items' embeddings
            X_candidates, X_random = vectors[: len(candidates)], vectors[len(candidates) :]
        else:
            X_candidates = featurize(featurizer, [c[1] for c in candidates], project_id=project.pk)
            X_random = (
                featurize(featurizer, [r[1] for r in explore], project_id=project.pk)
                if explore
                else None
            )
        predicted, labeled_classes = _class_information(version, candidates)
        plan = batch_priorities(
            np.array([c[2] for c in candidates]),
            X_candidates,
            None,
            batch_size=batch,
            seed=seed,
            X_random=X_random if explore else None,
            batch_mode=True,
            predicted=predicted,
            labeled_classes=labeled_classes,
        )
        for (item_id, _, old, _), new in zip(candidates, plan.candidates, strict=True):
            if new != old:
                writes[0].append(item_id)
                writes[1].append(float(new))
        for (item_id, _), new in zip(explore, plan.random, strict=True):
            if not np.isnan(new):
                writes[0].append(item_id)
                writes[1].append(float(new))
    now = timezone.now()
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().get(pk=version_id)
        if current.state != ModelVersion.State.SCORING:
            return None
        if writes[0]:
            item_scores_write(
                ids=writes[0],
                priority=writes[1],
                labels=None,
                confidence=None,
                scored_by_version=None,
            )
        replaced = (
            ModelVersion.objects.filter(project_id=project.pk, state=ModelVersion.State.ACTIVE)
            .values_list("version", flat=True)
            .first()
        )
        ModelVersion.objects.filter(project_id=project.pk, state=ModelVersion.State.ACTIVE).update(
            state=ModelVersion.State.RETIRED, updated_at=now
        )
        current.state = ModelVersion.State.ACTIVE
        current.activated_at = now
        current.heartbeat_at = now
        current.save(update_fields=["state", "activated_at", "heartbeat_at", "updated_at"])
        audit_record(
            actor=current.requested_by,
            action="model.activated",
            project=project,
            target=f"v{current.version}",
            details={
                "version": current.version,
                "replaced": replaced,
                "trigger": current.trigger,
                "direction": activation_direction(current.version, replaced),
            },
        )
        # The pass rewrote priorities, predictions and scored_by_version of the whole pool.
        scored = (
            ScoreChunk.objects.filter(version_id=version_id).aggregate(n=Sum("items_scored"))["n"]
            or 0
        )
        transaction.on_commit(lambda: item_statistics_refresh(changed=scored), robust=True)
    logger.info("model v%s of project %s is active", current.version, project.pk)
    return current
