"""Reads of the learning loop: versions, labels since the last model, the learning curve
(automation bias is `quality.selectors.suggestion_acceptance`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db.models import Count, Exists, OuterRef, QuerySet

from annotation.iterables import chunks
from annotation.models import Annotation, Item, ItemPrediction, Project
from tasks.embedding_codec import vector_from_bytes
from tasks.models import EmbeddingChunk, ItemEmbedding, ModelVersion, PredictionRun
from tasks.services.takeover import predictions_rule

_EMBEDDING_READ_CHUNK = 2000


def model_versions(*, project: Project) -> QuerySet[ModelVersion]:
    return ModelVersion.objects.filter(project=project).order_by("-version")


def active_version(*, project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, state=ModelVersion.State.ACTIVE).first()


def running_version(*, project: Project) -> ModelVersion | None:
    return ModelVersion.objects.filter(project=project, state__in=ModelVersion.RUNNING).first()


def last_trained_annotation_id(*, project: Project) -> int:
    """The newest annotation any trained version saw (0 before the first model)."""
    row = (
        ModelVersion.objects.filter(project=project, trained_at__isnull=False)
        .order_by("-last_annotation_id")
        .values_list("last_annotation_id", flat=True)
        .first()
    )
    return int(row or 0)


def labels_since_last_model(*, project: Project) -> int:
    """Counted annotations newer than what the last trained version saw."""
    return Annotation.objects.filter(
        project=project, is_counted=True, pk__gt=last_trained_annotation_id(project=project)
    ).count()


def training_due(*, project: Project) -> bool:
    """Automatic training is due: enabled, nothing running, and either `retrain_every` new
    labels since the last model or the project's strategy changed since the active one."""
    if not project.training_enabled or running_version(project=project) is not None:
        return False
    active = active_version(project=project)
    if active is not None and active.strategy and active.strategy != project.strategy:
        return True
    return labels_since_last_model(project=project) >= max(1, project.retrain_every)


def learning_curve(*, project: Project) -> list[dict[str, Any]]:
    """One point per trained version: labels seen against its cross-validated metrics."""
    rows = (
        ModelVersion.objects.filter(project=project, trained_at__isnull=False)
        .order_by("version")
        .values("version", "n_labels", "metrics", "state")
    )
    return [
        {
            "version": r["version"],
            "n_labels": r["n_labels"],
            "state": r["state"],
            "accuracy": (r["metrics"] or {}).get("accuracy"),
            "macro_f1": (r["metrics"] or {}).get("macro_f1"),
        }
        for r in rows
    ]


def model_version_rows(*, project: Project, versions: set[int]) -> Iterable[Mapping[str, Any]]:
    """What a label set's data card shows of the model versions behind its suggestions."""
    return (
        ModelVersion.objects.filter(project=project, version__in=versions)
        .order_by("version")
        .values("version", "state", "strategy", "aggregation", "n_labels", "trained_at", "takeover")
    )


def prediction_runs(*, project: Project) -> QuerySet[PredictionRun]:
    return PredictionRun.objects.filter(project=project).order_by("-id")


def team_predictions(*, project: Project) -> dict[str, Any]:
    """Whether the team's own predictions serve the project, on how many items it has
    them, and its latest endpoint run (a model, or None)."""
    covered = ItemPrediction.objects.filter(project=project).values("item_id").distinct().count()
    return {
        "suggestion_source": project.suggestion_source,
        "in_charge": bool(covered) and predictions_rule(project=project),
        "items_with_predictions": covered,
        "latest_run": prediction_runs(project=project).first(),
    }


def item_embeddings(
    *, item_ids: Sequence[int], model_id: str
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """The stored vectors of `item_ids` in `model_id`'s space, rows in the order given:
    (float32 matrix, zero rows where an item has none; mask of the rows that have one).
    The width is the stored vectors' (0 columns when none of the items has one)."""
    position = {item_id: n for n, item_id in enumerate(item_ids)}
    found: dict[int, npt.NDArray[np.float32]] = {}
    for chunk in chunks(list(position), _EMBEDDING_READ_CHUNK):
        for item_id, raw in ItemEmbedding.objects.filter(
            model_id=model_id, item_id__in=chunk
        ).values_list("item_id", "vector"):
            found[item_id] = vector_from_bytes(raw)
    dim = len(next(iter(found.values()))) if found else 0
    out = np.zeros((len(item_ids), dim), dtype=np.float32)
    present = np.zeros(len(item_ids), dtype=bool)
    for item_id, row in found.items():
        out[position[item_id]] = row
        present[position[item_id]] = True
    return out, present


def items_without_embedding(
    *, project_id: int, model_id: str, item_ids: Sequence[int]
) -> list[int]:
    """Which of `item_ids` have no vector in `model_id`'s space yet, in the order given."""
    have: set[int] = set()
    for chunk in chunks(list(item_ids), _EMBEDDING_READ_CHUNK):
        have.update(
            ItemEmbedding.objects.filter(
                project_id=project_id, model_id=model_id, item_id__in=chunk
            ).values_list("item_id", flat=True)
        )
    return [i for i in item_ids if i not in have]


def items_lacking_embedding(*, project_id: int, model_id: str) -> QuerySet[Item]:
    """The project's items (data not erased) with no vector in `model_id`'s space yet: what
    an embedding pass has to compute (one anti-join on the (item, model_id) unique index)."""
    stored = ItemEmbedding.objects.filter(item_id=OuterRef("pk"), model_id=model_id)
    return Item.objects.filter(project_id=project_id, data_erased_at__isnull=True).filter(
        ~Exists(stored)
    )


def embedding_progress(*, project: Project, embedder: str | None) -> dict[str, Any]:
    """How far the project's items are embedded, for the API: in the space of the newest
    pass (or of the newest stored vector when no pass ran): items with a vector of the
    items whose data is kept, chunks pending and running, and the newest chunk error.
    `embedder` is the configured name (None when embedding is off)."""
    newest = EmbeddingChunk.objects.filter(project=project).order_by("-created_at", "-pk").first()
    model_id = newest.model_id if newest else None
    if model_id is None:
        model_id = (
            ItemEmbedding.objects.filter(project=project)
            .order_by("-pk")
            .values_list("model_id", flat=True)
            .first()
        )
    items = Item.objects.filter(project=project, data_erased_at__isnull=True).count()
    embedded = (
        ItemEmbedding.objects.filter(project=project, model_id=model_id).count() if model_id else 0
    )
    chunks_of = EmbeddingChunk.objects.filter(project=project, model_id=model_id)
    states = dict(chunks_of.values("state").annotate(n=Count("pk")).values_list("state", "n"))
    failed = chunks_of.exclude(error="").order_by("-heartbeat_at", "-pk").first()
    return {
        "enabled": embedder is not None,
        "embedder": embedder,
        "model_id": model_id,
        "items": items,
        "embedded": embedded,
        "chunks": {state: states.get(state, 0) for state in EmbeddingChunk.State.values},
        "last_error": failed.error if failed else "",
        "last_error_at": failed.heartbeat_at if failed else None,
    }


def stopping_signal(*, project: Project) -> dict[str, Any]:
    """Whether labeling more is likely to pay, from the newest version's stop-set check
    (stabilizing predictions, tasks.services.model_checks): ``state`` is "stop",
    "changing", "too_early" (fewer comparisons than the window) or "no_model", with a
    plain-language ``reading``."""
    row = (
        ModelVersion.objects.filter(
            project=project, trained_at__isnull=False, metrics__has_key="stop_set"
        )
        .order_by("-version")
        .values_list("version", "metrics")
        .first()
    )
    if row is None:
        return {
            "state": "no_model",
            "stop": False,
            "reading": "No model yet: the signal needs a few model versions to compare.",
            "version": None,
            "kappa": None,
            "recent": [],
            "threshold": None,
            "window": None,
            "stop_set_items": 0,
        }
    version, metrics = row
    check = metrics["stop_set"]
    state, reading = stopping_reading(version=version, check=check)
    return {
        "state": state,
        "stop": state == "stop",
        "reading": reading,
        "version": version,
        "kappa": check.get("kappa"),
        "recent": check.get("recent") or [],
        "threshold": check["threshold"],
        "window": check["window"],
        "stop_set_items": check.get("items", 0),
    }


def version_stopping(*, version: int, metrics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """One version's stopping signal as the models API shows it (None where its stop-set
    check was not computed): the agreement of its predictions with the previous version's."""
    check = (metrics or {}).get("stop_set")
    if not check or "window" not in check:
        return None
    _, advice = stopping_reading(version=version, check=check)
    return {"prediction_agreement": check.get("kappa"), "advice": advice}


def stopping_reading(*, version: int, check: Mapping[str, Any]) -> tuple[str, str]:
    """The state of a stop-set check and its reading in plain words."""
    recent, window, threshold = check.get("recent") or [], check["window"], check["threshold"]
    kappa = check.get("kappa")
    if check.get("stop"):
        state = "stop"
        reading = (
            f"Labeling more is unlikely to improve the model much: its predictions agreed at "
            f"kappa >= {threshold} over the last {window} retrains."
        )
    elif len(recent) < window:
        state = "too_early"
        reading = (
            f"Too early to tell: {len(recent)} of the {window} comparisons between successive "
            "models the signal needs."
        )
    else:
        state = "changing"
        reading = (
            f"The model is still changing: kappa {kappa:.3f} between v{check['compared_with']} "
            f"and v{version} (stop at >= {threshold} over {window} retrains)."
            if kappa is not None
            else "The model is still changing."
        )
    return state, reading
