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


def audit_items_record(
    *, event: AuditEvent, action: str, item_ids: list[int], chunk: int = 5000
) -> None:
    """One row per item for an event about many (a bulk action), so each item's story shows
    it: ``action`` (e.g. ``item.bulk_gold`` for ``items.bulk_gold``), the same actor and
    project, ``details.event`` pointing at ``event``."""
    fields = {
        "actor_id": event.actor_id,
        "project_id": event.project_id,
        "project_ref_id": event.project_ref_id,
        "project_name": event.project_name,
        "action": action,
        "target": event.target,
    }
    details = {"event": event.pk, "params": event.details.get("params", {})}
    for start in range(0, len(item_ids), chunk):
        AuditEvent.objects.bulk_create(
            AuditEvent(**fields, details=details, item_id=item_id)
            for item_id in item_ids[start : start + chunk]
        )
