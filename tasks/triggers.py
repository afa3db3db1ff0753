"""Reactions of the learning loop to new labels; called after a submit commits."""

from __future__ import annotations

from annotation.models import Annotation, Project


def after_annotation(*, project: Project, annotation: Annotation) -> None:
    """Queue a training check when enough new labels may have arrived."""
    return None
