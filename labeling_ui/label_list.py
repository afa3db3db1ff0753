"""A project's labels as the labeling page and the guideline show them: flat for the page's
script, and as a tree (groups with their labels under them) for the templates."""

from __future__ import annotations

from typing import Any

from annotation.models import Project


def label_entries(project: Project) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(flat, tree): each label as {name, shortcut, color, description, parent, is_group,
    index}; the tree lists the top-level labels in display order, a group with `children`.
    One query."""
    rows = list(
        project.labels.order_by("order", "id").values(
            "id", "name", "shortcut", "color", "description", "parent_id"
        )
    )
    names = {row["id"]: row["name"] for row in rows}
    groups = {row["parent_id"] for row in rows if row["parent_id"]}
    flat: list[dict[str, Any]] = []
    children: dict[int, list[dict[str, Any]]] = {}
    for index, row in enumerate(rows):
        entry = {
            "name": row["name"],
            "shortcut": row["shortcut"],
            "color": row["color"],
            "description": row["description"],
            "parent": names.get(row["parent_id"]) if row["parent_id"] else None,
            "is_group": row["id"] in groups,
            "index": index,
        }
        flat.append(entry)
        if row["parent_id"]:
            children.setdefault(row["parent_id"], []).append(entry)
    tree = [
        {**entry, "children": children.get(row["id"], [])}
        for row, entry in zip(rows, flat, strict=True)
        if not row["parent_id"]
    ]
    return flat, tree
