"""The one decorator every Celery job is declared with: name, retries, limits in one place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task

DEFAULT_MAX_RETRIES = 3


def job_name(name: str) -> str:
    """The Celery task name of the job declared as ``@job(name=name)``."""
    return f"skein.{name}"


def job(*, name: str, max_retries: int = DEFAULT_MAX_RETRIES, time_limit: int | None = None,
        queue: str | None = None, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """Declare a job: acknowledged late (a dead worker's job is redelivered), rejected on
    worker loss, retried with backoff a bounded number of times."""
    settings: dict[str, Any] = {
        "name": job_name(name), "bind": True, "acks_late": True,
        "reject_on_worker_lost": True, "max_retries": max_retries,
        "retry_backoff": True, "retry_backoff_max": 60, "retry_jitter": True,
        **options,
    }
    if time_limit:
        settings["time_limit"] = time_limit
        settings["soft_time_limit"] = max(1, time_limit - 30)
    if queue:
        settings["queue"] = queue
    return shared_task(**settings)
