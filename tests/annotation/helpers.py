"""Small API helpers shared by the annotation tests."""

from __future__ import annotations

from typing import Any


def claim(client: Any, project: Any) -> Any:
    return client.post(f"/api/v1/projects/{project.pk}/next/")


def submit(client: Any, assignment_id: int, labels: Any, **extra: Any) -> Any:
    return client.post(
        f"/api/v1/assignments/{assignment_id}/submit/", {"labels": labels, **extra}, format="json"
    )


def streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content)
