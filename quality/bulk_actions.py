"""The items bulk actions quality owns, registered with the core
(``annotation.extensions.register_bulk_action``): ``labelset`` saves the selection as a label
set (built by quality's job, like any label set); ``review`` sends it to the review queue."""

from __future__ import annotations

from typing import Any

from annotation.models import Project
from annotation.services.exports import export_options
from quality.jobs import enqueue_labelset_build
from quality.labelsets import labelset_request
from quality.services.review import review_request


class LabelSetFromSelection:
    """``{"action": "labelset", "format"?, "aggregation"?}``: a snapshot of the selected items
    (every one of them, labeled or not), versioned with the project's other label sets."""

    def clean(self, *, project: Project, body: dict[str, Any]) -> dict[str, Any]:
        options = export_options(fmt=body.get("format"), aggregation=body.get("aggregation"))
        return {"format": options["format"], "aggregation": options["aggregation"]}

    def apply(
        self, *, project: Project, actor: Any, item_ids: list[int], params: dict[str, Any]
    ) -> dict[str, Any]:
        labelset = labelset_request(
            project=project,
            actor=actor,
            fmt=params["format"],
            aggregation=params["aggregation"],
            state="all",
            item_ids=item_ids,
        )
        enqueue_labelset_build(labelset_id=labelset.pk)  # after the action's commit
        return {"labelset": labelset.pk}


class SendToReview:
    """``{"action": "review"}``: the items wait in the review queue until decided."""

    def clean(self, *, project: Project, body: dict[str, Any]) -> dict[str, Any]:
        return {}

    def apply(
        self, *, project: Project, actor: Any, item_ids: list[int], params: dict[str, Any]
    ) -> dict[str, Any]:
        return {"newly_requested": review_request(project=project, actor=actor, item_ids=item_ids)}
