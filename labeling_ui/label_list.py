"""A project's labels as the labeling page and the guideline show them: flat for the page's
script, and as a tree (groups with their labels under them) for the templates."""

from __future__ import annotations

from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

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
    tree = []
    for row, entry in zip(rows, flat, strict=True):
        if not row["parent_id"]:
            kids = children.get(row["id"], [])
            # `answers`: the buttons under this entry (its labels, or the label itself).
            tree.append({**entry, "children": kids, "answers": kids or [entry]})
    return flat, tree


def _keys_html(shortcut: str) -> str:
    if not shortcut:
        return ""
    keys = "".join(f"<kbd>{escape(c)}</kbd>" for c in shortcut)
    return f'<span class="label-keys">{keys}</span>'


def _desc_html(entry: dict[str, Any]) -> tuple[str, str]:
    """The button's aria-describedby attribute and its tooltip, if it has a description."""
    if not entry["description"]:
        return "", ""
    ident = f"label-desc-{entry['index']}"
    return (
        f' aria-describedby="{ident}"',
        f'<span class="label-desc" id="{ident}" role="tooltip">'
        f"{escape(entry['description'])}</span>",
    )


def label_buttons_html(tree: list[dict[str, Any]], *, multi: bool) -> SafeString:
    """The labeling page's label buttons, groups with their labels. Built here rather than in
    the template: Django's template engine took ~60 ms for 200 labels, this takes a few
    (bench/bench_long_labels.py). Every value is escaped (html.escape, quotes too): names
    and descriptions are text."""
    parts: list[str] = []
    pressed = ' aria-pressed="false"' if multi else ""
    for entry in tree:
        if entry["children"]:
            described, tip = _desc_html(entry)
            name = escape(entry["name"])
            parts.append(
                f'<div class="label-group" data-group="{name}" role="group" aria-label="{name}">'
                f'<button type="button" class="label-group-btn" data-group="{name}" '
                f'data-key="{escape(entry["shortcut"])}"{described}>'
                f'<span class="label-name">{name}</span>{_keys_html(entry["shortcut"])}{tip}'
                '</button><div class="label-group-children">'
            )
        for label in entry["answers"]:
            described, tip = _desc_html(label)
            parent = f' data-parent="{escape(label["parent"])}"' if label["parent"] else ""
            parts.append(
                f'<button type="button" class="label-btn" data-label="{escape(label["name"])}" '
                f'data-key="{escape(label["shortcut"])}" '
                f'data-color="{escape(label["color"] or "#4e79a7")}"{parent}{described}{pressed}>'
                f'<span class="label-name">{escape(label["name"])}</span>'
                f"{_keys_html(label['shortcut'])}{tip}</button>"
            )
        if entry["children"]:
            parts.append("</div></div>")
    return mark_safe("".join(parts))  # every value above is escaped


def _glossary_entry(entry: dict[str, Any], empty: str) -> str:
    text = escape(entry["description"]) if entry["description"] else empty
    return f"<dt>{escape(entry['name'])}</dt><dd>{text}"


def label_glossary_html(tree: list[dict[str, Any]]) -> SafeString:
    """The labels with their descriptions, groups with their labels, for the guideline (the
    manager's page and the labeler's dialog); escaped like label_buttons_html."""
    if not tree:
        return mark_safe("")
    none = '<span class="muted">no description</span>'
    parts = [
        '<section class="label-glossary" aria-labelledby="label-glossary-title">'
        '<h2 id="label-glossary-title">Labels</h2><dl>'
    ]
    for entry in tree:
        if entry["children"]:
            parts.append(
                _glossary_entry(entry, "").replace(
                    "</dt>", ' <span class="muted small">(group)</span></dt>', 1
                )
            )
            parts.append('<dl class="label-glossary-children">')
            parts += [_glossary_entry(c, none) + "</dd>" for c in entry["children"]]
            parts.append("</dl></dd>")
        else:
            parts.append(_glossary_entry(entry, none) + "</dd>")
    parts.append("</dl></section>")
    return mark_safe("".join(parts))  # every value above is escaped
