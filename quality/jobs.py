"""Quality jobs (building a label set snapshot, recomputing a project's cached quality
report) and the helpers that enqueue them by name.

Imported by the web process for the ``enqueue_*`` helpers; nothing here loads the learning
code. The report refresh imports its service inside the job: the report cache enqueues it.
"""

from __future__ import annotations

from typing import Any

from annotation.models import LabelSet
from config.jobs import DEFAULT_RETRIES, job, send_after_commit
from quality.labelsets import labelset_build
from quality.models import QualityReport

# Registered names (persisted in queued messages): keep them stable.
BUILD_LABELSET = "labelset.build"
REFRESH_REPORT = "quality.refresh_report"


def _labelset_give_up(labelset_id: int, *, exc: Exception) -> None:
    LabelSet.objects.filter(pk=labelset_id).update(
        state=LabelSet.State.FAILED, error=str(exc)[:2000]
    )


@job(name=BUILD_LABELSET, time_limit=3600, retries=DEFAULT_RETRIES, give_up=_labelset_give_up)
def build_labelset_job(self: Any, labelset_id: int) -> None:
    labelset_build(labelset_id=labelset_id)


@job(name=REFRESH_REPORT, time_limit=1800, retries=DEFAULT_RETRIES)
def refresh_quality_report_job(self: Any, project_id: int) -> None:
    # Imported here: the report cache imports this module to enqueue the job.
    from quality.services.report_cache import quality_report_refresh  # noqa: PLC0415

    quality_report_refresh(project_id=project_id)


def enqueue_labelset_build(*, labelset_id: int) -> None:
    """Build the snapshot after the current transaction commits; a broker outage is said on
    the snapshot itself."""

    def failed(exc: Exception) -> None:
        LabelSet.objects.filter(pk=labelset_id).update(
            state=LabelSet.State.FAILED,
            error=f"The job queue is unreachable ({type(exc).__name__}); request the "
            "snapshot again when it is back.",
        )

    send_after_commit(BUILD_LABELSET, [labelset_id], what="label set", on_error=failed)


def enqueue_report_refresh(*, project_id: int) -> None:
    """Queue a refresh after the current transaction commits; a broker outage is logged and
    the report stays marked as stale, so the next read asks again."""

    def stale(exc: Exception) -> None:
        QualityReport.objects.filter(project_id=project_id).update(refresh_requested_at=None)

    send_after_commit(
        REFRESH_REPORT, [project_id], what="quality report", on_error=stale, best_effort=True
    )
