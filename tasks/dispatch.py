"""Enqueueing jobs after the transaction commits; a broker outage is recorded, not hidden.

Learning-loop jobs never make a labeler's request fail: when the broker is unreachable the
failure is logged (and shown on the model version), and the periodic tick re-queues the
work once the broker is back (see tasks.services.models.jobs_reap).

Jobs are sent by name, never by importing ``tasks.jobs``: that module pulls in the learning
code (scikit-learn, SciPy, modAL), and the web process, which enqueues on a labeler's
submit, must never load it (a 1-2 s stall and over 100 MB per web worker). The names are
declared here and used by the ``@job`` declarations in ``tasks/jobs.py``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import current_app
from django.db import transaction

from annotation.models import LabelSet
from tasks.base import job_name

logger = logging.getLogger(__name__)

# The jobs of tasks/jobs.py, by the name each is declared with.
BUILD_LABELSET = "labelset.build"
TRAIN = "learning.train"
SCORE_CHUNK = "learning.score_chunk"
FINISH = "learning.finish"
CHECK = "learning.check"
TICK = "learning.tick"


def _publish(name: str, args: list[Any]) -> None:
    current_app.send_task(job_name(name), args=args, retry=False)


def enqueue_labelset_build(*, labelset_id: int) -> None:
    def send() -> None:
        try:
            _publish(BUILD_LABELSET, [labelset_id])
        except Exception as exc:  # broker unreachable: say so on the snapshot itself
            logger.exception("could not enqueue label set %s", labelset_id)
            LabelSet.objects.filter(pk=labelset_id).update(
                state=LabelSet.State.FAILED,
                error=f"The job queue is unreachable ({type(exc).__name__}); request the "
                      "snapshot again when it is back.")

    transaction.on_commit(send)


# After a failed publish, best-effort jobs are not even tried for this long: a broker
# outage must not add the connection timeout to every few labelers' submits.
BREAKER_SECONDS = 15.0
_broker_down_until = 0.0


def send_after_commit(name: str, args: list[Any], *, what: str,
                      on_error: Callable[[Exception], None] | None = None,
                      best_effort: bool = False) -> None:
    """Publish the job declared as ``@job(name=name)`` once the transaction commits. A
    failure is logged and handed to ``on_error``; ``best_effort`` jobs (re-queued by the
    periodic tick anyway) are skipped while the broker failed moments ago in this process."""

    def send() -> None:
        global _broker_down_until
        if best_effort and time.monotonic() < _broker_down_until:
            if on_error is not None:
                on_error(ConnectionError("the broker was unreachable moments ago"))
            return
        try:
            _publish(name, args)
        except Exception as exc:  # broker unreachable: labeling goes on; the tick retries
            _broker_down_until = time.monotonic() + BREAKER_SECONDS
            logger.warning("could not enqueue %s %s: %s", what, args, exc)
            if on_error is not None:
                on_error(exc)

    transaction.on_commit(send)


def _version_note(version_id: int) -> Callable[[Exception], None]:
    def note(exc: Exception) -> None:
        from tasks.models import ModelVersion

        # No heartbeat: the next tick after the broker is back sends it again.
        ModelVersion.objects.filter(pk=version_id).update(
            heartbeat_at=None,
            error=f"The job queue is unreachable ({type(exc).__name__}); the job is queued "
                  "again automatically when it is back.")

    return note


def enqueue_train(*, version_id: int) -> None:
    send_after_commit(TRAIN, [version_id], what="training",
                      on_error=_version_note(version_id))


def enqueue_chunk(*, chunk_id: int) -> None:
    send_after_commit(SCORE_CHUNK, [chunk_id], what="scoring chunk")


def enqueue_finish(*, version_id: int) -> None:
    send_after_commit(FINISH, [version_id], what="activation",
                      on_error=_version_note(version_id))


def enqueue_training_check(*, project_id: int) -> None:
    send_after_commit(CHECK, [project_id], what="training check", best_effort=True)


def enqueue_tick() -> None:
    send_after_commit(TICK, [], what="learning tick")
