"""Reads for quality: a project's annotations as integer arrays, adjudications, gold answers."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet

from annotation.models import Annotation, Item, Project
from annotation.selectors import item_data_for, label_names_of
from quality.models import LabelError, LabelErrorList, QualityReport, Review
from quality.report import (
    SUGGESTION_HIDDEN,
    SUGGESTION_SHOWN,
    AnnotationArrays,
    label_list,
    suggestion_outcome,
)


def annotation_arrays(
    *,
    project: Project,
    counted_only: bool = False,
    item_ids: list[int] | None = None,
    item_state: str | None = None,
) -> AnnotationArrays:
    """Every annotation of the project (or of ``item_ids``, or of items in ``item_state``)
    as arrays, in one query."""
    label_names = label_names_of(project=project)
    index = {name: i for i, name in enumerate(label_names)}
    qs = Annotation.objects.filter(project=project)
    if counted_only:
        qs = qs.filter(is_counted=True)
    if item_ids is not None:
        qs = qs.filter(item_id__in=item_ids)
    if item_state is not None:
        qs = qs.filter(item__state=item_state)
    rows = qs.order_by("id").values_list(
        "item_id",
        "labeler_id",
        "labels",
        "guideline_version",
        "duration_ms",
        "suggestion",
        "is_counted",
        "item__is_gold",
        "item__gold",
    )
    n_labels = len(label_names)
    item_db: list[int] = []
    labeler_db: list[int] = []
    single: list[int] = []
    hot_rows: list[int] = []
    hot_cols: list[int] = []
    versions: list[int] = []
    seconds: list[float] = []
    sugg_state: list[int] = []
    accepted: list[bool] = []
    is_counted: list[bool] = []
    on_gold: list[bool] = []
    correct: list[bool] = []
    for r, (
        item_id,
        labeler_id,
        labels,
        version,
        duration,
        suggestion,
        counted,
        is_gold,
        gold,
    ) in enumerate(rows.iterator(chunk_size=5000)):
        item_db.append(item_id)
        labeler_db.append(labeler_id)
        chosen = [index[name] for name in labels if name in index]
        single.append(chosen[0] if chosen else -1)
        hot_rows.extend([r] * len(chosen))
        hot_cols.extend(chosen)
        versions.append(-1 if version is None else version)
        seconds.append(np.nan if duration is None else duration / 1000.0)
        state, agrees = suggestion_outcome(labels, suggestion)
        sugg_state.append(state)
        accepted.append(agrees)
        is_counted.append(bool(counted))
        gold_item = bool(is_gold) and gold is not None
        on_gold.append(gold_item)
        correct.append(gold_item and sorted(label_list(gold)) == sorted(labels))
    n = len(item_db)
    item_ids_arr, item = np.unique(np.asarray(item_db, dtype=np.int64), return_inverse=True)
    labeler_ids, labeler = np.unique(np.asarray(labeler_db, dtype=np.int64), return_inverse=True)
    matrix = np.zeros((n, n_labels), dtype=np.int8)
    if hot_rows:
        matrix[np.asarray(hot_rows), np.asarray(hot_cols)] = 1
    names = dict(
        get_user_model().objects.filter(pk__in=labeler_ids.tolist()).values_list("pk", "username")
    )
    on_gold_arr = np.asarray(on_gold, dtype=bool)
    item_is_gold = np.zeros(item_ids_arr.size, dtype=np.bool_)
    item_is_gold[item[on_gold_arr]] = True
    multi = project.is_multi_label
    return AnnotationArrays(
        item=item.astype(np.int64).reshape(-1),
        labeler=labeler.astype(np.int64).reshape(-1),
        label=(
            np.full(n, -1, dtype=np.int64)
            if multi
            else np.asarray(single, dtype=np.int64).reshape(-1)
        ),
        matrix=matrix,
        item_ids=item_ids_arr,
        labeler_ids=labeler_ids,
        usernames=[names.get(int(a), "") for a in labeler_ids],
        label_names=label_names,
        multi_label=multi,
        is_counted=np.asarray(is_counted, dtype=bool),
        guideline_version=np.asarray(versions, dtype=np.int64),
        seconds=np.asarray(seconds, dtype=np.float64),
        suggestion_state=np.asarray(sugg_state, dtype=np.int8),
        suggestion_accepted=np.asarray(accepted, dtype=bool),
        on_gold=on_gold_arr,
        gold_correct=np.asarray(correct, dtype=bool),
        item_is_gold=item_is_gold,
    )


def suggestion_acceptance(*, project: Project) -> dict[str, dict[str, Any]]:
    """Over the whole project: how often answers equal the model's suggestion when the
    labeler saw it (``shown``) and when it was hidden (``hidden``, in ``ab`` mode), by
    :func:`quality.report.suggestion_outcome`. Rates are null without annotations. (The
    models API serves this as ``suggestion_agreement``; the report's per-labeler
    ``suggestion_acceptance`` applies the same rule through :func:`annotation_arrays`.)"""
    out: dict[str, dict[str, Any]] = {
        key: {"annotations": 0, "agree": 0, "rate": None} for key in ("shown", "hidden")
    }
    keys = {SUGGESTION_SHOWN: "shown", SUGGESTION_HIDDEN: "hidden"}
    rows = (
        Annotation.objects.filter(project=project, suggestion__isnull=False)
        .values_list("labels", "suggestion")
        .iterator(chunk_size=2000)
    )
    for labels, suggestion in rows:
        state, agrees = suggestion_outcome(labels, suggestion)
        if state not in keys:
            continue
        part = out[keys[state]]
        part["annotations"] += 1
        part["agree"] += int(agrees)
    for part in out.values():
        if part["annotations"]:
            part["rate"] = part["agree"] / part["annotations"]
    return out


def adjudicated_labels(*, project: Project) -> dict[int, list[str]]:
    """The latest reviewer decision per item."""
    rows = (
        Review.objects.filter(project=project)
        .order_by("id")
        .values_list("item_id", "labels")
        .iterator(chunk_size=5000)
    )
    return dict(rows)  # in id order: the latest decision of an item wins


def item_field_values(*, project: Project, field: str) -> dict[int, Any]:
    """``data[field]`` per item id (missing: None), read by the database's JSON lookup."""
    rows = Item.objects.filter(project=project).values_list("id", f"data__{field}")
    return dict(rows.iterator(chunk_size=5000))


def gold_answers_of(
    *, project: Project, user: Any, since: Any = None, until: Any = None, limit: int | None = None
) -> list[bool]:
    """Whether each of the user's answers on gold items was right, oldest first."""
    qs = Annotation.objects.filter(
        project=project, labeler=user, item__is_gold=True, item__gold__isnull=False
    )
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    rows = qs.order_by("id").values_list("labels", "item__gold")
    if limit is not None:
        rows = rows[:limit]
    return [sorted(labels) == sorted(label_list(gold)) for labels, gold in rows]


def review_details(*, project: Project, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Review-queue rows with the item (never its gold answer) and every label given, by whom;
    two queries whatever the page size."""
    ids = [row["item_id"] for row in rows]
    items = {
        r["id"]: r
        for r in Item.objects.filter(project=project, pk__in=ids).values(
            "id", "external_id", "data"
        )
    }
    given: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    for item_id, user, labels, version, created, is_counted in (
        Annotation.objects.filter(item_id__in=ids)
        .order_by("item_id", "id")
        .values_list(
            "item_id",
            "labeler__username",
            "labels",
            "guideline_version",
            "created_at",
            "is_counted",
        )
    ):
        given[item_id].append(
            {
                "annotator": user,
                "labels": labels,
                "guideline_version": version,
                "created_at": created,
                "counts": is_counted,
            }
        )
    out = []
    for row in rows:
        item = items.get(row["item_id"])
        if item is None:
            continue
        data = item_data_for(item["data"], project=project)
        out.append(
            {
                **row,
                "item": {"id": item["id"], "external_id": item["external_id"], "data": data},
                "annotations": given[row["item_id"]],
            }
        )
    return out


def own_gold_accuracy(*, project: Project, user: Any, before: Any) -> tuple[int, int]:
    """(correct, answered) of the user's gold answers given before ``before``."""
    answers = gold_answers_of(project=project, user=user, until=before)
    return sum(answers), len(answers)


def cached_agreement() -> dict[int, float | None]:
    """Krippendorff's alpha per project from the cached quality reports (for /metrics:
    a scrape never computes a report); projects without a computed report are left out."""
    out: dict[int, float | None] = {}
    for project_id, payload in QualityReport.objects.values_list("project_id", "payload"):
        agreement = (payload or {}).get("agreement") or {}
        value = agreement.get("krippendorff_alpha")
        out[project_id] = value if isinstance(value, int | float) else None
    return out


def label_error_list(
    *, project: Project, model_version: int | None = None
) -> LabelErrorList | None:
    """The label-error check of ``model_version``, or of the newest version checked."""
    lists = LabelErrorList.objects.filter(project=project)
    if model_version is not None:
        lists = lists.filter(model_version=model_version)
    return lists.order_by("-model_version").first()


def label_errors_of(*, error_list: LabelErrorList) -> QuerySet[LabelError]:
    """The list's rows in rank order, with the item's external id and whether a reviewer has
    decided it. Gold items are left out (one may have been marked gold after the check): a
    list that named them would tell which items are gold."""
    decided = Review.objects.filter(project_id=error_list.project_id, item_id=OuterRef("item_id"))
    return (
        LabelError.objects.filter(error_list=error_list, item__is_gold=False)
        .select_related("item")
        .annotate(reviewed=Exists(decided))
        .order_by("rank")
    )


def label_errors_for_review(*, project: Project, limit: int) -> dict[int, dict[str, Any]]:
    """The top ``limit`` rows of the newest list (gold left out), by item id, in rank order."""
    latest = label_error_list(project=project)
    if latest is None or limit <= 0:
        return {}
    rows = (
        LabelError.objects.filter(error_list=latest, item__is_gold=False)
        .order_by("rank")
        .values("item_id", "rank", "given", "suggested", "score", "given_proba", "suggested_proba")
    )[:limit]
    return {
        r["item_id"]: {**r, "model_version": latest.model_version, "flagged": latest.flagged}
        for r in rows
    }
