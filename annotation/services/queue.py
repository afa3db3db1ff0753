"""The queue: claiming the next item, submitting, skipping and editing annotations.

Every write here is one short transaction. Items carry ``annotation_count`` and
``lease_count`` so that "has a free slot" is a column the queue's partial index can serve;
the counters change only in this module, always together with the rows they count.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from annotation.errors import (
    Conflict,
    GuidelineNotAcknowledged,
    InvalidInput,
    NotFound,
    ProjectArchived,
)
from annotation.extensions import GOLD_ONLY, after_submit_hooks, labeler_policy
from annotation.item_state import item_state_case
from annotation.models import Annotation, Assignment, Item, Membership, Project
from annotation.services import queue_sql

logger = logging.getLogger(__name__)

EXPIRY_SWEEP_BATCH = 500
MAX_CLIENT_ID = 100


@dataclass(frozen=True)
class Handout:
    """What ``next`` hands a labeler: the assignment (the row, holding the lease), its item, the
    guideline version and the suggestion as shown."""

    assignment: Assignment
    item: Item
    guideline_version: int | None
    suggestion: dict[str, Any] | None


def suggestion_for(*, project: Project, item: Item) -> dict[str, Any] | None:
    """The model's suggestion as recorded in provenance: ``shown`` says whether the labeler
    saw it. In ``ab`` mode a seeded half of the items hide it (to measure automation bias).
    ``model_version`` is the project model's version number, or the team's own model that
    made it ("import:<model_version>", "endpoint:<model_version>")."""
    if project.suggestions == Project.Suggestions.OFF or item.predicted_labels is None:
        return None
    shown = True
    if project.suggestions == Project.Suggestions.AB:
        digest = hashlib.sha256(f"{project.seed}:{item.pk}".encode()).digest()
        shown = digest[0] % 2 == 0
    return {
        "labels": item.predicted_labels,
        "confidence": item.confidence,
        "model_version": item.suggested_by or item.scored_by_version,
        "shown": shown,
    }


def visible_suggestion(suggestion: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a recorded suggestion the labeler may see (nothing when hidden)."""
    if not suggestion or not suggestion.get("shown"):
        return None
    return {k: suggestion[k] for k in ("labels", "confidence", "model_version")}


def assignments_expire(*, project: Project, now: Any = None) -> int:
    """Return expired leases' slots to the queue. Rows another sweep holds are skipped, so
    concurrent labelers never wait on each other here."""
    now = now or timezone.now()
    stale = Assignment.objects.filter(
        project=project, state=Assignment.State.ACTIVE, expires_at__lte=now
    )
    if not stale.exists():
        return 0
    with transaction.atomic():
        rows = list(
            stale.select_for_update(skip_locked=True).values_list("id", "item_id")[
                :EXPIRY_SWEEP_BATCH
            ]
        )
        if not rows:
            return 0
        Assignment.objects.filter(pk__in=[r[0] for r in rows]).update(
            state=Assignment.State.EXPIRED, closed_at=now
        )
        per_item: dict[int, int] = {}
        for _, item_id in rows:
            per_item[item_id] = per_item.get(item_id, 0) + 1
        for item_id, n in sorted(per_item.items()):  # one lock order: no deadlocks
            queue_sql.item_counters_update(
                item_id=item_id, overlap=project.overlap, d_annotations=0, d_leases=-n
            )
    return len(rows)


def _own_open_assignment(
    *, project: Project, user: Any, now: Any, ahead_of: int | None = None
) -> Assignment | None:
    own = queue_sql.labeler_state(
        project_id=project.pk, user_id=user.pk, now=now, excluding=ahead_of
    ).own_assignment_id
    return None if own is None else Assignment.objects.select_related("item").get(pk=own)


class Rng(Protocol):
    """What the claim draws from: a ``random.Random``, or the ``random`` module itself."""

    def random(self) -> float: ...


def assignment_claim_next(
    *, project: Project, user: Any, rng: Rng | None = None, ahead_of: int | None = None
) -> Handout | None:
    """Give the labeler their next item, or None when nothing is left for them.

    Order: their own unexpired assignment; a gold item at ``gold_rate``, in place of and looking
    like (see ``queue_sql.pick_gold``) the open item with the highest priority that they
    have not seen and that still has a free slot; else that item. With
    ``duplicates_back_to_back`` an open item of the near-duplicate group of their last
    submitted item comes before the highest-priority one (gold stands in for it alike).
    Gold is mixed into regular work: when no regular item is left for the labeler the answer is None
    every time, not a gold item now and then.

    ``ahead_of`` is the labeler's current assignment: the browser fetches the following
    item while the current one is on screen, so a labeler holds at most two open assignments."""
    if project.archived_at is not None:
        raise ProjectArchived()
    now = timezone.now()
    state = queue_sql.labeler_state(
        project_id=project.pk, user_id=user.pk, now=now, excluding=ahead_of
    )
    guideline_version = state.guideline_version
    if guideline_version is not None and not state.guideline_acked:
        raise GuidelineNotAcknowledged(guideline_version)
    gold_only = labeler_policy().serve_mode(project=project, user=user) == GOLD_ONLY
    held: Assignment | None
    if state.own_assignment_id is not None:
        held = Assignment.objects.select_related("item").get(pk=state.own_assignment_id)
        return Handout(held, held.item, held.guideline_version, visible_suggestion(held.suggestion))
    if state.expired_leases:
        assignments_expire(project=project, now=now)
    rng = rng or random
    stands_in_for: Item | None = None
    try:
        with transaction.atomic():
            if gold_only:  # a labeler who is qualifying gets gold only
                item = queue_sql.pick_gold(project_id=project.pk, user_id=user.pk, like=None)
            else:
                item = None
                if project.duplicates_back_to_back:
                    item = queue_sql.pick_same_group(project_id=project.pk, user_id=user.pk)
                if item is None:
                    item = queue_sql.pick_open(project_id=project.pk, user_id=user.pk)
                if item is not None and project.gold_rate > 0:
                    # Asked on every claim, not only when gold is due: a gold claim must not
                    # take one query more than a regular one (a timing tell). The open row
                    # stays locked until commit (milliseconds); others skip it.
                    gold = queue_sql.pick_gold(
                        project_id=project.pk, user_id=user.pk, like=item.confidence
                    )
                    if (
                        rng.random() < project.gold_rate
                        and gold is not None
                        # A gold item with no suggestion never stands in for an item with
                        # one (imported predictions may not cover gold items): its missing
                        # suggestion would mark it.
                        and (gold.predicted_labels is not None or item.predicted_labels is None)
                    ):
                        stands_in_for, item = item, gold
            if item is None:
                return None
            suggestion = suggestion_for(project=project, item=item)
            if stands_in_for is not None and stands_in_for.predicted_labels is None:
                # Gold is served as the item it stands in for would be: with no suggestion
                # when that one has none (not scored yet), so a missing one marks no kind.
                suggestion = None
            assignment = queue_sql.insert(
                Assignment,
                project_id=project.pk,
                item_id=item.pk,
                labeler_id=user.pk,
                is_gold=item.is_gold,
                guideline_version=guideline_version,
                suggestion=suggestion,
                expires_at=now + timedelta(seconds=project.lease_seconds),
            )
            queue_sql.item_counters_update(
                item_id=item.pk, overlap=project.overlap, d_annotations=0, d_leases=1
            )
    except IntegrityError:
        # A second request of the same labeler raced us to this item; serve theirs.
        held = _own_open_assignment(project=project, user=user, now=now, ahead_of=ahead_of)
        if held is None:
            raise Conflict(
                {"detail": "Another request of yours is claiming an item; try again."}
            ) from None
        return Handout(held, held.item, held.guideline_version, visible_suggestion(held.suggestion))
    return Handout(assignment, item, guideline_version, visible_suggestion(suggestion))


def labels_validate(*, project: Project, labels: Any, label_names: list[str]) -> list[str]:
    """Check submitted labels against the project's schema; 400 names the problem."""
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise InvalidInput({"labels": ["Send a list of label names."]})
    if not labels:
        raise InvalidInput({"labels": ["Choose at least one label."]})
    unknown = [x for x in labels if x not in label_names]
    if unknown:
        raise InvalidInput({"labels": [f"'{x}' is not a label of this project." for x in unknown]})
    if len(set(labels)) != len(labels):
        raise InvalidInput({"labels": ["A label is given more than once."]})
    if not project.is_multi_label and len(labels) > 1:
        raise InvalidInput(
            {"labels": [f"This project takes exactly one label per item, got {len(labels)}."]}
        )
    order = {name: i for i, name in enumerate(label_names)}
    return sorted(labels, key=order.__getitem__)


def _duration_validate(duration_ms: Any) -> int | None:
    if duration_ms is None:
        return None
    if (
        isinstance(duration_ms, bool)
        or not isinstance(duration_ms, int)
        or not (0 <= duration_ms <= 24 * 3600 * 1000)
    ):
        raise InvalidInput({"duration_ms": ["A whole number of milliseconds, 0 to 86400000."]})
    return duration_ms


def _client_id_validate(client_id: Any) -> str | None:
    if client_id in (None, ""):
        return None
    if not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID:
        raise InvalidInput({"client_id": [f"A string of at most {MAX_CLIENT_ID} characters."]})
    return client_id


def own_assignment(*, assignment_id: int, user: Any, lock: bool) -> Assignment:
    """One of the caller's own assignments, while they still belong to its project (staff
    always do); 404 otherwise. The membership is read in the same query."""
    qs = Assignment.objects.select_related("project")
    if not user.is_staff:
        role = Membership.objects.filter(project=OuterRef("project_id"), user=user)
        qs = qs.annotate(member_role=Subquery(role.values("role")[:1]))
    if lock:
        qs = qs.select_for_update(of=("self",))
    assignment = qs.filter(pk=assignment_id, labeler=user).first()
    # member_role: annotated above, not a field of Assignment.
    if assignment is None or (not user.is_staff and assignment.member_role is None):  # type: ignore[attr-defined]
        raise NotFound({"detail": "Assignment not found."})
    return assignment


def annotation_submit(
    *, assignment_id: int, user: Any, labels: Any, duration_ms: Any = None, client_id: Any = None
) -> tuple[Annotation, bool]:
    """Record a labeler's answer. Returns (annotation, created).

    The same ``client_id`` again returns the first annotation. A late submit (the lease
    expired) is still taken while the item needs it; otherwise 409, so nothing is dropped
    silently. The caller must still belong to the project (404 otherwise)."""
    duration_ms = _duration_validate(duration_ms)
    client_id = _client_id_validate(client_id)
    try:
        with transaction.atomic():
            assignment = queue_sql.assignment_for_submit(
                assignment_id=assignment_id, user_id=user.pk
            )
            # member_role: a column of the raw query, not a field of Assignment.
            if assignment is None or (assignment.member_role is None and not user.is_staff):  # type: ignore[attr-defined]
                raise NotFound({"detail": "Assignment not found."})
            if assignment.state == Assignment.State.SUBMITTED and client_id:
                existing = _same_answer(user=user, client_id=client_id, assignment_id=assignment_id)
                if existing is not None:
                    return existing, False
            project, label_names = queue_sql.project_with_label_names(
                project_id=assignment.project_id
            )
            if project.archived_at is not None:
                raise ProjectArchived()
            labels = labels_validate(project=project, labels=labels, label_names=label_names)
            if assignment.state == Assignment.State.SUBMITTED:
                raise Conflict(
                    {
                        "detail": "This assignment was already submitted; change "
                        "the annotation instead."
                    }
                )
            if assignment.state == Assignment.State.SKIPPED:
                raise Conflict({"detail": "This item was skipped."})
            now = timezone.now()
            was_active = assignment.state == Assignment.State.ACTIVE
            late = not was_active or assignment.expires_at <= now
            if late and not assignment.is_gold:
                item = Item.objects.select_for_update().get(pk=assignment.item_id)
                others = item.lease_count - (1 if was_active else 0)
                if item.annotation_count + others >= project.overlap:
                    raise Conflict(
                        {
                            "detail": "Your lease expired and this item no longer "
                            "needs an answer; your answer was not "
                            "recorded."
                        }
                    )
            is_counted = labeler_policy().annotation_counts(project=project, user=user)
            annotation = queue_sql.insert(
                Annotation,
                project_id=project.pk,
                item_id=assignment.item_id,
                assignment_id=assignment.pk,
                labeler_id=user.pk,
                labels=labels,
                guideline_version=assignment.guideline_version,
                duration_ms=duration_ms,
                suggestion=assignment.suggestion,
                is_gold=assignment.is_gold,
                client_id=client_id,
                is_counted=is_counted,
            )
            queue_sql.assignment_close(
                assignment_id=assignment.pk, state=Assignment.State.SUBMITTED, now=now
            )
            queue_sql.item_counters_update(
                item_id=assignment.item_id,
                overlap=project.overlap,
                d_annotations=1,
                d_leases=-1 if was_active else 0,
            )
            transaction.on_commit(lambda: _after_submit(project=project, annotation=annotation))
    except IntegrityError:
        # The whole transaction rolled back: nothing of this attempt was written.
        existing = client_id and _same_answer(
            user=user, client_id=client_id, assignment_id=assignment_id
        )
        if existing:
            return existing, False
        raise Conflict({"detail": "You already annotated this item."}) from None
    return annotation, True


def _same_answer(*, user: Any, client_id: str, assignment_id: int) -> Annotation | None:
    """The annotation an earlier attempt with this ``client_id`` made (a retry), or None;
    409 if that ``client_id`` went with another assignment."""
    existing = Annotation.objects.filter(labeler=user, client_id=client_id).first()
    if existing is not None and existing.assignment_id != assignment_id:
        raise Conflict({"client_id": ["This client_id was already used for another assignment."]})
    return existing


def _after_submit(*, project: Project, annotation: Annotation) -> None:
    """Run the registered after-submit hooks; their failure never fails a submit."""
    for hook in after_submit_hooks():
        try:
            hook(project=project, annotation=annotation)
        except Exception:  # the broker may be down: labeling goes on, the failure is logged
            logger.exception(
                "after-submit hook %s failed for project %s", hook.__module__, project.pk
            )


def assignment_skip(*, assignment_id: int, user: Any, reason: Any = "") -> None:
    """Give an item back; this labeler will not be offered it again. The caller must still
    belong to the project (404 otherwise, checked before the reason)."""
    with transaction.atomic():
        assignment = own_assignment(assignment_id=assignment_id, user=user, lock=True)
        if reason is not None and not isinstance(reason, str):
            raise InvalidInput({"reason": ["A reason is text."]})
        reason = (reason or "")[:500]
        if assignment.state == Assignment.State.SKIPPED:
            return
        if assignment.state == Assignment.State.SUBMITTED:
            raise Conflict({"detail": "This item was already submitted."})
        was_active = assignment.state == Assignment.State.ACTIVE
        Assignment.objects.filter(pk=assignment.pk).update(
            state=Assignment.State.SKIPPED, skip_reason=reason, closed_at=timezone.now()
        )
        if was_active:
            queue_sql.item_counters_update(
                item_id=assignment.item_id,
                overlap=assignment.project.overlap,
                d_annotations=0,
                d_leases=-1,
            )


def assignments_release(*, project: Project, user: Any | None) -> int:
    """End a labeler's open assignments in the project without an answer (a member
    removed), or everyone's (``user=None``: the project archived): the slots return to the
    queue. Returns the number released."""
    with transaction.atomic():
        held = Assignment.objects.select_for_update().filter(
            project=project, state=Assignment.State.ACTIVE
        )
        if user is not None:
            held = held.filter(labeler=user)
        open_ones = list(held.values_list("pk", "item_id"))
        if not open_ones:
            return 0
        Assignment.objects.filter(pk__in=[pk for pk, _ in open_ones]).update(
            state=Assignment.State.EXPIRED, closed_at=timezone.now()
        )
        # An item may be held by several labelers: it gives back one lease per assignment.
        per_item = Counter(item_id for _, item_id in open_ones)
        for count in sorted(set(per_item.values())):
            Item.objects.filter(pk__in=[i for i, n in per_item.items() if n == count]).update(
                lease_count=F("lease_count") - count,
                state=item_state_case(overlap=project.overlap, d_leases=-count, gold_open=True),
            )
    return len(open_ones)


def annotation_update(
    *, annotation_id: int, user: Any, labels: Any, label_names: list[str], project: Project
) -> Annotation:
    """Change one's own answer, allowed for one lease length after submitting."""
    annotation = Annotation.objects.filter(pk=annotation_id, labeler=user, project=project).first()
    if annotation is None:
        raise NotFound({"detail": "Annotation not found."})
    deadline = annotation.created_at + timedelta(seconds=project.lease_seconds)
    if timezone.now() > deadline:
        raise Conflict({"detail": "This answer can no longer be changed."})
    annotation.labels = labels_validate(project=project, labels=labels, label_names=label_names)
    annotation.save(update_fields=["labels", "updated_at"])
    Item.objects.filter(pk=annotation.item_id).update(updated_at=annotation.updated_at)
    return annotation
