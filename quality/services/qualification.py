"""Qualification of labelers on gold items: who must qualify, their attempt's state, a
manager's retry, and the policy the queue asks before serving them (which refreshes the
labeler's qualification as it answers)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from annotation.errors import Conflict, Forbidden, NotFound
from annotation.extensions import GOLD_ONLY, NORMAL
from annotation.models import Annotation, Membership, Project
from annotation.services.audit import audit_record
from quality.models import Qualification
from quality.report import rate
from quality.selectors import gold_answers_of
from quality.services.item_consensus import item_consensus_refresh


class QualificationFailed(Forbidden):
    """The labeler did not pass qualification and waits for a manager's retry (403)."""

    def __init__(self, *, answered: int, correct: int, needed: float):
        super().__init__(
            {
                "detail": "You did not pass qualification; ask a manager to let you retry.",
                "code": "qualification_failed",
                "qualification": {
                    "answered": answered,
                    "correct": correct,
                    "accuracy_needed": needed,
                },
            }
        )


class QualificationPolicy:
    """The labeler policy the queue asks (registered in ``QualityConfig.ready``): labelers
    of a project with ``qualification_items`` answer gold items first, and their
    annotations count once they pass."""

    def serve_mode(self, *, project: Project, user: Any) -> str | None:
        """``NORMAL`` (None), or ``GOLD_ONLY`` while the labeler qualifies; raises
        :class:`QualificationFailed` when they failed and may not get more items. Not a
        pure check: it refreshes (locks and writes) the labeler's ``Qualification`` row
        first, see :func:`qualification_refresh`."""
        if not qualification_required(project=project, user=user):
            return NORMAL
        qualification = qualification_refresh(project=project, user=user)
        if qualification.state == Qualification.State.QUALIFIED:
            return NORMAL
        if qualification.state == Qualification.State.FAILED:
            raise QualificationFailed(
                answered=qualification.answered,
                correct=qualification.correct,
                needed=project.qualification_accuracy,
            )
        return GOLD_ONLY

    def annotation_counts(self, *, project: Project, user: Any) -> bool:
        """Whether a new annotation of this user counts towards agreement, export and
        training (False while they have not qualified)."""
        if not qualification_required(project=project, user=user):
            return True
        return Qualification.objects.filter(
            project=project, user=user, state=Qualification.State.QUALIFIED
        ).exists()


def qualification_required(*, project: Project, user: Any) -> bool:
    """Only labelers qualify; reviewers, managers and admins are trusted."""
    if project.qualification_items <= 0 or user.is_staff:
        return False
    role = (
        Membership.objects.filter(project=project, user=user).values_list("role", flat=True).first()
    )
    return role == Membership.Role.LABELER


@transaction.atomic
def qualification_refresh(*, project: Project, user: Any) -> Qualification:
    """The labeler's qualification, decided once they have answered the required gold items.

    Passing makes the attempt's annotations count; failing blocks the labeler until a
    manager lets them retry."""
    membership_at = (
        Membership.objects.filter(project=project, user=user)
        .values_list("created_at", flat=True)
        .first()
    )
    qualification, _ = Qualification.objects.get_or_create(
        project=project,
        user=user,
        defaults={"attempt_started_at": membership_at or timezone.now()},
    )
    qualification = Qualification.objects.select_for_update().get(pk=qualification.pk)
    if qualification.state != Qualification.State.QUALIFYING:
        return qualification
    needed = project.qualification_items
    answers = gold_answers_of(
        project=project, user=user, since=qualification.attempt_started_at, limit=needed
    )
    qualification.answered = len(answers)
    qualification.correct = sum(answers)
    if qualification.answered >= needed:
        passed = qualification.correct >= project.qualification_accuracy * needed - 1e-9
        qualification.state = (
            Qualification.State.QUALIFIED if passed else Qualification.State.FAILED
        )
        qualification.decided_at = timezone.now()
        if passed:
            now_counted = Annotation.objects.filter(
                project=project,
                labeler=user,
                is_counted=False,
                created_at__gte=qualification.attempt_started_at,
            )
            item_ids = list(now_counted.values_list("item_id", flat=True))
            now_counted.update(is_counted=True)
            item_consensus_refresh(project=project, item_ids=item_ids)
    qualification.save()
    return qualification


@transaction.atomic
def qualification_retry(*, project: Project, username: str, actor: Any) -> Qualification:
    """Let a labeler who failed qualification try again, on gold items they have not seen."""
    membership = (
        Membership.objects.select_related("user")
        .filter(project=project, user__username=username)
        .first()
    )
    if membership is None:
        raise NotFound({"detail": f"'{username}' is not a member of this project."})
    qualification = (
        Qualification.objects.select_for_update()
        .filter(project=project, user=membership.user)
        .first()
    )
    if qualification is None or qualification.state != Qualification.State.FAILED:
        raise Conflict(
            {"detail": f"'{username}' has not failed qualification; there is nothing to retry."}
        )
    now = timezone.now()
    qualification.state = Qualification.State.QUALIFYING
    qualification.attempt += 1
    qualification.attempt_started_at = now
    qualification.answered = qualification.correct = 0
    qualification.decided_at = None
    qualification.save()
    Membership.objects.filter(pk=membership.pk).update(qualification_retry_at=now)
    audit_record(
        actor=actor,
        action="member.requalify",
        project=project,
        target=username,
        details={"attempt": qualification.attempt},
    )
    return qualification


def qualification_summary(
    qualification: Qualification | None, *, project: Project
) -> dict[str, Any] | None:
    """What a labeler may know of their qualification (no per-item correctness)."""
    if project.qualification_items <= 0:
        return None
    if qualification is None:
        return {
            "state": Qualification.State.QUALIFYING,
            "answered": 0,
            "needed": project.qualification_items,
            "accuracy_needed": project.qualification_accuracy,
            "attempt": 1,
        }
    answered = qualification.answered
    if qualification.state == Qualification.State.QUALIFYING:
        # Read live: the stored count moves only when the queue next asks the gate.
        answered = len(
            gold_answers_of(
                project=project,
                user=qualification.user,
                since=qualification.attempt_started_at,
                limit=project.qualification_items,
            )
        )
    out: dict[str, Any] = {
        "state": qualification.state,
        "answered": answered,
        "needed": project.qualification_items,
        "accuracy_needed": project.qualification_accuracy,
        "attempt": qualification.attempt,
    }
    if qualification.state != Qualification.State.QUALIFYING:
        out["accuracy"] = rate(qualification.correct, qualification.answered)
    return out
