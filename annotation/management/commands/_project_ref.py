"""The project a management command names, by id or exact name."""

from __future__ import annotations

from django.core.management.base import CommandError

from annotation.models import Project


def project_from_ref(ref: str) -> Project:
    project = (
        Project.objects.filter(pk=int(ref)).first()
        if ref.isdigit()
        else Project.objects.filter(name=ref).first()
    )
    if project is None:
        raise CommandError(f"No project '{ref}'.")
    return project
