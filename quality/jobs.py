"""Quality jobs: recomputing a project's cached quality report."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from tasks.base import job

logger = logging.getLogger(__name__)


@job(name="quality.refresh_report", time_limit=1800)
def refresh_quality_report(self: Any, project_id: int) -> None:
    from quality.services import quality_report_refresh

    try:
        quality_report_refresh(project_id=project_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            raise
        raise self.retry(exc=exc) from exc


def enqueue_report_refresh(*, project_id: int) -> None:
    """Queue a refresh after the current transaction commits; a broker outage is logged and
    the report stays marked as stale."""

    def send() -> None:
        try:
            refresh_quality_report.apply_async(args=[project_id], retry=False)
        except Exception:
            logger.exception("could not enqueue the quality report of project %s", project_id)
            from quality.models import QualityReport

            QualityReport.objects.filter(project_id=project_id).update(
                refresh_requested_at=None)

    transaction.on_commit(send)
