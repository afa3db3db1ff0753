"""The job decorator's one retry-or-give-up rule (config/jobs.py)."""

from __future__ import annotations

from typing import Any

import pytest

from config.jobs import RETRY_BACKOFF, RETRY_BACKOFF_MAX, job


class _Retried(Exception):
    def __init__(self, countdown: Any) -> None:
        self.countdown = countdown


def _failing_job(attempts: list[int], notes: list[str], gave_up: list[str]) -> Any:
    @job(
        name=f"test.failing.{len(attempts)}.{id(attempts)}",
        time_limit=60,
        retries=2,
        on_retry=lambda n, *, exc, job_id: notes.append(str(exc)),
        give_up=lambda n, *, exc: gave_up.append(str(exc)),
    )
    def failing(self: Any, n: int) -> None:
        attempts.append(n)
        raise RuntimeError(f"boom {n}")

    return failing


@pytest.mark.parametrize("attempt", [0, 1])
def test_a_failed_attempt_is_retried_after_a_bounded_exponential_wait(monkeypatch, attempt):
    attempts: list[int] = []
    notes: list[str] = []
    gave_up: list[str] = []
    task = _failing_job(attempts, notes, gave_up)

    def retry(*, exc: Exception, countdown: Any = None, **_: Any) -> Exception:
        return _Retried(countdown)

    monkeypatch.setattr(task, "retry", retry)
    task.push_request(retries=attempt)
    try:
        with pytest.raises(_Retried) as raised:
            task.run(7)
    finally:
        task.pop_request()
    # Not Celery's default_retry_delay (3 minutes): a wait of 0..2 * 2**attempt seconds.
    assert raised.value.countdown is not None
    assert 0 <= raised.value.countdown <= min(RETRY_BACKOFF * 2**attempt, RETRY_BACKOFF_MAX)
    assert attempts == [7] and notes == ["boom 7"] and gave_up == []


def test_the_last_attempt_gives_up_and_raises():
    attempts: list[int] = []
    notes: list[str] = []
    gave_up: list[str] = []
    task = _failing_job(attempts, notes, gave_up)
    task.push_request(retries=2)
    try:
        with pytest.raises(RuntimeError, match="boom 3"):
            task.run(3)
    finally:
        task.pop_request()
    assert gave_up == ["boom 3"] and notes == []
