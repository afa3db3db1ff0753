"""Reactions of the learning loop to new labels (called after a submit commits) and to new
items (after an import commits).

Cheap by design: no query. Every `check_every(retrain_every)`-th annotation (by its id)
queues a training check job, which does the counting; the periodic tick catches the rest.
"""

from __future__ import annotations

from annotation.models import Annotation, Project
from tasks.jobs import enqueue_embedding_pass, enqueue_training_check
from tasks.services.embeddings import embedder_name

MAX_CHECK_EVERY = 20


def check_every(retrain_every: int) -> int:
    """Ids are shared by all projects, so about one submit in this many queues a check."""
    return max(1, min(MAX_CHECK_EVERY, retrain_every // 5))


def after_annotation(*, project: Project, annotation: Annotation) -> None:
    """Queue a training check when enough new labels may have arrived."""
    if not project.training_enabled or annotation.pk % check_every(project.retrain_every):
        return
    enqueue_training_check(project_id=project.pk)


def after_import(*, project: Project, created: int) -> None:
    """Queue an embedding pass over the new items (a worker plans it: the web process never
    loads the embedder); nothing when embedding is off."""
    if created and embedder_name() is not None:
        enqueue_embedding_pass(project_id=project.pk)
