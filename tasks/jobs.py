"""Celery jobs: ids in, one service call each."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

from annotation.models import LabelSet
from annotation.services.exports import labelset_build
from tasks import dispatch
from tasks.base import job
from tasks.services import models as versions
from tasks.services.scoring import chunk_score, scoring_finish
from tasks.services.training import NotEnoughLabels, model_train

logger = logging.getLogger(__name__)


@job(name=dispatch.BUILD_LABELSET, time_limit=3600)
def build_labelset(self: Any, labelset_id: int) -> None:
    try:
        labelset_build(labelset_id=labelset_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            LabelSet.objects.filter(pk=labelset_id).update(state=LabelSet.State.FAILED,
                                                           error=str(exc)[:2000])
            raise
        raise self.retry(exc=exc) from exc


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@job(name=dispatch.TRAIN, time_limit=3600)
def train_model(self: Any, version_id: int) -> None:
    try:
        model_train(version_id=version_id, job_id=self.request.id)
    except NotEnoughLabels as exc:
        versions.version_fail(version_id=version_id, error=str(exc))
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            versions.version_fail(version_id=version_id, error=_reason(exc))
            raise
        versions.version_retry_note(version_id=version_id, job_id=self.request.id,
                                    error=f"Attempt failed, retrying: {_reason(exc)}")
        raise self.retry(exc=exc) from exc


@job(name=dispatch.SCORE_CHUNK, time_limit=1800)
def score_chunk(self: Any, chunk_id: int) -> None:
    try:
        finished = chunk_score(chunk_id=chunk_id, job_id=self.request.id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            from tasks.models import ScoreChunk

            version_id = ScoreChunk.objects.filter(pk=chunk_id).values_list(
                "version_id", flat=True).first()
            if version_id:
                versions.version_fail(version_id=version_id,
                                      error=f"Scoring chunk failed: {_reason(exc)}")
            raise
        versions.chunk_retry_note(chunk_id=chunk_id, job_id=self.request.id,
                                  error=_reason(exc))
        raise self.retry(exc=exc) from exc
    if finished is not None:
        _finish(finished)


def _finish(version_id: int) -> None:
    """Activate right away in the job that wrote the last chunk."""
    try:
        scoring_finish(version_id=version_id)
    except Exception:
        # The chunks are written; a separate activation job (with its own retries) and the
        # periodic tick take it from here.
        logger.exception("activating model version %s failed; queued again", version_id)
        dispatch.enqueue_finish(version_id=version_id)


@job(name=dispatch.FINISH, time_limit=1800)
def finish_scoring(self: Any, version_id: int) -> None:
    try:
        scoring_finish(version_id=version_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            versions.version_fail(version_id=version_id,
                                  error=f"Activation failed: {_reason(exc)}")
            raise
        raise self.retry(exc=exc) from exc


@job(name=dispatch.CHECK, time_limit=600)
def check_training(self: Any, project_id: int) -> None:
    versions.training_check(project_id=project_id)


@job(name=dispatch.TICK, time_limit=600, max_retries=0)
def learning_tick(self: Any) -> None:
    counts = versions.learning_tick()
    if any(counts.values()):
        logger.info("learning tick: %s", counts)


@worker_ready.connect
def _tick_on_start(**_: Any) -> None:
    """A fresh worker looks for runs a dead worker left behind, without waiting for beat."""
    dispatch.enqueue_tick()
