"""Enqueueing jobs after the transaction commits; a broker outage is recorded, not hidden."""

from __future__ import annotations

import logging

from django.db import transaction

from annotation.models import LabelSet

logger = logging.getLogger(__name__)


def enqueue_labelset_build(*, labelset_id: int) -> None:
    from tasks.jobs import build_labelset

    def send() -> None:
        try:
            build_labelset.apply_async(args=[labelset_id], retry=False)
        except Exception as exc:  # broker unreachable: say so on the snapshot itself
            logger.exception("could not enqueue label set %s", labelset_id)
            LabelSet.objects.filter(pk=labelset_id).update(
                state=LabelSet.State.FAILED,
                error=f"The job queue is unreachable ({type(exc).__name__}); request the "
                      "snapshot again when it is back.")

    transaction.on_commit(send)
