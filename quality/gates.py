"""Gates the queue asks before serving a labeler: qualification on gold items."""

from __future__ import annotations

from typing import Any

from annotation.models import Project


def qualification_gate(*, project: Project, user: Any) -> None:
    """Raise when the labeler may not get more items; a no-op until qualification is on."""
    return None
