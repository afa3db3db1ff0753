"""Quality jobs: recomputing a project's cached quality report."""

from __future__ import annotations

from typing import Any

from tasks.base import job

REFRESH_REPORT = "quality.refresh_report"


@job(name=REFRESH_REPORT, time_limit=1800)
def refresh_quality_report(self: Any, project_id: int) -> None:
    from quality.services.report_cache import quality_report_refresh

    try:
        quality_report_refresh(project_id=project_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            raise
        raise self.retry(exc=exc) from exc


def enqueue_report_refresh(*, project_id: int) -> None:
    """Queue a refresh after the current transaction commits; a broker outage is logged and
    the report stays marked as stale, so the next read asks again."""
    from tasks.dispatch import send_after_commit

    def stale(exc: Exception) -> None:
        from quality.models import QualityReport

        QualityReport.objects.filter(project_id=project_id).update(refresh_requested_at=None)

    send_after_commit(REFRESH_REPORT, [project_id], what="quality report",
                      on_error=stale, best_effort=True)
