"""The queue: claiming the next item, submitting, skipping and editing annotations.

Every write here is one short transaction. Items carry ``annotation_count`` and
``lease_count`` so that "has a free slot" is a column the queue's partial index can serve;
the counters change only in this module, always together with the rows they count.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from annotation.errors import Conflict, GuidelineNotAcknowledged, InvalidInput, NotFound
from annotation.models import Annotation, Assignment, Guideline, GuidelineAck, Item, Project

logger = logging.getLogger(__name__)

EXPIRY_SWEEP_BATCH = 500
MAX_CLIENT_ID = 100


@dataclass(frozen=True)
class Claim:
    """What ``next`` hands a labeler."""

    assignment: Assignment
    item: Item
    guideline_version: int | None
    suggestion: dict[str, Any] | None


def _item_counters_update(*, item_id: int, overlap: int, d_annotations: int,
                          d_leases: int) -> None:
    """Move an item's counters and recompute its state in the same UPDATE statement.

    Column values inside the statement are the row's values before the update, so the
    state is computed from the new counts written out explicitly. Plain SQL: it runs twice
    per labeled item, and building it with ``Case``/``When``/``F`` cost more CPU than the
    database spends on it (bench/bench_labeling_load.py)."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNTERS_SQL, [
            d_annotations, d_leases, Item.State.OPEN.value,
            overlap - d_annotations, Item.State.COMPLETE.value,
            overlap - d_annotations - d_leases, Item.State.OPEN.value,
            Item.State.LEASED.value, item_id,
        ])


_COUNTERS_SQL = (
    f"UPDATE {Item._meta.db_table} SET annotation_count = annotation_count + %s, "
    "lease_count = lease_count + %s, state = CASE "
    "WHEN is_gold THEN %s "  # gold items stay open: every labeler may get them
    "WHEN annotation_count >= %s THEN %s "  # overlap reached
    "WHEN annotation_count < %s - lease_count THEN %s "  # a slot still free
    "ELSE %s END WHERE id = %s"
)


def _guideline_gate(*, project: Project, user: Any) -> int | None:
    """The current guideline version, or raise 409 if the labeler has not acknowledged it."""
    current = (
        Guideline.objects.filter(project=project)
        .annotate(acked=Exists(GuidelineAck.objects.filter(guideline=OuterRef("pk"), user=user)))
        .order_by("-version").values_list("version", "acked").first()
    )
    if current is None:
        return None
    version, acked = current
    if not acked:
        raise GuidelineNotAcknowledged(version)
    return version


def suggestion_for(*, project: Project, item: Item) -> dict[str, Any] | None:
    """The model's suggestion as recorded in provenance: ``shown`` says whether the labeler
    saw it. In ``ab`` mode a seeded half of the items hide it (to measure automation bias)."""
    if project.suggestions == Project.Suggestions.OFF or item.predicted_labels is None:
        return None
    shown = True
    if project.suggestions == Project.Suggestions.AB:
        digest = hashlib.sha256(f"{project.seed}:{item.pk}".encode()).digest()
        shown = digest[0] % 2 == 0
    return {"labels": item.predicted_labels, "confidence": item.confidence,
            "model_version": item.scored_by, "shown": shown}


def visible_suggestion(suggestion: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a recorded suggestion the labeler may see (nothing when hidden)."""
    if not suggestion or not suggestion.get("shown"):
        return None
    return {k: suggestion[k] for k in ("labels", "confidence", "model_version")}


def leases_expire(*, project: Project, now: Any = None) -> int:
    """Return expired leases' slots to the queue. Rows another sweep holds are skipped, so
    concurrent labelers never wait on each other here."""
    now = now or timezone.now()
    stale = Assignment.objects.filter(project=project, state=Assignment.State.ACTIVE,
                                      expires_at__lte=now)
    if not stale.exists():
        return 0
    with transaction.atomic():
        rows = list(
            stale.select_for_update(skip_locked=True).values_list("id", "item_id")
            [:EXPIRY_SWEEP_BATCH]
        )
        if not rows:
            return 0
        Assignment.objects.filter(pk__in=[r[0] for r in rows]).update(
            state=Assignment.State.EXPIRED, closed_at=now)
        per_item: dict[int, int] = {}
        for _, item_id in rows:
            per_item[item_id] = per_item.get(item_id, 0) + 1
        for item_id, n in sorted(per_item.items()):  # one lock order: no deadlocks
            _item_counters_update(item_id=item_id, overlap=project.overlap, d_annotations=0,
                                  d_leases=-n)
    return len(rows)


def _own_open_claim(*, project: Project, user: Any, now: Any, ahead_of: int | None = None
                    ) -> Assignment | None:
    qs = Assignment.objects.select_related("item").filter(
        project=project, annotator=user, state=Assignment.State.ACTIVE, expires_at__gt=now)
    if ahead_of is not None:
        qs = qs.exclude(pk=ahead_of)
    return qs.order_by("created_at").first()


def _pick_gold(*, project: Project, user: Any) -> Item | None:
    seen = Assignment.objects.filter(item=OuterRef("pk"), annotator=user)
    return (
        Item.objects.filter(project=project, is_gold=True).exclude(Exists(seen))
        .order_by("random_key").first()
    )


def open_candidates(*, project: Project, user: Any) -> QuerySet[Item]:
    """Open items this labeler has never held, best first, locked so that concurrent
    claimers skip them (PostgreSQL); SQLite serialises writers instead. Served by the
    partial index ``item_queue_idx``."""
    seen = Assignment.objects.filter(item=OuterRef("pk"), annotator=user)
    return (
        Item.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(project=project, state=Item.State.OPEN, is_gold=False)
        .exclude(Exists(seen))
        .order_by("-priority", "random_key")
    )


def _pick_open(*, project: Project, user: Any) -> Item | None:
    return open_candidates(project=project, user=user).first()


def assignment_claim_next(*, project: Project, user: Any, rng: random.Random | None = None,
                          ahead_of: int | None = None) -> Claim | None:
    """Give the labeler their next item, or None when nothing is left for them.

    Order: their own unexpired lease; a gold item at ``gold_rate``; the open item with the
    highest priority that they have not seen and that still has a free slot. Gold is mixed
    into regular work: when no regular item is left for the labeler the answer is None
    every time, not a gold item now and then.

    ``ahead_of`` is the labeler's current assignment: the browser fetches the following
    item while the current one is on screen, so a labeler holds at most two leases."""
    from quality.gates import GOLD_ONLY, qualification_gate

    guideline_version = _guideline_gate(project=project, user=user)
    gold_only = qualification_gate(project=project, user=user) == GOLD_ONLY
    now = timezone.now()
    own = _own_open_claim(project=project, user=user, now=now, ahead_of=ahead_of)
    if own is not None:
        return Claim(own, own.item, own.guideline_version, visible_suggestion(own.suggestion))
    if ahead_of is not None and not Assignment.objects.filter(
        pk=ahead_of, annotator=user, project=project, state=Assignment.State.ACTIVE
    ).exists():
        ahead_of = None  # not a current lease of theirs: an ordinary claim
    leases_expire(project=project, now=now)
    rng = rng or random
    with transaction.atomic():
        if gold_only:  # a labeler who is qualifying gets gold only
            item = _pick_gold(project=project, user=user)
        else:
            item = _pick_open(project=project, user=user)
            if item is not None and project.gold_rate > 0 and rng.random() < project.gold_rate:
                # The open row stays locked until commit, a few milliseconds; others skip it.
                item = _pick_gold(project=project, user=user) or item
        if item is None:
            return None
        suggestion = suggestion_for(project=project, item=item)
        try:
            with transaction.atomic():
                assignment = Assignment.objects.create(
                    project=project, item=item, annotator=user, is_gold=item.is_gold,
                    guideline_version=guideline_version, suggestion=suggestion,
                    expires_at=now + timedelta(seconds=project.lease_seconds),
                )
        except IntegrityError:
            # A second request of the same labeler raced us to this item; serve theirs.
            own = _own_open_claim(project=project, user=user, now=now, ahead_of=ahead_of)
            if own is None:
                raise Conflict({"detail": "Another request of yours is claiming an item; "
                                          "try again."}) from None
            return Claim(own, own.item, own.guideline_version,
                         visible_suggestion(own.suggestion))
        _item_counters_update(item_id=item.pk, overlap=project.overlap, d_annotations=0,
                              d_leases=1)
    return Claim(assignment, item, guideline_version, visible_suggestion(suggestion))


def labels_validate(*, project: Project, labels: Any, label_names: list[str]) -> list[str]:
    """Check submitted labels against the project's schema; 400 names the problem."""
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise InvalidInput({"labels": ["Send a list of label names."]})
    if not labels:
        raise InvalidInput({"labels": ["Choose at least one label."]})
    unknown = [x for x in labels if x not in label_names]
    if unknown:
        raise InvalidInput({"labels": [f"'{x}' is not a label of this project."
                                       for x in unknown]})
    if len(set(labels)) != len(labels):
        raise InvalidInput({"labels": ["A label is given more than once."]})
    if not project.is_multi_label and len(labels) > 1:
        raise InvalidInput({"labels": ["This project takes exactly one label per item, "
                                       f"got {len(labels)}."]})
    order = {name: i for i, name in enumerate(label_names)}
    return sorted(labels, key=order.__getitem__)


def _duration_validate(duration_ms: Any) -> int | None:
    if duration_ms is None:
        return None
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or not (
        0 <= duration_ms <= 24 * 3600 * 1000
    ):
        raise InvalidInput({"duration_ms": ["A whole number of milliseconds, 0 to 86400000."]})
    return duration_ms


def _client_id_validate(client_id: Any) -> str | None:
    if client_id in (None, ""):
        return None
    if not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID:
        raise InvalidInput({"client_id": [f"A string of at most {MAX_CLIENT_ID} characters."]})
    return client_id


def _assignment_of(*, assignment_id: int, user: Any, lock: bool) -> Assignment:
    qs = Assignment.objects.select_related("project")
    if lock:
        qs = qs.select_for_update(of=("self",))
    assignment = qs.filter(pk=assignment_id, annotator=user).first()
    if assignment is None:
        raise NotFound({"detail": "Assignment not found."})
    return assignment


def annotation_submit(*, assignment_id: int, user: Any, labels: Any, label_names: list[str],
                      duration_ms: Any = None, client_id: Any = None
                      ) -> tuple[Annotation, bool]:
    """Record a labeler's answer. Returns (annotation, created).

    The same ``client_id`` again returns the first annotation. A late submit (the lease
    expired) is still taken while the item needs it; otherwise 409, so nothing is dropped
    silently."""
    from quality.gates import annotation_counts

    duration_ms = _duration_validate(duration_ms)
    client_id = _client_id_validate(client_id)
    if client_id:
        existing = Annotation.objects.filter(annotator=user, client_id=client_id).first()
        if existing is not None:
            if existing.assignment_id != assignment_id:
                raise Conflict({"client_id": ["This client_id was already used for another "
                                              "assignment."]})
            return existing, False
    with transaction.atomic():
        assignment = _assignment_of(assignment_id=assignment_id, user=user, lock=True)
        project = assignment.project
        if assignment.state == Assignment.State.SUBMITTED and client_id:
            # A retry that raced its first attempt past the check above: same answer.
            existing = Annotation.objects.filter(annotator=user, client_id=client_id,
                                                 assignment_id=assignment_id).first()
            if existing is not None:
                return existing, False
        labels = labels_validate(project=project, labels=labels, label_names=label_names)
        if assignment.state == Assignment.State.SUBMITTED:
            raise Conflict({"detail": "This assignment was already submitted; change the "
                                      "annotation instead."})
        if assignment.state == Assignment.State.SKIPPED:
            raise Conflict({"detail": "This item was skipped."})
        now = timezone.now()
        was_active = assignment.state == Assignment.State.ACTIVE
        late = not was_active or assignment.expires_at <= now
        if late and not assignment.is_gold:
            item = Item.objects.select_for_update().get(pk=assignment.item_id)
            others = item.lease_count - (1 if was_active else 0)
            if item.annotation_count + others >= project.overlap:
                raise Conflict({"detail": "Your lease expired and this item no longer needs "
                                          "an answer; your answer was not recorded."})
        try:
            with transaction.atomic():
                annotation = Annotation.objects.create(
                    project=project, item_id=assignment.item_id, assignment=assignment,
                    annotator=user, labels=labels, guideline_version=assignment.guideline_version,
                    duration_ms=duration_ms, suggestion=assignment.suggestion,
                    is_gold=assignment.is_gold, client_id=client_id,
                    counts=annotation_counts(project=project, user=user),
                )
        except IntegrityError:
            raise Conflict({"detail": "You already annotated this item."}) from None
        Assignment.objects.filter(pk=assignment.pk).update(
            state=Assignment.State.SUBMITTED, closed_at=now)
        _item_counters_update(item_id=assignment.item_id, overlap=project.overlap,
                              d_annotations=1, d_leases=-1 if was_active else 0)
        transaction.on_commit(lambda: _after_submit(project=project, annotation=annotation))
    return annotation, True


def _after_submit(*, project: Project, annotation: Annotation) -> None:
    """Let the learning loop and quality module react; their failure never fails a submit."""
    from quality.triggers import after_annotation as quality_after
    from tasks.triggers import after_annotation as learning_after

    for hook in (learning_after, quality_after):
        try:
            hook(project=project, annotation=annotation)
        except Exception:  # the broker may be down: labeling goes on, the failure is logged
            logger.exception("after-submit hook %s failed for project %s", hook.__module__,
                             project.pk)


def assignment_skip(*, assignment_id: int, user: Any, reason: Any = "") -> None:
    """Give an item back; this labeler will not be offered it again."""
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput({"reason": ["A reason is text."]})
    reason = (reason or "")[:500]
    with transaction.atomic():
        assignment = _assignment_of(assignment_id=assignment_id, user=user, lock=True)
        if assignment.state == Assignment.State.SKIPPED:
            return
        if assignment.state == Assignment.State.SUBMITTED:
            raise Conflict({"detail": "This item was already submitted."})
        was_active = assignment.state == Assignment.State.ACTIVE
        Assignment.objects.filter(pk=assignment.pk).update(
            state=Assignment.State.SKIPPED, skip_reason=reason, closed_at=timezone.now())
        if was_active:
            _item_counters_update(item_id=assignment.item_id,
                                  overlap=assignment.project.overlap, d_annotations=0,
                                  d_leases=-1)


def assignment_release(*, assignment: Assignment) -> None:
    """End an open lease without an answer (a member removed); the slot returns."""
    with transaction.atomic():
        updated = Assignment.objects.filter(pk=assignment.pk, state=Assignment.State.ACTIVE
                                            ).update(state=Assignment.State.EXPIRED,
                                                     closed_at=timezone.now())
        if updated:
            _item_counters_update(item_id=assignment.item_id,
                                  overlap=assignment.project.overlap, d_annotations=0,
                                  d_leases=-1)


def annotation_update(*, annotation_id: int, user: Any, labels: Any, label_names: list[str],
                      project: Project) -> Annotation:
    """Change one's own answer, allowed for one lease length after submitting."""
    annotation = Annotation.objects.filter(pk=annotation_id, annotator=user,
                                           project=project).first()
    if annotation is None:
        raise NotFound({"detail": "Annotation not found."})
    deadline = annotation.created_at + timedelta(seconds=project.lease_seconds)
    if timezone.now() > deadline:
        raise Conflict({"detail": "This answer can no longer be changed."})
    annotation.labels = labels_validate(project=project, labels=labels, label_names=label_names)
    annotation.save(update_fields=["labels", "updated_at"])
    return annotation

