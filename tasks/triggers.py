"""Reactions of the learning loop to new labels; called after a submit commits.

Cheap by design: no query. Every `check_every(retrain_every)`-th annotation (by its id)
queues a training check job, which does the counting; the periodic tick catches the rest.
"""

from __future__ import annotations

from annotation.models import Annotation, Project
from tasks.jobs import enqueue_training_check

MAX_CHECK_EVERY = 20


def check_every(retrain_every: int) -> int:
    """Ids are shared by all projects, so about one submit in this many queues a check."""
    return max(1, min(MAX_CHECK_EVERY, retrain_every // 5))


def after_annotation(*, project: Project, annotation: Annotation) -> None:
    """Queue a training check when enough new labels may have arrived."""
    if not project.training_enabled or annotation.pk % check_every(project.retrain_every):
        return
    enqueue_training_check(project_id=project.pk)
