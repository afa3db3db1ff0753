"""Quality's part of the item table (``annotation.item_filters``): the filters on the
consensus label, agreement and review, and the ``label``, ``agreement`` and ``reviewed``
columns; registered with the core from ``QualityConfig.ready()``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Exists, OuterRef, Q

from annotation.errors import InvalidInput
from annotation.item_filters import parse_bool, parse_float
from annotation.item_filters_sql import JsonListHas
from annotation.models import Project
from quality.models import DISPUTE_MIN_VOTES, ItemConsensus, Review

AGREEMENTS = ("disputed", "unanimous")


def _consensus(project: Project, *conditions: Any, **fields: Any) -> Exists:
    rows = ItemConsensus.objects.filter(item=OuterRef("pk"), **fields)
    return Exists(rows.filter(*conditions) if conditions else rows)


def label_filter(*, value: str, project: Project, role: str) -> Exists:
    """``label``: the item's consensus label (majority vote of its counted answers)."""
    return _consensus(project, JsonListHas("labels", value))


def _disputed(project: Project) -> Exists:
    return _consensus(project, votes__gte=DISPUTE_MIN_VOTES, share__lt=1.0)


def disputed_filter(*, value: str, project: Project, role: str) -> Q:
    """``disputed``: at least two counted answers that do not all agree."""
    disputed = _disputed(project)
    return Q(disputed) if parse_bool("disputed", value) else ~Q(disputed)


def agreement_filter(*, value: str, project: Project, role: str) -> Exists:
    """``agreement``: ``disputed`` or ``unanimous`` (at least two answers, all the same)."""
    if value not in AGREEMENTS:
        raise InvalidInput({"agreement": [f"Use {' or '.join(AGREEMENTS)}."]})
    if value == "disputed":
        return _disputed(project)
    return _consensus(project, votes__gte=DISPUTE_MIN_VOTES, share__gte=1.0)


def agreement_below_filter(*, value: str, project: Project, role: str) -> Exists:
    """``agreement_below``: the winning share of the answers is below this (0..1)."""
    return _consensus(project, share__lt=parse_float("agreement_below", value))


def reviewed_filter(*, value: str, project: Project, role: str) -> Q:
    """``reviewed``: a reviewer has decided the item."""
    reviewed = Exists(Review.objects.filter(project_id=project.pk, item=OuterRef("pk")))
    return Q(reviewed) if parse_bool("reviewed", value) else ~Q(reviewed)


FILTERS = {
    "label": label_filter,
    "disputed": disputed_filter,
    "agreement": agreement_filter,
    "agreement_below": agreement_below_filter,
    "reviewed": reviewed_filter,
}


def item_columns(*, project: Project, item_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The page's ``label`` (consensus labels, None unanswered or tied), ``agreement`` (the
    winning share) and ``reviewed``, in two queries whatever the page's size."""
    consensus: dict[int, tuple[list[str] | None, float | None]] = dict.fromkeys(
        item_ids, (None, None)
    )
    for item_id, labels, share in ItemConsensus.objects.filter(item_id__in=item_ids).values_list(
        "item_id", "labels", "share"
    ):
        consensus[item_id] = (labels or None, share)
    reviewed = set(
        Review.objects.filter(project=project, item_id__in=item_ids).values_list(
            "item_id", flat=True
        )
    )
    return {
        item_id: {"label": labels, "agreement": share, "reviewed": item_id in reviewed}
        for item_id, (labels, share) in consensus.items()
    }
