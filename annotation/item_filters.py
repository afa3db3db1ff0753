"""The item list's filters: a project's items matching the list's query parameters.

STAND-IN (branch i13-bulk): the real parser is built on branch i13-list under this same
name and signature; on merge, theirs wins. This one supports ``state`` and ``has_gold``
only, enough for the bulk actions' ``filter`` form, and refuses any other parameter by
name, as the real one does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet

from annotation.errors import InvalidInput
from annotation.models import Item, Project

_STATES = ("open", "leased", "complete")
# Parameters of the list that select nothing (paging, ordering): accepted and ignored.
_NOT_FILTERS = ("cursor", "ordering", "page", "page_size")


def items_matching(project: Project, params: Mapping[str, str], viewer: Any) -> QuerySet[Item]:
    """The project's items that match ``params``; 400 naming the first bad parameter."""
    items = Item.objects.filter(project=project)
    for name, value in params.items():
        if name in _NOT_FILTERS:
            continue
        if name == "state":
            if value not in _STATES:
                raise InvalidInput({"state": ["Use open, leased or complete."]})
            items = items.filter(state=value)
        elif name == "has_gold":
            flag = str(value).lower()
            if flag not in ("true", "false", "1", "0"):
                raise InvalidInput({"has_gold": ["Use true or false."]})
            items = items.filter(is_gold=flag in ("true", "1"))
        else:
            raise InvalidInput({name: ["Unknown filter."]})
    return items
