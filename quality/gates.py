"""Gates the queue asks before serving a labeler: qualification on gold items."""

from __future__ import annotations

from typing import Any

from annotation.errors import Forbidden
from annotation.models import Project

GOLD_ONLY = "gold_only"


class QualificationFailed(Forbidden):
    """The labeler did not pass qualification and waits for a manager's retry (403)."""

    def __init__(self, *, answered: int, correct: int, needed: float):
        super().__init__({
            "detail": "You did not pass qualification; ask a manager to let you retry.",
            "code": "qualification_failed",
            "qualification": {"answered": answered, "correct": correct,
                              "accuracy_needed": needed},
        })


def qualification_gate(*, project: Project, user: Any) -> str | None:
    """None to serve normally, ``GOLD_ONLY`` while the labeler qualifies; raises
    :class:`QualificationFailed` when they failed and may not get more items."""
    from quality.models import Qualification
    from quality.services import qualification_refresh, qualification_required

    if not qualification_required(project=project, user=user):
        return None
    qualification = qualification_refresh(project=project, user=user)
    if qualification.state == Qualification.State.QUALIFIED:
        return None
    if qualification.state == Qualification.State.FAILED:
        raise QualificationFailed(answered=qualification.answered,
                                  correct=qualification.correct,
                                  needed=project.qualification_accuracy)
    return GOLD_ONLY


def annotation_counts(*, project: Project, user: Any) -> bool:
    """Whether a new annotation of this user counts towards agreement, export and training."""
    from quality.services import annotation_counts_for

    return annotation_counts_for(project=project, user=user)
