"""Model version lifecycle: request a training run, roll back or forward, fail, recover.

States: queued -> training -> scoring -> active (the previous active -> retired), or failed.
At most one version per project is queued/training/scoring (a partial unique constraint),
so at most one training or scoring run goes on per project, whatever the number of workers.
A run whose worker died is noticed by its stale heartbeat (``jobs_reap``) and retried a
bounded number of times; after that the version is failed with the reason, and the
previous version keeps serving throughout.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from annotation.errors import Conflict
from annotation.models import Project
from annotation.services.audit import audit_record
from tasks import jobs
from tasks.models import ModelVersion, ScoreChunk
from tasks.selectors import training_due
from tasks.services.embedding_passes import embedding_tick
from tasks.services.lifecycle import MAX_ATTEMPTS, is_stale, model_version_fail, stale_after

logger = logging.getLogger(__name__)


def model_version_request(
    *, project: Project, actor: Any = None, trigger: str = "manual"
) -> ModelVersion:
    """Queue a training run (a new version); Conflict while another run is in progress."""
    with transaction.atomic():
        # Serialise version numbering per project; the constraint is the real guard.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        running = ModelVersion.objects.filter(
            project=project, state__in=ModelVersion.RUNNING
        ).first()
        if running is not None:
            raise Conflict(
                {
                    "detail": f"Model v{running.version} is {running.state}; wait for "
                    "it to finish.",
                    "version": running.version,
                }
            )
        number = (
            ModelVersion.objects.filter(project=project).aggregate(n=Max("version"))["n"] or 0
        ) + 1
        try:
            with transaction.atomic():
                version = ModelVersion.objects.create(
                    project=project,
                    version=number,
                    state=ModelVersion.State.QUEUED,
                    strategy=project.strategy,
                    aggregation=project.aggregation,
                    trigger=trigger,
                    requested_by=actor if getattr(actor, "pk", None) else None,
                    heartbeat_at=timezone.now(),
                )
        except IntegrityError:
            raise Conflict({"detail": "Another training run was just started."}) from None
        audit_record(
            actor=actor,
            action="model.training_started",
            project=project,
            target=f"v{number}",
            details={"version": number, "trigger": trigger, "strategy": version.strategy},
        )
        jobs.enqueue_train(version_id=version.pk)
    return version


def model_version_activate(*, version: ModelVersion, actor: Any = None) -> ModelVersion:
    """Roll back or forward: re-score the pool with this version; it becomes active (and the
    current one retired) only when every chunk is written. Until then nothing changes."""
    # Imported here: scoring loads scikit-learn, and web workers import this module.
    from tasks.services.scoring import activation_direction, model_version_score_start  # noqa: PLC0415

    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=version.project_id).first()
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if version.state == ModelVersion.State.ACTIVE:
            raise Conflict({"detail": f"Model v{version.version} is already active."})
        if not version.artifact or version.trained_at is None:
            raise Conflict(
                {
                    "detail": f"Model v{version.version} was never trained; there is "
                    "nothing to activate."
                }
            )
        running = (
            ModelVersion.objects.filter(
                project_id=version.project_id, state__in=ModelVersion.RUNNING
            )
            .exclude(pk=version.pk)
            .first()
        )
        if running is not None:
            raise Conflict(
                {"detail": f"Model v{running.version} is {running.state}; wait for it to finish."}
            )
        version.trigger = "activate"
        version.requested_by = actor if getattr(actor, "pk", None) else None
        version.attempts = 0
        version.error = ""
        version.save(update_fields=["trigger", "requested_by", "attempts", "error", "updated_at"])
        try:
            with transaction.atomic():
                model_version_score_start(version=version)
        except IntegrityError:
            raise Conflict({"detail": "Another training run was just started."}) from None
        active = (
            ModelVersion.objects.filter(
                project_id=version.project_id, state=ModelVersion.State.ACTIVE
            )
            .values_list("version", flat=True)
            .first()
        )
        audit_record(
            actor=actor,
            action="model.activation_requested",
            project=version.project,
            target=f"v{version.version}",
            details={
                "version": version.version,
                "active": active,
                "direction": activation_direction(version.version, active),
            },
        )
    version.refresh_from_db()
    return version


def jobs_reap(*, now: Any = None) -> dict[str, int]:
    """Find runs whose worker died (no heartbeat for ``stale_after``) and retry them, or fail
    them after MAX_ATTEMPTS. Called by the periodic tick and when a worker starts."""

    now = now or timezone.now()
    cutoff = now - stale_after()
    counts = {"train": 0, "chunks": 0, "finish": 0, "failed": 0}
    silent = Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    for version in ModelVersion.objects.filter(
        silent, state__in=(ModelVersion.State.QUEUED, ModelVersion.State.TRAINING)
    ):
        if version.attempts >= MAX_ATTEMPTS:
            model_version_fail(
                version_id=version.pk,
                error=(
                    f"Gave up after {version.attempts} attempts; the worker stopped responding "
                    f"while training. {version.error}".strip()
                ),
            )
            counts["failed"] += 1
            continue
        with transaction.atomic():
            moved = ModelVersion.objects.filter(silent, pk=version.pk, state=version.state).update(
                state=ModelVersion.State.QUEUED,
                heartbeat_at=now,
                error=(
                    f"Attempt {version.attempts}: the worker stopped responding while "
                    "training; queued again."
                    if version.state == ModelVersion.State.TRAINING
                    else version.error or "The training job was not picked up; queued again."
                ),
            )
            if moved:
                jobs.enqueue_train(version_id=version.pk)
                counts["train"] += 1
    for version in ModelVersion.objects.filter(state=ModelVersion.State.SCORING):
        chunks = ScoreChunk.objects.filter(version=version)
        dead = list(chunks.filter(state=ScoreChunk.State.RUNNING, heartbeat_at__lt=cutoff))
        if not is_stale(version.heartbeat_at, now=now) and not dead:
            continue
        if any(c.attempts >= MAX_ATTEMPTS for c in dead):
            model_version_fail(
                version_id=version.pk,
                error=(
                    f"Gave up: a scoring chunk's worker stopped responding {MAX_ATTEMPTS} times."
                ),
            )
            counts["failed"] += 1
            continue
        with transaction.atomic():
            ScoreChunk.objects.filter(
                pk__in=[c.pk for c in dead], state=ScoreChunk.State.RUNNING
            ).update(state=ScoreChunk.State.PENDING, error="the worker stopped responding")
            todo = list(chunks.filter(state=ScoreChunk.State.PENDING).values_list("pk", flat=True))
            ModelVersion.objects.filter(pk=version.pk).update(
                heartbeat_at=now,
                error=f"{len(dead)} scoring chunk(s) lost with their worker; queued again."
                if dead
                else version.error,
            )
            for chunk_id in todo:
                jobs.enqueue_chunk(chunk_id=chunk_id)
            counts["chunks"] += len(todo)
            if not todo and not chunks.exclude(state=ScoreChunk.State.DONE).exists():
                jobs.enqueue_finish(version_id=version.pk)
                counts["finish"] += 1
    return counts


def model_version_request_if_due(*, project_id: int) -> ModelVersion | None:
    """Start automatic training when it is due (see tasks.selectors.training_due); before
    the first model, seed the pool's order by diversity (tasks.services.cold_start: by
    default for text projects with an embedder, on embedding clusters; see
    SKEIN_DIVERSE_COLD_START and bench/README.md)."""
    from tasks.services.cold_start import pool_seed  # noqa: PLC0415 — loads scikit-learn: not in web workers

    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    if not ModelVersion.objects.filter(project=project).exists():
        pool_seed(project_id=project.pk)  # a no-op unless wanted and not done yet
    if not training_due(project=project):
        return None
    try:
        return model_version_request(project=project, trigger="auto")
    except Conflict:
        return None


def learning_tick() -> dict[str, int]:
    """The periodic round (Celery beat, and once when a worker starts): recover runs whose
    worker died, re-queue what a broker outage dropped, start due training, seed pools,
    and recover and start embedding passes (tasks.services.embedding_passes)."""
    counts = jobs_reap()
    started = 0
    for project_id in Project.objects.filter(training_enabled=True).values_list("pk", flat=True):
        if model_version_request_if_due(project_id=project_id) is not None:
            started += 1
    counts["started"] = started
    try:
        counts.update(embedding_tick())
    except Exception:  # e.g. the embedder fails to load: training must go on regardless
        logger.exception("the embedding round of the learning tick failed")
        counts["embed_error"] = 1
    return counts
