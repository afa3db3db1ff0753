"""The reviewer's page: the queue of disputed items, decided one by one."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from annotation.selectors import REVIEWING_ROLES
from labeling_ui.views import _page, _project


@login_required
def review(request: HttpRequest, project_id: int) -> HttpResponse:
    project, role = _project(request, project_id, REVIEWING_ROLES)
    # The answers only: a group (a label with labels under it) is not a decision to take.
    labels = list(
        project.labels.filter(children__isnull=True)
        .order_by("order", "id")
        .values("name", "shortcut", "color")
    )
    return _page(
        request,
        "labeling_ui/review.html",
        project,
        role,
        "review",
        labels=labels,
        config={
            "labels": labels,
            "multi": project.is_multi_label,
            "reviewThreshold": project.review_threshold,
            "aggregation": project.aggregation,
        },
    )
