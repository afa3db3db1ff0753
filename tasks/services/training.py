"""Training a model version: consensus labels -> featurize, fit, evaluate.

The labels are each item's consensus over its counted annotations (the project's
aggregation, through quality.export_aggregation.aggregator_for). Gold items are left out,
their gold answers and labelers' answers alike: gold items are served with a suggestion
like any other item, and a model fitted on them would suggest their answers with a
confidence no regular item gets, which would point the labeler at them. The featurizer's
statistics (IDF) are fitted on the labeled items plus a random sample of the pool, so
scoring sees the same vocabulary weights everywhere.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from annotation.errors import Conflict
from annotation.iterables import chunks
from annotation.models import Annotation, Item, Project
from annotation.selectors import label_names_of
from annotation.services.audit import audit_record
from annotation.services.storage import stored_files_delete
from quality.export_aggregation import aggregator_for
from tasks.learning import committee_size_for, cross_validate, fit_featurizer, train_model
from tasks.models import ModelVersion
from tasks.services.artifacts import Artifact, artifact_save
from tasks.services.faults import fault_sleep
from tasks.services.images import featurize, fetch_urls_allowed
from tasks.services.lifecycle import (
    MAX_ATTEMPTS,
    is_stale,
    model_version_fail,
    model_version_heartbeat,
)
from tasks.services.model_checks import label_errors_check, stop_set_check
from tasks.services.scoring import model_version_score_start
from tasks.services.takeover import PREDICTIONS, takeover_compare, takeover_due
from tasks.services.text_features import embedding_space_for, item_vectors

logger = logging.getLogger(__name__)

FEATURIZER_POOL_SAMPLE = 20_000  # unlabeled items folded into the IDF statistics
MIN_LABELS = 2
_READ_CHUNK = 2000


@dataclass
class TrainingSet:
    """Featurizable labeled items, aligned lists; ``aggregation`` is what was used."""

    item_ids: list[int]
    data: list[dict[str, Any]]
    labels: list[Any]
    last_annotation_id: int
    aggregation: str


def training_set(*, project: Project) -> TrainingSet:
    """Consensus label per item from counted annotations, gold items left out."""
    label_names = label_names_of(project=project)
    # Every Project.Aggregation is one aggregator_for offers (projects' settings allow no other).
    aggregation = project.aggregation
    aggregate = aggregator_for(project=project, aggregation=aggregation, label_names=label_names)
    multi = project.is_multi_label
    chosen: dict[int, Any] = {}
    last_id = 0
    rows = (
        Annotation.objects.filter(project=project, is_counted=True)
        .order_by("item_id", "id")
        .values_list("id", "item_id", "labels", "is_gold")
        .iterator(chunk_size=_READ_CHUNK)
    )
    current: int | None = None
    pending_ids: list[int] = []
    pending_lists: list[list[list[str]]] = []

    def flush() -> None:
        """Aggregate the pending items, a chunk at a time like the export."""
        for item_id, (labels, _, _) in zip(
            pending_ids, aggregate(pending_ids, pending_lists), strict=True
        ):
            if labels is not None and (multi or labels):
                chosen[item_id] = list(labels) if multi else labels[0]
        pending_ids.clear()
        pending_lists.clear()

    for ann_id, item_id, labels, on_gold in rows:
        last_id = max(last_id, ann_id)  # gold answers too: they are not new labels next time
        if on_gold:
            continue
        if item_id != current:
            if len(pending_ids) >= _READ_CHUNK:
                flush()
            current = item_id
            pending_ids.append(item_id)
            pending_lists.append([])
        pending_lists[-1].append(labels)
    flush()
    known = set(label_names)
    ids, data, labels = [], [], []
    for chunk in chunks(sorted(chosen), _READ_CHUNK):
        for item_id, item_data in (
            Item.objects.filter(pk__in=chunk, data_erased_at__isnull=True, is_gold=False)
            .order_by("id")
            .values_list("id", "data")
        ):
            label = chosen[item_id]
            if (multi and not set(label) <= known) or (not multi and label not in known):
                continue  # a label since removed from the schema
            ids.append(item_id)
            data.append(item_data)
            labels.append(label)
    return TrainingSet(ids, data, labels, last_id, aggregation)


def _pool_sample(*, project: Project, n: int) -> list[dict[str, Any]]:
    """A random sample of unlabeled items (the seeded random order is uniform)."""
    return list(
        Item.objects.filter(
            project=project, annotation_count=0, is_gold=False, data_erased_at__isnull=True
        )
        .order_by("random_key")
        .values_list("data", flat=True)[:n]
    )


def _claim(*, version_id: int, job_id: str) -> ModelVersion | None:
    """Take the run: a queued version, or a training one whose worker died (same message
    redelivered, or no heartbeat for a while). Anything else is a duplicate: do nothing."""
    with transaction.atomic():
        version = (
            ModelVersion.objects.select_for_update(of=("self",))
            .select_related("project")
            .filter(pk=version_id)
            .first()
        )
        if version is None or version.state not in (
            ModelVersion.State.QUEUED,
            ModelVersion.State.TRAINING,
        ):
            return None
        if (
            version.state == ModelVersion.State.TRAINING
            and version.job_id != job_id
            and not is_stale(version.heartbeat_at)
        ):
            return None
        if version.attempts >= MAX_ATTEMPTS:
            transaction.on_commit(
                lambda: model_version_fail(
                    version_id=version_id,
                    error=(f"Gave up after {version.attempts} attempts. {version.error}".strip()),
                )
            )
            return None
        if version.state == ModelVersion.State.TRAINING:
            version.error = (
                f"Attempt {version.attempts}: the worker was lost while training; retrying."
            )
        version.state = ModelVersion.State.TRAINING
        version.attempts += 1
        version.job_id = job_id
        version.heartbeat_at = timezone.now()
        version.save(
            update_fields=["state", "attempts", "job_id", "heartbeat_at", "error", "updated_at"]
        )
    return version


class NotEnoughLabels(Conflict):
    """Training cannot start yet; not worth retrying. ``detail`` is the message."""


def model_version_train(*, version_id: int, job_id: str) -> ModelVersion | None:
    """Train one queued version, store its artifact and metrics, then start scoring."""
    version = _claim(version_id=version_id, job_id=job_id)
    if version is None:
        return None
    project = version.project
    labeled = training_set(project=project)
    if len(labeled.labels) < MIN_LABELS:
        raise NotEnoughLabels(
            f"Needs at least {MIN_LABELS} labeled items; has {len(labeled.labels)}."
        )
    fault_sleep("train")
    pool = _pool_sample(project=project, n=FEATURIZER_POOL_SAMPLE)
    featurizer = fit_featurizer(
        [labeled.data, pool] if pool else [labeled.data], image_urls=fetch_urls_allowed()
    )
    del pool
    model_version_heartbeat(version_id=version.pk)
    space = embedding_space_for(featurizer)
    vectors = None
    if space is not None:  # text: the embeddings beside the n-grams (text_features)
        vectors = item_vectors(project_id=project.pk, item_ids=labeled.item_ids, model_id=space)
        featurizer.use_embeddings(space, vectors.shape[1])
        model_version_heartbeat(version_id=version.pk)
    X = featurize(
        featurizer,
        labeled.data,
        project_id=project.pk,
        heartbeat=lambda: model_version_heartbeat(version_id=version.pk),
        embeddings=vectors,
    )
    classes = label_names_of(project=project)
    seed = int(project.seed) + version.version
    multi = project.is_multi_label
    strategy = version.strategy or project.strategy
    model = train_model(
        X,
        labeled.labels,
        multi_label=multi,
        classes=classes,
        seed=seed,
        committee_size=committee_size_for(strategy),
    )
    model_version_heartbeat(version_id=version.pk)
    cv, oof = cross_validate(X, labeled.labels, multi_label=multi, classes=classes, seed=seed)
    metrics = cv.as_dict()
    metrics["aggregation"] = labeled.aggregation
    metrics["embedding_model"] = space
    if space is not None and not multi:  # class-aware batches (model_version_score_finish)
        metrics["label_counts"] = dict(Counter(labeled.labels))
    # Label errors from the out-of-fold probabilities; predictions on the stop set.
    metrics["label_errors"] = label_errors_check(
        project=project,
        version=version.version,
        item_ids=labeled.item_ids,
        labels=labeled.labels,
        oof=oof,
        classes=classes,
    )
    metrics["stop_set"] = stop_set_check(
        version=version, featurizer=featurizer, model=model, trained=set(labeled.item_ids)
    )
    takeover = (
        takeover_compare(
            project=project,
            item_ids=labeled.item_ids,
            labels=labeled.labels,
            own_accuracy=metrics.get("accuracy"),
        )
        if takeover_due(project=project)
        else {}
    )
    name = artifact_save(
        project_id=project.pk,
        version=version.version,
        artifact=Artifact(featurizer, model, strategy),
    )
    with transaction.atomic():
        current = ModelVersion.objects.select_for_update().filter(pk=version.pk).first()
        if (
            current is None
            or current.state != ModelVersion.State.TRAINING
            or current.job_id != job_id
        ):
            # Taken over meanwhile (we were presumed dead; theirs wins), or deleted with its
            # project: the artifact just written belongs to nothing.
            stored_files_delete(names=[name], reason=f"model version {version.pk} superseded")
            return None
        current.artifact.name = name
        current.n_labels = len(labeled.labels)
        current.metrics = metrics
        current.last_annotation_id = labeled.last_annotation_id
        current.trained_at = timezone.now()
        current.strategy = strategy
        current.takeover = takeover
        kept = takeover.get("decision") == PREDICTIONS
        if kept:  # the team's predictions keep serving; a manager may still activate it
            current.state = ModelVersion.State.READY
        current.save(
            update_fields=[
                "artifact",
                "n_labels",
                "metrics",
                "last_annotation_id",
                "trained_at",
                "strategy",
                "takeover",
                "state",
                "updated_at",
            ]
        )
        if not kept:
            model_version_score_start(version=current)
        if takeover:
            audit_record(
                actor=current.requested_by,
                action="model.kept_predictions" if kept else "model.took_over",
                project=project,
                target=f"v{current.version}",
                details={"version": current.version, **takeover},
            )
        audit_record(
            actor=current.requested_by,
            action="model.training_finished",
            project=project,
            target=f"v{current.version}",
            details={
                "version": current.version,
                "trigger": current.trigger,
                "attempts": current.attempts,
                "n_labels": current.n_labels,
                "metrics": metrics,
            },
        )
    return current
