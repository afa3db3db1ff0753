"""Guideline versions and their acknowledgement."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max

from annotation.errors import InvalidInput, NotFound
from annotation.models import Guideline, GuidelineAck, Project
from annotation.services.audit import audit_record

MAX_GUIDELINE_CHARS = 200_000


@transaction.atomic
def guideline_publish(*, project: Project, actor: Any, body: str) -> tuple[Guideline, bool]:
    """Publish a new version; every labeler must acknowledge it before getting more items.

    Returns the version and whether it is new: the same text as the current version (a
    second click on Publish, a save without edits) publishes nothing, so nobody is asked to
    read it again.
    """
    if body is not None and not isinstance(body, str):
        raise InvalidInput({"body": ["A guideline is Markdown text."]})
    body = (body or "").strip()
    if not body:
        raise InvalidInput({"body": ["A guideline cannot be empty."]})
    if len(body) > MAX_GUIDELINE_CHARS:
        raise InvalidInput({"body": [f"At most {MAX_GUIDELINE_CHARS} characters."]})
    # Lock the project row so two managers publishing at once get distinct versions.
    Project.objects.select_for_update().filter(pk=project.pk).first()
    current = Guideline.objects.filter(project=project).order_by("-version").first()
    if current is not None and current.body == body:
        return current, False
    latest = Guideline.objects.filter(project=project).aggregate(v=Max("version"))["v"] or 0
    guideline = Guideline.objects.create(
        project=project, version=latest + 1, body=body, created_by=actor
    )
    audit_record(
        actor=actor, action="guideline.published", project=project, target=f"v{guideline.version}"
    )
    return guideline, True


def guideline_acknowledge(*, project: Project, user: Any, version: int) -> GuidelineAck:
    guideline = Guideline.objects.filter(project=project, version=version).first()
    if guideline is None:
        raise NotFound({"detail": f"Guideline version {version} does not exist."})
    ack, _ = GuidelineAck.objects.get_or_create(guideline=guideline, user=user)
    return ack
