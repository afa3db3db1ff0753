"""The learning loop's Celery jobs (ids in, one service call each) and the helpers that
enqueue them by name.

Imported by the web process for the ``enqueue_*`` helpers, so job bodies import their
services inside the function: those pull in scikit-learn, SciPy and modAL, which a web
worker must never load (see ``config.jobs``). A broker outage never fails a labeler's
request: it is logged (and shown on the model version), and the periodic tick re-queues
the work once the broker is back (see ``tasks.services.models.jobs_reap``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from config.jobs import (
    DEFAULT_RETRIES,
    at_worker_start,
    job,
    preload_in_worker,
    send_after_commit,
)
from tasks.models import ModelVersion, ScoreChunk
from tasks.services.lifecycle import (
    model_version_fail,
    model_version_retry_note,
    score_chunk_retry_note,
)

logger = logging.getLogger(__name__)

# A worker loads them once, before its pool forks (web workers never do).
preload_in_worker(
    "tasks.services.training",
    "tasks.services.scoring",
    "tasks.services.cold_start",
    "tasks.services.models",
    "tasks.services.embedding_passes",
    "tasks.learning.embeddings",
    "tasks.services.endpoint",
)

# Registered names (persisted in queued messages and the beat schedule): keep them stable.
TRAIN = "learning.train"
SCORE_CHUNK = "learning.score_chunk"
FINISH = "learning.finish"
CHECK = "learning.check"
TICK = "learning.tick"
SIMILARITY_REFRESH = "similarity.refresh"
SIMILARITY_TICK = "similarity.tick"
EMBED_PASS = "embedding.pass"
EMBED_CHUNK = "embedding.chunk"
ENDPOINT_CHUNK = "predictions.endpoint_chunk"


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _training_retry(version_id: int, *, exc: Exception, job_id: str) -> None:
    model_version_retry_note(
        version_id=version_id, job_id=job_id, error=f"Attempt failed, retrying: {_reason(exc)}"
    )


def _training_give_up(version_id: int, *, exc: Exception) -> None:
    model_version_fail(version_id=version_id, error=_reason(exc))


@job(
    name=TRAIN,
    time_limit=3600,
    retries=DEFAULT_RETRIES,
    on_retry=_training_retry,
    give_up=_training_give_up,
)
def train_model_job(self: Any, version_id: int) -> None:
    # Imported here: training loads scikit-learn (see the module docstring).
    from tasks.services.training import NotEnoughLabels, model_version_train  # noqa: PLC0415

    try:
        model_version_train(version_id=version_id, job_id=self.request.id)
    except NotEnoughLabels as exc:
        model_version_fail(version_id=version_id, error=str(exc))


def _chunk_retry(chunk_id: int, *, exc: Exception, job_id: str) -> None:
    score_chunk_retry_note(chunk_id=chunk_id, job_id=job_id, error=_reason(exc))


def _chunk_give_up(chunk_id: int, *, exc: Exception) -> None:
    version_id = ScoreChunk.objects.filter(pk=chunk_id).values_list("version_id", flat=True).first()
    if version_id:
        model_version_fail(version_id=version_id, error=f"Scoring chunk failed: {_reason(exc)}")


@job(
    name=SCORE_CHUNK,
    time_limit=1800,
    retries=DEFAULT_RETRIES,
    on_retry=_chunk_retry,
    give_up=_chunk_give_up,
)
def score_chunk_job(self: Any, chunk_id: int) -> None:
    # Imported here: scoring loads scikit-learn (see the module docstring).
    from tasks.services.scoring import model_version_score_chunk, model_version_score_finish  # noqa: PLC0415

    finished = model_version_score_chunk(chunk_id=chunk_id, job_id=self.request.id)
    if finished is None:
        return
    # Activate right away in the job that wrote the last chunk.
    try:
        model_version_score_finish(version_id=finished)
    except Exception:
        # The chunks are written; a separate activation job (with its own retries) and the
        # periodic tick take it from here.
        logger.exception("activating model version %s failed; queued again", finished)
        enqueue_finish(version_id=finished)


def _finish_give_up(version_id: int, *, exc: Exception) -> None:
    model_version_fail(version_id=version_id, error=f"Activation failed: {_reason(exc)}")


@job(name=FINISH, time_limit=1800, retries=DEFAULT_RETRIES, give_up=_finish_give_up)
def finish_scoring_job(self: Any, version_id: int) -> None:
    # Imported here: scoring loads scikit-learn (see the module docstring).
    from tasks.services.scoring import model_version_score_finish  # noqa: PLC0415

    model_version_score_finish(version_id=version_id)


@job(name=CHECK, time_limit=600)
def check_training_job(self: Any, project_id: int) -> None:
    # Imported here: tasks.services.models imports this module to enqueue jobs.
    from tasks.services.models import model_version_request_if_due  # noqa: PLC0415

    model_version_request_if_due(project_id=project_id)


@job(name=TICK, time_limit=600)
def run_learning_tick_job(self: Any) -> None:
    # Imported here: tasks.services.models imports this module to enqueue jobs.
    from tasks.services.models import learning_tick  # noqa: PLC0415

    counts = learning_tick()
    if any(counts.values()):
        logger.info("learning tick: %s", counts)


@job(name=SIMILARITY_REFRESH, time_limit=3600, retries=DEFAULT_RETRIES)
def similarity_refresh_job(self: Any, project_id: int, model_id: str) -> None:
    # Imported here, like the other jobs' services (this module is imported by them).
    from tasks.services.similarity import similarity_refresh  # noqa: PLC0415

    result = similarity_refresh(project_id=project_id, model_id=model_id)
    if result.filed:
        logger.info("similarity refresh of project %s: %s", project_id, result)


@job(name=SIMILARITY_TICK, time_limit=600)
def similarity_tick_job(self: Any) -> None:
    """Queue a refresh for each project with vectors stored since its last one."""
    from tasks.services.similarity import similarity_due  # noqa: PLC0415

    for project_id, model_id in similarity_due():
        enqueue_similarity_refresh(project_id=project_id, model_id=model_id)


@job(name=EMBED_PASS, time_limit=600)
def embedding_pass_job(self: Any, project_id: int) -> None:
    # Imported here: planning loads the embedder (onnxruntime), never in a web process.
    from tasks.services.embedding_passes import embedding_pass_start  # noqa: PLC0415

    embedding_pass_start(project_id=project_id)


def _embed_chunk_retry(chunk_id: int, *, exc: Exception, job_id: str) -> None:
    from tasks.services.embedding_passes import embedding_chunk_retry_note  # noqa: PLC0415

    embedding_chunk_retry_note(chunk_id=chunk_id, job_id=job_id, error=_reason(exc))


def _embed_chunk_give_up(chunk_id: int, *, exc: Exception) -> None:
    from tasks.services.embedding_passes import embedding_chunk_fail  # noqa: PLC0415

    embedding_chunk_fail(chunk_id=chunk_id, error=_reason(exc))


@job(
    name=EMBED_CHUNK,
    time_limit=1800,
    retries=DEFAULT_RETRIES,
    on_retry=_embed_chunk_retry,
    give_up=_embed_chunk_give_up,
)
def embedding_chunk_job(self: Any, chunk_id: int) -> None:
    # Imported here: embedding loads onnxruntime and tokenizers (see the module docstring).
    from tasks.services.embedding_passes import embedding_chunk_run  # noqa: PLC0415

    computed = embedding_chunk_run(chunk_id=chunk_id, job_id=self.request.id)
    if computed is None:
        logger.info("embedding chunk %s: not run by this job (done, or another's)", chunk_id)


def _endpoint_retry(run_id: int, index: int, *, exc: Exception, job_id: str) -> None:
    from tasks.services.endpoint import prediction_run_note  # noqa: PLC0415

    prediction_run_note(run_id=run_id, index=index, error=_reason(exc))


def _endpoint_give_up(run_id: int, index: int, *, exc: Exception) -> None:
    from tasks.services.endpoint import prediction_run_chunk_failed  # noqa: PLC0415

    prediction_run_chunk_failed(
        run_id=run_id, index=index, error=f"gave up after retries: {_reason(exc)}"
    )


@job(
    name=ENDPOINT_CHUNK,
    time_limit=600,
    retries=DEFAULT_RETRIES,
    on_retry=_endpoint_retry,
    give_up=_endpoint_give_up,
)
def endpoint_chunk_job(self: Any, run_id: int, index: int) -> None:
    # Imported here, like the others: the service module is the worker's business.
    from tasks.services.endpoint import prediction_run_chunk  # noqa: PLC0415

    prediction_run_chunk(run_id=run_id, index=index)


@at_worker_start
def _tick_on_start() -> None:
    """A fresh worker looks for runs a dead worker left behind, without waiting for beat."""
    enqueue_tick()


def _version_note(version_id: int) -> Callable[[Exception], None]:
    def note(exc: Exception) -> None:
        # No heartbeat: the next tick after the broker is back sends it again.
        ModelVersion.objects.filter(pk=version_id).update(
            heartbeat_at=None,
            error=f"The job queue is unreachable ({type(exc).__name__}); the job is queued "
            "again automatically when it is back.",
        )

    return note


def enqueue_train(*, version_id: int) -> None:
    send_after_commit(TRAIN, [version_id], what="training", on_error=_version_note(version_id))


def enqueue_chunk(*, chunk_id: int) -> None:
    send_after_commit(SCORE_CHUNK, [chunk_id], what="scoring chunk")


def enqueue_finish(*, version_id: int) -> None:
    send_after_commit(FINISH, [version_id], what="activation", on_error=_version_note(version_id))


def enqueue_training_check(*, project_id: int) -> None:
    send_after_commit(CHECK, [project_id], what="training check", best_effort=True)


def enqueue_embedding_pass(*, project_id: int) -> None:
    # Best effort: the periodic tick starts the pass anyway when this one is lost.
    send_after_commit(EMBED_PASS, [project_id], what="embedding pass", best_effort=True)


def enqueue_embedding_chunk(*, chunk_id: int) -> None:
    # A lost message leaves the chunk pending; the tick queues it again once it is stale.
    send_after_commit(EMBED_CHUNK, [chunk_id], what="embedding chunk")


def enqueue_tick() -> None:
    send_after_commit(TICK, [], what="learning tick")


def enqueue_similarity_refresh(*, project_id: int, model_id: str) -> None:
    """File a project's new vectors in its similarity index and group their near
    duplicates (the embedding jobs call it after their last chunk; the tick catches up)."""
    send_after_commit(
        SIMILARITY_REFRESH, [project_id, model_id], what="similarity refresh", best_effort=True
    )


def enqueue_endpoint_chunk(*, run_id: int, index: int) -> None:
    def unsent(exc: Exception) -> None:
        from tasks.services.endpoint import prediction_run_chunk_failed  # noqa: PLC0415

        prediction_run_chunk_failed(
            run_id=run_id,
            index=index,
            error=f"the job queue is unreachable ({type(exc).__name__}); ask for a new run",
        )

    send_after_commit(ENDPOINT_CHUNK, [run_id, index], what="endpoint chunk", on_error=unsent)
