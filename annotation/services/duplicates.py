"""Near-duplicate groups: the one writer of ``Item.duplicate_group``.

A group's id is the id of its first (lowest-id) item, so it needs no table of its own and
reads as "a duplicate of item N". Exact duplicates (same normalised text, ``Item.text_key``)
are grouped by the import that brings them in; near ones (embeddings above a cosine
threshold) by the similarity job (tasks.services.similarity) through ``duplicate_groups_join``.
Joining is transitive: items already in groups that a new link touches end in one group.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from annotation.iterables import chunks
from annotation.models import Item

_READ_CHUNK = 2000
EXISTING_LISTED = 100


@dataclass(frozen=True)
class DuplicateReport:
    """What an import found: how many of its new items fall into near-duplicate groups, in
    how many groups, and which items the project already had that they duplicate (the
    first ``EXISTING_LISTED`` ids, and how many in all)."""

    items: int = 0
    groups: int = 0
    existing_items: list[int] = field(default_factory=list)
    existing_count: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "items": self.items,
            "groups": self.groups,
            "existing_items": self.existing_items,
            "existing_count": self.existing_count,
        }


def _root(parent: dict[int, int], node: int) -> int:
    while parent.setdefault(node, node) != node:
        parent[node] = parent[parent[node]]
        node = parent[node]
    return node


def duplicate_groups_join(*, project_id: int, links: Iterable[Sequence[int]]) -> int:
    """Put each sequence of item ids (duplicates of each other) in one group, merged with
    the groups its items already belong to; the merged group's id is the lowest id in it.
    Ids of other projects are ignored. Returns how many items changed group."""
    parent: dict[int, int] = {}
    for link in links:
        first = _root(parent, int(link[0]))
        for other in link[1:]:
            root = _root(parent, int(other))
            if root != first:
                lo, hi = sorted((first, root))
                parent[hi] = lo
                first = lo
    if not parent:
        return 0
    current: dict[int, int | None] = {}
    for chunk in chunks(list(parent), _READ_CHUNK):
        current.update(
            Item.objects.filter(project_id=project_id, pk__in=chunk).values_list(
                "id", "duplicate_group"
            )
        )
    # An item's existing group joins the link: its other members follow below.
    for item_id, group in current.items():
        if group is not None:
            a, b = _root(parent, item_id), _root(parent, group)
            if a != b:
                lo, hi = sorted((a, b))
                parent[hi] = lo
    target = {item_id: _root(parent, item_id) for item_id in current}
    changed = [
        Item(pk=item_id, duplicate_group=group)
        for item_id, group in target.items()
        if current[item_id] != group
    ]
    Item.objects.bulk_update(changed, ["duplicate_group"], batch_size=1000)
    moved = len(changed)
    # Members of a merged group that the links did not name follow their group.
    for old in {g for g in current.values() if g is not None}:
        new = _root(parent, old)
        if new != old:
            moved += Item.objects.filter(project_id=project_id, duplicate_group=old).update(
                duplicate_group=new
            )
    return moved
