"""Quality writes and reports: the project report, review decisions, gold answers,
qualification of labelers."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Case, Count, F, Max, Q, Value, When
from django.utils import timezone

from annotation.errors import Conflict, InvalidInput, NotFound
from annotation.models import Annotation, Assignment, Item, Membership, Project
from annotation.services.audit import audit_record
from annotation.services.queue import labels_validate
from quality import metrics
from quality.consensus import Consensus, consensus, disputed
from quality.models import Qualification, QualityReport, Review
from quality.selectors import (
    SUGGESTION_HIDDEN,
    SUGGESTION_SHOWN,
    AnnotationArrays,
    adjudicated_labels,
    annotation_arrays,
    gold_answers_of,
    item_field_values,
    label_names_of,
)

# Projects with at most this many annotations get their report computed on request;
# larger ones are served from the cache that the refresh job keeps.
INLINE_REPORT_LIMIT = 20_000


def inline_report_limit() -> int:
    return int(getattr(settings, "SKEIN_QUALITY_INLINE_LIMIT", INLINE_REPORT_LIMIT))
BOOTSTRAP_SAMPLES = 1000
SLICE_FIELD = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MAX_SLICE_VALUES = 50


def _num(value: Any) -> float | None:
    """A JSON-safe number: None for undefined, NaN or infinite values."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _interval(pair: tuple[float, float] | None) -> list[float | None] | None:
    return None if pair is None else [_num(pair[0]), _num(pair[1])]


# --- agreement ----------------------------------------------------------------------------


_INTERVAL_METRICS: tuple[tuple[str, metrics.BootstrapMetric], ...] = (
    ("percent", "percent_agreement"), ("krippendorff_alpha", "krippendorff_alpha"),
    ("fleiss_kappa", "fleiss_kappa"))


def agreement_summary(a: AnnotationArrays, *, overlap: int, seed: int,
               intervals: bool = True, per_label: bool = True) -> dict[str, Any]:
    """Agreement over the (counted) rows of ``a``: overall, with intervals, and per label."""
    if a.multi_label:
        # A multi-label project's overall figure is the mean of its yes/no questions.
        columns = [a.matrix[:, j].astype(np.int64) for j in range(len(a.label_names))]
        per = {name: _single_agreement(a.item, a.annotator, col, overlap=overlap)
               for name, col in zip(a.label_names, columns, strict=True)}
        out = {key: _mean([p[key] for p in per.values()])
               for key in ("percent", "krippendorff_alpha", "fleiss_kappa", "cohen_kappa_mean")}
        if intervals:
            for key, metric in _INTERVAL_METRICS:
                pair = metrics.bootstrap_interval_of_mean(
                    a.item, a.annotator, columns, metric=metric, n_boot=BOOTSTRAP_SAMPLES,
                    seed=seed, n_raters=overlap) if a.n else None
                out[f"{key}_interval"] = _interval(pair)
    else:
        out = _single_agreement(a.item, a.annotator, a.label, overlap=overlap)
        if intervals:
            for key, metric in _INTERVAL_METRICS:
                pair = metrics.bootstrap_interval(
                    a.item, a.annotator, a.label, metric=metric, n_boot=BOOTSTRAP_SAMPLES,
                    seed=seed, n_raters=overlap) if a.n else None
                out[f"{key}_interval"] = _interval(pair)
        per = {}
        if per_label:
            for k, name in enumerate(a.label_names):
                per[name] = _single_agreement(a.item, a.annotator,
                                              (a.label == k).astype(np.int64), overlap=overlap)
    if per_label:
        out["per_label"] = per
    out["annotations"] = a.n
    out["items"] = int(np.unique(a.item).size)
    out["items_with_overlap"] = int((np.bincount(a.item) >= 2).sum()) if a.n else 0
    return out


def _single_agreement(item: Any, annotator: Any, label: Any, *, overlap: int
                      ) -> dict[str, float | None]:
    if len(item) == 0:
        return {"percent": None, "krippendorff_alpha": None, "fleiss_kappa": None,
                "cohen_kappa_mean": None}
    return {
        "percent": _num(metrics.percent_agreement(item, annotator, label)),
        "krippendorff_alpha": _num(metrics.krippendorff_alpha_nominal(item, annotator, label)),
        "fleiss_kappa": _num(metrics.fleiss_kappa(item, annotator, label, n_raters=overlap)),
        "cohen_kappa_mean": _num(metrics.cohen_kappa_mean(item, annotator, label)),
    }


def _mean(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return _num(sum(defined) / len(defined)) if defined else None


# --- per annotator -----------------------------------------------------------------------


def _consensus_agreement(a: AnnotationArrays) -> dict[int, tuple[int, int]]:
    """Per annotator index: (agreed, scored) against the majority of the others (counted rows)."""
    n_ann = a.annotator_ids.size
    if not a.n:
        return {}
    columns = ([a.matrix[:, j].astype(np.int64) for j in range(len(a.label_names))]
               if a.multi_label else [a.label])
    agreed = np.zeros(n_ann, dtype=np.int64)
    scored = np.zeros(n_ann, dtype=np.int64)
    for col in columns:
        for k, value in metrics.agreement_with_consensus(a.item, a.annotator, col,
                                                         n_annotators=n_ann).items():
            agreed[k] += value.agreed
            scored[k] += value.scored
    return {k: (int(agreed[k]), int(scored[k])) for k in range(n_ann)}


def rate(hits: int, total: int) -> float | None:
    return _num(hits / total) if total else None


def _gold(a: AnnotationArrays, mask: Any) -> dict[str, Any]:
    answered = int((a.on_gold & mask).sum())
    correct = int((a.on_gold & a.gold_correct & mask).sum())
    return {"gold_answered": answered, "gold_correct": correct,
            "gold_accuracy": rate(correct, answered),
            "gold_interval": _interval(metrics.wilson_interval(correct, answered))}


def _acceptance(a: AnnotationArrays, mask: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, state in (("shown", SUGGESTION_SHOWN), ("hidden", SUGGESTION_HIDDEN)):
        rows = mask & (a.suggestion_state == state)
        n = int(rows.sum())
        out[key] = {"rate": rate(int((rows & a.suggestion_accepted).sum()), n), "n": n}
    return out


def _annotators(project: Project, a: AnnotationArrays) -> list[dict[str, Any]]:
    counted = a.subset(a.counts)
    with_consensus = _consensus_agreement(counted)
    states = dict(Qualification.objects.filter(project=project)
                  .values_list("user_id", "state"))
    threshold = project.qualification_accuracy
    out = []
    for k, user_id in enumerate(a.annotator_ids.tolist()):
        mine = a.annotator == k
        seconds = a.seconds[mine]
        seconds = seconds[np.isfinite(seconds)]
        agreed, scored = with_consensus.get(k, (0, 0))
        gold = _gold(a, mine)
        out.append({
            "username": a.usernames[k],
            "annotations": int(mine.sum()),
            "counted": int((mine & a.counts).sum()),
            **gold,
            "agreement_with_consensus": rate(agreed, scored),
            "consensus_scored": scored,
            "median_seconds": _num(np.median(seconds)) if seconds.size else None,
            "suggestion_acceptance": _acceptance(a, mine),
            "qualification": states.get(user_id),
            "flagged": gold["gold_accuracy"] is not None and gold["gold_accuracy"] < threshold,
        })
    out.sort(key=lambda row: row["username"])
    return out


def _by_guideline_version(project: Project, a: AnnotationArrays) -> list[dict[str, Any]]:
    counted = a.subset(a.counts)
    out = []
    for version in sorted(set(counted.guideline_version.tolist())):
        rows = counted.guideline_version == version
        part = counted.subset(rows)
        entry = {"version": None if version < 0 else int(version),
                 **agreement_summary(part, overlap=project.overlap, seed=project.seed,
                              intervals=False, per_label=False)}
        entry.update(_gold(counted, rows))
        out.append(entry)
    return out


# --- consensus and the review queue ------------------------------------------------------


def project_consensus(*, project: Project, a: AnnotationArrays | None = None,
                      method: str | None = None) -> tuple[AnnotationArrays, Consensus]:
    """The consensus over the project's counted annotations, by its chosen aggregation."""
    if a is None:
        a = annotation_arrays(project=project, counted_only=True)
    result = consensus(a.item, a.annotator, a.label, a.matrix, n_items=a.item_ids.size,
                       n_annotators=a.annotator_ids.size, n_labels=len(a.label_names),
                       multi_label=a.multi_label,
                       method=(method or project.aggregation))  # type: ignore[arg-type]
    return a, result


def review_queue(*, project: Project, a: AnnotationArrays | None = None,
                 result: Consensus | None = None) -> list[dict[str, Any]]:
    """Disputed items not yet adjudicated, weakest first: item id, votes, confidence, tie."""
    if a is None or result is None:
        a, result = project_consensus(project=project)
    reviewed = set(adjudicated_labels(project=project))
    mask = disputed(result, threshold=project.review_threshold) & ~a.item_is_gold
    rows = []
    for i in np.flatnonzero(mask):
        item_id = int(a.item_ids[i])
        if item_id in reviewed:
            continue
        rows.append({
            "item_id": item_id,
            "votes": int(result.votes[i]),
            "confidence": _num(result.confidence[i]),
            "weakest": _num(result.weakest[i]),
            "tie": [a.label_names[j] for j in np.flatnonzero(result.tie_labels[i])] or None,
        })
    rows.sort(key=lambda r: (r["weakest"] if r["weakest"] is not None else 0.0, r["item_id"]))
    return rows


# --- the report --------------------------------------------------------------------------


def quality_report_compute(*, project: Project, slice_field: str | None = None
                           ) -> dict[str, Any]:
    """The full quality report of a project (the shape of GET projects/{id}/quality/)."""
    a = annotation_arrays(project=project)
    counted = a.subset(a.counts)
    agreement = agreement_summary(counted, overlap=project.overlap, seed=project.seed)
    _, result = project_consensus(project=project, a=_compact(counted))
    queue = review_queue(project=project, a=_compact(counted), result=result)
    report: dict[str, Any] = {
        "agreement": agreement,
        "annotators": _annotators(project, a),
        "by_guideline_version": _by_guideline_version(project, a),
        "gold": _gold(a, np.ones(a.n, dtype=bool)),
        "suggestion_acceptance": _acceptance(a, np.ones(a.n, dtype=bool)),
        "review_queue": {"size": len(queue)},
        "aggregation": project.aggregation,
        "review_threshold": project.review_threshold,
        "qualification": {"items": project.qualification_items,
                          "accuracy": project.qualification_accuracy},
        "label_distribution": label_distribution(counted),
        "annotations": a.n,
        "annotations_counted": counted.n,
        "computed_at": timezone.now().isoformat(),
    }
    if slice_field:
        report["slice"] = _slices(project, a, slice_field)
    return report


def _compact(a: AnnotationArrays) -> AnnotationArrays:
    """Re-index items and annotators to those present in ``a`` (after a subset)."""
    if not a.n:
        return a
    used_items, item = np.unique(a.item, return_inverse=True)
    used_ann, annotator = np.unique(a.annotator, return_inverse=True)
    return AnnotationArrays(
        item=item.reshape(-1), annotator=annotator.reshape(-1), label=a.label, matrix=a.matrix,
        item_ids=a.item_ids[used_items], annotator_ids=a.annotator_ids[used_ann],
        usernames=[a.usernames[k] for k in used_ann.tolist()], label_names=a.label_names,
        multi_label=a.multi_label, counts=a.counts, guideline_version=a.guideline_version,
        seconds=a.seconds, suggestion_state=a.suggestion_state,
        suggestion_accepted=a.suggestion_accepted, on_gold=a.on_gold,
        gold_correct=a.gold_correct, item_is_gold=a.item_is_gold[used_items],
    )


def label_distribution(a: AnnotationArrays) -> dict[str, int]:
    totals = a.matrix.sum(axis=0) if a.n else np.zeros(len(a.label_names))
    return {name: int(totals[j]) for j, name in enumerate(a.label_names)}


def slice_field_validate(field: str | None) -> str | None:
    if field in (None, ""):
        return None
    if not SLICE_FIELD.fullmatch(field) or "__" in field:
        raise InvalidInput({"slice": ["A data field name: letters, digits and single "
                                      "underscores."]})
    return field


def _slices(project: Project, a: AnnotationArrays, field: str) -> dict[str, Any]:
    """Agreement, gold accuracy and label distribution per value of ``data[field]``."""
    values = item_field_values(project=project, field=field)
    per_item = [_slice_key(values.get(int(i))) for i in a.item_ids.tolist()]
    keys = sorted(set(per_item), key=lambda v: (v is None, str(v)))
    item_key = np.asarray([keys.index(v) for v in per_item], dtype=np.int64)
    row_key = item_key[a.item] if a.n else np.zeros(0, dtype=np.int64)
    out = []
    for k, value in enumerate(keys[:MAX_SLICE_VALUES]):
        rows = row_key == k
        part = a.subset(rows)
        counted = part.subset(part.counts)
        out.append({
            "value": value,
            "items": int((item_key == k).sum()),
            "annotations": part.n,
            "agreement": agreement_summary(counted, overlap=project.overlap, seed=project.seed,
                                    per_label=False),
            **_gold(part, np.ones(part.n, dtype=bool)),
            "label_distribution": label_distribution(counted),
        })
    return {"field": field, "values": out, "truncated": len(keys) > MAX_SLICE_VALUES}


def _slice_key(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def quality_report(*, project: Project, slice_field: str | None = None) -> dict[str, Any]:
    """The report for the API: computed now for small projects or a slice; from the cache
    (refreshed by a background job when labels arrived since) for large ones."""
    slice_field = slice_field_validate(slice_field)
    total, last_id = _annotation_watermark(project)
    # A multi-label report bootstraps every question jointly: as much work as that many
    # single-label reports, so it counts that many times against the inline limit.
    questions = project.labels.count() if project.is_multi_label else 1
    if slice_field or total * questions <= inline_report_limit():
        report = quality_report_compute(project=project, slice_field=slice_field)
        report["cache"] = {"state": "fresh", "inline": True}
        return report
    cached = QualityReport.objects.filter(project=project).first()
    stale = cached is None or cached.last_annotation_id != last_id \
        or cached.annotation_count != total
    if stale:
        quality_report_request_refresh(project=project)
    if cached is None or not cached.payload:
        return {"agreement": None, "annotators": [], "by_guideline_version": [],
                "review_queue": None,
                "cache": {"state": "computing", "inline": False, "computed_at": None}}
    report = dict(cached.payload)
    report["cache"] = {"state": "stale" if stale else "fresh", "inline": False,
                       "computed_at": cached.computed_at.isoformat()
                       if cached.computed_at else None,
                       "annotations_seen": cached.annotation_count}
    return report


def _annotation_watermark(project: Project) -> tuple[int, int]:
    row = Annotation.objects.filter(project=project).aggregate(n=Count("id"), last=Max("id"))
    return int(row["n"] or 0), int(row["last"] or 0)


def quality_report_refresh(*, project_id: int) -> QualityReport:
    """Compute and store the project's report (run by the refresh job)."""
    project = Project.objects.get(pk=project_id)
    total, last_id = _annotation_watermark(project)
    payload = quality_report_compute(project=project)
    report, _ = QualityReport.objects.update_or_create(
        project=project,
        defaults={"payload": payload, "annotation_count": total,
                  "last_annotation_id": last_id, "computed_at": timezone.now(),
                  "refresh_requested_at": None},
    )
    return report


# Ask again for a refresh only when the last request is older than this (a job in flight).
REFRESH_DEBOUNCE_SECONDS = 60


def quality_report_request_refresh(*, project: Project) -> bool:
    """Queue a report refresh unless one was queued in the last minute; True when queued."""
    from quality.jobs import enqueue_report_refresh

    now = timezone.now()
    report, _ = QualityReport.objects.get_or_create(project=project)
    before = now - timedelta(seconds=REFRESH_DEBOUNCE_SECONDS)
    updated = QualityReport.objects.filter(pk=report.pk).filter(
        Q(refresh_requested_at__isnull=True) | Q(refresh_requested_at__lt=before)
    ).update(refresh_requested_at=now)
    if updated:
        enqueue_report_refresh(project_id=project.pk)
    return bool(updated)


# --- review ------------------------------------------------------------------------------


def review_submit(*, project: Project, item_id: int, reviewer: Any, labels: Any,
                  note: Any = "") -> Review:
    """Record a reviewer's decision; it becomes the item's adjudicated label. Only a
    disputed item (one the review queue holds, or held before an earlier decision) may be
    decided: on any other the labelers' consensus stands. Every decision is audited."""
    if note is not None and not isinstance(note, str):
        raise InvalidInput({"note": ["A note is text."]})
    item = (Item.objects.filter(project=project, pk=item_id)
            .values("pk", "is_gold", "external_id").first())
    if item is None:
        raise NotFound({"detail": "Item not found."})
    clean = labels_validate(project=project, labels=labels,
                            label_names=label_names_of(project=project))
    if not item_disputed(project=project, item_id=item_id):
        raise Conflict({"detail": f"Item '{item['external_id']}' is not disputed; a reviewer "
                                  "decides only items in the review queue."})
    with transaction.atomic():
        before = (Review.objects.filter(project=project, item_id=item_id).order_by("-id")
                  .values_list("labels", flat=True).first())
        review = Review.objects.create(project=project, item_id=item_id, reviewer=reviewer,
                                       labels=clean, note=(note or "")[:5000])
        audit_record(actor=reviewer, action="review.decided", project=project,
                     target=item["external_id"],
                     details={"item_id": item_id, "labels": clean, "before": before,
                              "note": review.note})
    return review


def item_disputed(*, project: Project, item_id: int) -> bool:
    """Whether the consensus over the item's counted annotations is disputed (the rule of
    the review queue, adjudicated or not; gold items never are). The consensus is the
    project's, as the queue computes it: Dawid-Skene weighs each item by every annotator."""
    a, result = project_consensus(project=project)
    index = np.flatnonzero(a.item_ids == item_id)
    if not index.size:
        return False
    mask = disputed(result, threshold=project.review_threshold) & ~a.item_is_gold
    return bool(mask[index[0]])


# --- gold ---------------------------------------------------------------------------------


@transaction.atomic
def item_gold_set(*, project: Project, item_id: int, actor: Any, gold: Any) -> Item:
    """Mark an item gold with its answer (or unmark it with ``None``)."""
    item = Item.objects.select_for_update().filter(project=project, pk=item_id).first()
    if item is None:
        raise NotFound({"detail": "Item not found."})
    if gold is None:
        clean = None
    else:
        if isinstance(gold, str):
            gold = [gold]
        try:
            clean = labels_validate(project=project, labels=gold,
                                    label_names=label_names_of(project=project))
        except InvalidInput as exc:
            raise InvalidInput({"gold": exc.detail.get("labels", exc.detail)}) from None
    is_gold = clean is not None
    overlap = project.overlap
    Item.objects.filter(pk=item.pk).update(
        gold=clean, is_gold=is_gold,
        state=Value(Item.State.OPEN) if is_gold else Case(
            When(annotation_count__gte=overlap, then=Value(Item.State.COMPLETE)),
            When(annotation_count__lt=overlap - F("lease_count"), then=Value(Item.State.OPEN)),
            default=Value(Item.State.LEASED),
        ),
    )
    Assignment.objects.filter(item_id=item.pk).update(is_gold=is_gold)
    Annotation.objects.filter(item_id=item.pk).update(is_gold=is_gold)
    audit_record(actor=actor, action="item.gold_set", project=project,
                 target=item.external_id,
                 details={"item_id": item.pk, "gold": clean, "before": item.gold})
    item.refresh_from_db()
    return item


# --- qualification -----------------------------------------------------------------------


def qualification_required(*, project: Project, user: Any) -> bool:
    """Only labelers qualify; reviewers, managers and admins are trusted."""
    if project.qualification_items <= 0 or user.is_staff:
        return False
    role = (Membership.objects.filter(project=project, user=user)
            .values_list("role", flat=True).first())
    return role == Membership.Role.LABELER


@transaction.atomic
def qualification_refresh(*, project: Project, user: Any) -> Qualification:
    """The labeler's qualification, decided once they have answered the required gold items.

    Passing makes the attempt's annotations count; failing blocks the labeler until a
    manager lets them retry."""
    membership_at = (Membership.objects.filter(project=project, user=user)
                     .values_list("created_at", flat=True).first())
    qualification, _ = Qualification.objects.get_or_create(
        project=project, user=user,
        defaults={"attempt_started_at": membership_at or timezone.now()},
    )
    qualification = Qualification.objects.select_for_update().get(pk=qualification.pk)
    if qualification.state != Qualification.State.QUALIFYING:
        return qualification
    needed = project.qualification_items
    answers = gold_answers_of(project=project, user=user,
                              since=qualification.attempt_started_at, limit=needed)
    qualification.answered = len(answers)
    qualification.correct = sum(answers)
    if qualification.answered >= needed:
        passed = qualification.correct >= project.qualification_accuracy * needed - 1e-9
        qualification.state = (Qualification.State.QUALIFIED if passed
                               else Qualification.State.FAILED)
        qualification.decided_at = timezone.now()
        if passed:
            Annotation.objects.filter(
                project=project, annotator=user, counts=False,
                created_at__gte=qualification.attempt_started_at,
            ).update(counts=True)
    qualification.save()
    return qualification


def annotation_counts_for(*, project: Project, user: Any) -> bool:
    """Whether a new annotation of this user counts (False while they have not qualified)."""
    if not qualification_required(project=project, user=user):
        return True
    return Qualification.objects.filter(project=project, user=user,
                                        state=Qualification.State.QUALIFIED).exists()


@transaction.atomic
def qualification_retry(*, project: Project, username: str, actor: Any) -> Qualification:
    """Let a labeler who failed qualification try again, on gold items they have not seen."""
    membership = (Membership.objects.select_related("user")
                  .filter(project=project, user__username=username).first())
    if membership is None:
        raise NotFound({"detail": f"'{username}' is not a member of this project."})
    qualification = (Qualification.objects.select_for_update()
                     .filter(project=project, user=membership.user).first())
    if qualification is None or qualification.state != Qualification.State.FAILED:
        raise Conflict({"detail": f"'{username}' has not failed qualification; there is "
                                  "nothing to retry."})
    now = timezone.now()
    qualification.state = Qualification.State.QUALIFYING
    qualification.attempt += 1
    qualification.attempt_started_at = now
    qualification.answered = qualification.correct = 0
    qualification.decided_at = None
    qualification.save()
    Membership.objects.filter(pk=membership.pk).update(qualification_retry_at=now)
    audit_record(actor=actor, action="member.requalify", project=project, target=username,
                 details={"attempt": qualification.attempt})
    return qualification


def qualification_summary(qualification: Qualification | None, *, project: Project
                          ) -> dict[str, Any] | None:
    """What a labeler may know of their qualification (no per-item correctness)."""
    if project.qualification_items <= 0:
        return None
    if qualification is None:
        return {"state": Qualification.State.QUALIFYING, "answered": 0,
                "needed": project.qualification_items,
                "accuracy_needed": project.qualification_accuracy, "attempt": 1}
    answered = qualification.answered
    if qualification.state == Qualification.State.QUALIFYING:
        # Read live: the stored count moves only when the queue next asks the gate.
        answered = len(gold_answers_of(project=project, user=qualification.user,
                                       since=qualification.attempt_started_at,
                                       limit=project.qualification_items))
    out: dict[str, Any] = {
        "state": qualification.state, "answered": answered,
        "needed": project.qualification_items,
        "accuracy_needed": project.qualification_accuracy, "attempt": qualification.attempt,
    }
    if qualification.state != Qualification.State.QUALIFYING:
        out["accuracy"] = rate(qualification.correct, qualification.answered)
    return out
