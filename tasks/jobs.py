"""Celery jobs: ids in, one service call each."""

from __future__ import annotations

from typing import Any

from annotation.models import LabelSet
from annotation.services.exports import labelset_build
from tasks.base import job


@job(name="labelset.build", time_limit=3600)
def build_labelset(self: Any, labelset_id: int) -> None:
    try:
        labelset_build(labelset_id=labelset_id)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            LabelSet.objects.filter(pk=labelset_id).update(state=LabelSet.State.FAILED,
                                                           error=str(exc)[:2000])
            raise
        raise self.retry(exc=exc) from exc
