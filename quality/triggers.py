"""Reactions of the quality module to new labels; called after a submit commits."""

from __future__ import annotations

from annotation.models import Annotation, Project
from quality.services.item_consensus import item_consensus_refresh
from quality.services.report_cache import quality_report_request_refresh

# About one submit in this many asks for a report refresh (debounced to one a minute).
REFRESH_EVERY = 25


def after_annotation(*, project: Project, annotation: Annotation) -> None:
    """Keep the item's consensus and the cached quality report of a busy project fresh as
    labels arrive."""
    item_consensus_refresh(project=project, item_ids=[annotation.item_id])
    if annotation.pk % REFRESH_EVERY == 0:
        quality_report_request_refresh(project=project)
