"""The lifecycle rules every learning-loop service shares (a leaf: scoring, training,
embedding and the version services import it, it imports none of them): how many attempts a
run gets, when a run's worker counts as dead, taking a chunk, failing a version, noting a
failed attempt, its heartbeat."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from annotation.services.audit import audit_record
from tasks.models import EmbeddingChunk, ModelVersion, ScoreChunk

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # runs of one training (or one chunk) before the version is failed


def stale_after() -> timedelta:
    """How long a run may go without a heartbeat before its worker counts as dead."""
    return timedelta(seconds=getattr(settings, "SKEIN_JOB_STALE_SECONDS", 600))


def is_stale(heartbeat_at: Any, *, now: Any = None) -> bool:
    return heartbeat_at is None or heartbeat_at < (now or timezone.now()) - stale_after()


def chunk_take(chunk: ScoreChunk | EmbeddingChunk, *, job_id: str, resumed: str) -> None:
    """Mark a chunk claimed (row locked by the caller) as this job's: running, one more
    attempt, a fresh heartbeat; a chunk found running lost its worker, which the error says
    (``resumed`` tells what happens now)."""
    if chunk.state == "running":
        chunk.error = f"attempt {chunk.attempts}: the worker was lost; {resumed}"
    chunk.state = "running"
    chunk.attempts += 1
    chunk.job_id = job_id
    chunk.heartbeat_at = timezone.now()
    chunk.save(update_fields=["state", "attempts", "job_id", "heartbeat_at", "error"])


def model_version_fail(*, version_id: int, error: str) -> None:
    """Give up on a run: the version shows the reason; whatever was active stays active.

    A version that served before (a roll-back that failed) returns to retired, its artifact
    intact; a new one is failed."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None or version.state not in ModelVersion.RUNNING:
            return
        version.state = (
            ModelVersion.State.RETIRED if version.activated_at else ModelVersion.State.FAILED
        )
        version.error = error[:4000]
        version.save(update_fields=["state", "error", "updated_at"])
        audit_record(
            actor=None,
            project=version.project,
            target=f"v{version.version}",
            action=("model.activation_failed" if version.activated_at else "model.training_failed"),
            details={
                "version": version.version,
                "attempts": version.attempts,
                "trigger": version.trigger,
                "error": version.error,
            },
        )
    logger.warning("model version %s failed: %s", version_id, error[:200])


def model_version_heartbeat(*, version_id: int) -> None:
    ModelVersion.objects.filter(pk=version_id).update(heartbeat_at=timezone.now())


def model_version_retry_note(*, version_id: int, job_id: str, error: str) -> None:
    """A training attempt raised: back to queued (Celery retries it) with the reason shown."""
    ModelVersion.objects.filter(
        pk=version_id, state=ModelVersion.State.TRAINING, job_id=job_id
    ).update(state=ModelVersion.State.QUEUED, error=error[:4000], heartbeat_at=timezone.now())


def score_chunk_retry_note(*, chunk_id: int, job_id: str, error: str) -> None:
    """A chunk attempt raised: back to pending (Celery retries it) with the reason shown."""
    ScoreChunk.objects.filter(pk=chunk_id, state=ScoreChunk.State.RUNNING, job_id=job_id).update(
        state=ScoreChunk.State.PENDING, error=error[:4000]
    )
