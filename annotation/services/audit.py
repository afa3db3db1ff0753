"""The audit log: one call per manager or admin action worth accounting for."""

from __future__ import annotations

from typing import Any

from annotation.models import AuditEvent, Project


def audit_record(*, actor: Any, action: str, project: Project | None = None, target: str = "",
                 details: dict[str, Any] | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        project=project, action=action, target=target[:200], details=details or {},
    )
