"""The core's jobs: periodic housekeeping (scheduled by Celery beat, see
CELERY_BEAT_SCHEDULE) and large bulk actions on items, with their resuming tick."""

from __future__ import annotations

from typing import Any

from annotation.services import bulk_actions
from annotation.services.retention import item_data_erase_expired
from annotation.services.storage import stored_files_retry
from config.jobs import DEFAULT_RETRIES, at_worker_start, job, send_after_commit

# The registered name is in the beat schedule (settings): keep it stable.
ERASE_EXPIRED = "retention.erase_expired"


@job(name=ERASE_EXPIRED, time_limit=3600)
def erase_expired_item_data_job(self: Any) -> dict[int, int]:
    erased = item_data_erase_expired()
    stored_files_retry()  # files a storage error kept after their rows were deleted
    return erased


def _bulk_give_up(bulk_id: int, *, exc: Exception) -> None:
    bulk_actions.bulk_action_fail(bulk_id=bulk_id, error=f"Nothing was applied: {exc}")


@job(name=bulk_actions.RUN_JOB, time_limit=3600, retries=DEFAULT_RETRIES, give_up=_bulk_give_up)
def bulk_action_job(self: Any, bulk_id: int) -> int | None:
    bulk = bulk_actions.bulk_action_run(bulk_id=bulk_id, job_id=self.request.id)
    return None if bulk is None else bulk.affected


# The registered name is in the beat schedule (settings): keep it stable.
@job(name=bulk_actions.TICK_JOB, time_limit=300)
def bulk_actions_tick_job(self: Any) -> list[int]:
    return bulk_actions.bulk_actions_resume()


@at_worker_start
def _resume_on_start() -> None:
    """A worker that starts picks up the actions a dead one left (once they are stale)."""
    send_after_commit(bulk_actions.TICK_JOB, [], what="bulk actions tick")
