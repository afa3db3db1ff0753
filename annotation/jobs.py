"""Periodic housekeeping jobs of the core (scheduled by Celery beat, see
CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from typing import Any

from annotation.services.retention import item_data_erase_expired
from annotation.services.storage import stored_files_retry
from config.jobs import job

# The registered name is in the beat schedule (settings): keep it stable.
ERASE_EXPIRED = "retention.erase_expired"


@job(name=ERASE_EXPIRED, time_limit=3600)
def erase_expired_item_data_job(self: Any) -> dict[int, int]:
    erased = item_data_erase_expired()
    stored_files_retry()  # files a storage error kept after their rows were deleted
    return erased
