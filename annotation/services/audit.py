"""The audit log: one call per manager or admin action worth accounting for."""

from __future__ import annotations

from typing import Any

from annotation.models import AuditEvent, Project


def audit_record(
    *,
    actor: Any,
    action: str,
    project: Project | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
    item_id: int | None = None,
) -> AuditEvent:
    """Write one event. The project's id and name are copied into the event, so the trail
    still names the project after it is deleted; ``item_id`` names the one item the event is
    about (read by the item's story)."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        project=project,
        project_ref_id=project.pk if project is not None else None,
        project_name=project.name[:200] if project is not None else "",
        action=action,
        target=target[:200],
        details=details or {},
        item_id=item_id,
    )
