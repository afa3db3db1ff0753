"""Job plumbing, shared by every app: the one decorator every Celery job is declared with
(name, retries and giving up, time limits in one place), and sending a job by name once the
transaction commits, behind a breaker.

Jobs are sent by name, never by importing the module that declares them: a ``jobs.py`` pulls
in its app's services when a job runs, and the web process, which enqueues on a labeler's
submit, must never load the learning code (scikit-learn, SciPy, modAL: a 1-2 s stall and
over 100 MB per web worker). So each app's ``jobs.py`` imports its services inside the job
bodies and keeps its ``enqueue_*`` helpers, which only send names, next to the jobs.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from celery import current_app, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import transaction

logger = logging.getLogger(__name__)

DEFAULT_RETRIES = 3
RETRY_BACKOFF = 2
RETRY_BACKOFF_MAX = 60
"""A retry waits a random 0..min(2 * 2**attempt, 60) seconds (exponential, full jitter)."""
SOFT_LIMIT_MARGIN = 30
"""Seconds between a job's soft time limit (it may clean up) and its hard one (killed)."""


def job_name(name: str) -> str:
    """The Celery task name of the job declared as ``@job(name=name)``."""
    return f"skein.{name}"


def job(
    *,
    name: str,
    time_limit: int,
    retries: int = 0,
    give_up: Callable[..., None] | None = None,
    on_retry: Callable[..., None] | None = None,
    queue: str | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    """Declare a job: acknowledged late (a dead worker's job is redelivered), rejected on
    worker loss, with a soft time limit ``SOFT_LIMIT_MARGIN`` before the hard one.

    The one retry-or-give-up rule: an exception is retried with backoff up to ``retries``
    times (``on_retry(*args, exc=, job_id=)`` first); after the last attempt
    ``give_up(*args, exc=)`` records the failure and the exception is raised."""
    settings: dict[str, Any] = {
        "name": job_name(name),
        "bind": True,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "max_retries": retries,
        "time_limit": time_limit,
        "soft_time_limit": max(1, time_limit - SOFT_LIMIT_MARGIN),
        **options,
    }
    if queue:
        settings["queue"] = queue

    def declare(body: Callable[..., Any]) -> Any:
        @functools.wraps(body)
        def run(self: Any, *args: Any) -> Any:
            try:
                return body(self, *args)
            except Exception as exc:
                if self.request.retries >= self.max_retries:
                    if give_up is not None:
                        give_up(*args, exc=exc)
                    raise
                if on_retry is not None:
                    on_retry(*args, exc=exc, job_id=self.request.id)
                # Celery's retry_backoff applies to autoretry_for only; a retry asked for
                # by hand waits default_retry_delay (3 min) unless given its countdown.
                countdown = get_exponential_backoff_interval(
                    factor=RETRY_BACKOFF,
                    retries=self.request.retries,
                    maximum=RETRY_BACKOFF_MAX,
                    full_jitter=True,
                )
                raise self.retry(exc=exc, countdown=countdown) from exc

        return shared_task(**settings)(run)

    return declare


_worker_start: list[Callable[[], None]] = []
_worker_preload: list[str] = []


def preload_in_worker(*modules: str) -> None:
    """Import these modules when a worker starts, before its pool forks (config/celery.py),
    so that job bodies which import their services lazily (to keep web workers small) do
    not pay for scikit-learn on a child's first job."""
    _worker_preload.extend(modules)


def worker_preload_modules() -> tuple[str, ...]:
    return tuple(_worker_preload)


def at_worker_start(hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook`` when a worker has started (config/celery.py's one ``worker_ready``
    receiver)."""
    _worker_start.append(hook)
    return hook


def worker_start_hooks() -> tuple[Callable[[], None], ...]:
    return tuple(_worker_start)


class Breaker:
    """After a failed publish, best-effort jobs are not even tried for ``seconds``: a broker
    outage must not add the connection timeout to every few labelers' submits. One per
    process (each web worker learns of an outage by itself)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._open_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def trip(self) -> None:
        self._open_until = time.monotonic() + self.seconds


BREAKER = Breaker(15.0)


def send_after_commit(
    name: str,
    args: list[Any],
    *,
    what: str,
    on_error: Callable[[Exception], None] | None = None,
    best_effort: bool = False,
) -> None:
    """Publish the job declared as ``@job(name=name)`` once the transaction commits. A
    failure is logged and handed to ``on_error``; ``best_effort`` jobs (re-queued by a
    periodic tick anyway) are skipped while the broker failed moments ago in this process."""

    def send() -> None:
        if best_effort and BREAKER.is_open():
            if on_error is not None:
                on_error(ConnectionError("the broker was unreachable moments ago"))
            return
        try:
            current_app.send_task(job_name(name), args=args, retry=False)
        except Exception as exc:  # broker unreachable: labeling goes on; on_error records it
            BREAKER.trip()
            logger.warning("could not enqueue %s %s: %s", what, args, exc)
            if on_error is not None:
                on_error(exc)

    transaction.on_commit(send)
