"""The item table's query language, in one place: the query parameters of
``GET projects/{id}/items/`` (filters, search, ``ordering``) turned into a queryset of the
project's items. The list and the bulk actions both call :func:`items_matching`, so "the
items of this filter" means the same thing everywhere.

The core's own columns are filtered here; the parameters other apps own (quality: the
consensus ``label``, agreement, ``reviewed``) come through ``annotation.extensions``
(``register_item_filter``). Who may filter on what follows who may see it: gold and private
fields only for managers and admins, so a reviewer cannot learn them by filtering.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Exists,
    Expression,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.db.models.lookups import Exact

from annotation.errors import InvalidInput, NotFound
from annotation.extensions import item_filter_extensions
from annotation.item_filters_sql import ItemTextSearch, JsonListHas
from annotation.models import (
    Annotation,
    Assignment,
    AuditEvent,
    Item,
    ItemComment,
    ItemFlag,
    Membership,
    Project,
)

ADMIN = "admin"
MANAGING = (ADMIN, Membership.Role.MANAGER)
READING = (*MANAGING, Membership.Role.REVIEWER)

FIELD_PREFIX = "field."
PAGING_PARAMS = frozenset({"cursor", "limit", "offset", "format"})
"""Parameters of the list's paging, not filters: accepted and left to the caller."""

NO_CONFIDENCE = -1.0
"""Items without a confidence sort as if it were this (before every real one ascending)."""

ORDERINGS: dict[str, Expression | F] = {
    "id": F("id"),
    "priority": F("priority"),
    "confidence": Coalesce(F("confidence"), Value(NO_CONFIDENCE, output_field=FloatField())),
    "created_at": F("created_at"),
    "updated_at": F("updated_at"),
    "annotation_count": F("annotation_count"),
    "external_id": F("external_id"),
}
"""The sortable columns; ties are broken by id (each has an index ``(project, key, id)``;
external ids are unique in a project, served by ``item_unique_external_id``)."""

DEFAULT_ORDERING = "id"
UNIQUE_ORDERINGS = ("id", "external_id")


@dataclass(frozen=True)
class Ordering:
    """A parsed ``ordering``: the column's name, its sort expression, and the direction."""

    name: str
    key: Expression | F
    descending: bool

    @property
    def unique(self) -> bool:
        """The column alone orders the project's items totally: no tie to break by id
        (so its index, without id, gives the page's order)."""
        return self.name in UNIQUE_ORDERINGS

    @property
    def param(self) -> str:
        return f"-{self.name}" if self.descending else self.name


def viewer_role(*, project: Project, viewer: Any) -> str | None:
    """The viewer's role in the project (``admin`` for staff), None for non-members."""
    if viewer is None or not viewer.is_authenticated:
        return None
    if viewer.is_staff:
        return ADMIN
    return (
        Membership.objects.filter(project=project, user=viewer).values_list("role", flat=True)
    ).first()


def ordering_parse(value: str | None) -> Ordering:
    """The ``ordering`` parameter; 400 naming it when the column is not sortable."""
    raw = (value or DEFAULT_ORDERING).strip() or DEFAULT_ORDERING
    name = raw.removeprefix("-")
    if name not in ORDERINGS:
        raise InvalidInput(
            {"ordering": [f"'{raw}' is not a sortable column; use one of {', '.join(ORDERINGS)}."]}
        )
    return Ordering(name=name, key=ORDERINGS[name], descending=raw.startswith("-"))


def items_matching(
    project: Project, params: Mapping[str, str], viewer: Any, *, role: str | None = None
) -> QuerySet[Item]:
    """The project's items that match ``params`` (the item table's query parameters), in the
    order ``ordering`` asks (ties by id, in the same direction). Raises ``InvalidInput``
    naming the first unknown or bad parameter, ``NotFound`` for a viewer who may not see the
    item table (labelers, outsiders). ``role`` saves the membership query when the caller
    already knows the viewer's role in the project."""
    role = role if role is not None else viewer_role(project=project, viewer=viewer)
    if role not in READING:
        raise NotFound({"detail": "Project not found."})
    items = Item.objects.filter(project=project)
    extensions = item_filter_extensions()
    both = (params.get("annotator") or "").strip(), (params.get("annotator_label") or "").strip()
    if all(both):
        items = items.filter(_annotator_gave(*both))
    for name in params:
        value = params[name]
        if name in PAGING_PARAMS or name == "ordering":
            continue
        if value is None or str(value).strip() == "":
            continue  # an empty form field filters nothing
        value = str(value).strip()
        if all(both) and name in ("annotator", "annotator_label"):
            continue
        if name.startswith(FIELD_PREFIX):
            condition = _field_equals(name, value, project=project, role=role)
        elif name in _CORE:
            condition = _CORE[name](name, value, project, role)
        elif name in extensions:
            condition = extensions[name](value=value, project=project, role=role)
        else:
            raise InvalidInput({name: [f"'{name}' is not a filter of the item table."]})
        items = items.filter(condition)
    ordering = ordering_parse(params.get("ordering"))
    items = items.annotate(order_key=ordering.key)
    keys = [F("order_key")] if ordering.unique else [F("order_key"), F("id")]
    return items.order_by(*(k.desc() if ordering.descending else k.asc() for k in keys))


def parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise InvalidInput({name: ["Use true or false."]})
    return lowered in ("true", "1")


def parse_float(name: str, value: str, *, low: float = 0.0, high: float = 1.0) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not low <= number <= high:
        raise InvalidInput({name: [f"Use a number from {low:g} to {high:g}."]})
    return number


def parse_int(name: str, value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput({name: ["Use an item or batch id (a whole number)."]})
    return int(value)


_Build = Callable[[str, str, Project, str], Any]


def _state(name: str, value: str, project: Project, role: str) -> Q:
    if value not in Item.State.values:
        raise InvalidInput({name: [f"Use {', '.join(Item.State.values)}."]})
    return Q(state=value)


def _has_gold(name: str, value: str, project: Project, role: str) -> Q:
    if role not in MANAGING:
        raise InvalidInput({name: ["Only managers can filter on gold."]})
    return Q(is_gold=parse_bool(name, value))


def _search(name: str, value: str, project: Project, role: str) -> Any:
    hidden = () if role in MANAGING else tuple(project.private_fields or ())
    return ItemTextSearch(value[:500], hidden=hidden)


def _annotations(**conditions: Any) -> Exists:
    return Exists(Annotation.objects.filter(item=OuterRef("pk"), **conditions))


def _labeler_id(username: str) -> Subquery:
    users = get_user_model().objects.filter(username=username).values("pk")[:1]
    return Subquery(users)


def _annotator(name: str, value: str, project: Project, role: str) -> Exists:
    return _annotations(labeler_id=_labeler_id(value))


def _annotator_label(name: str, value: str, project: Project, role: str) -> Exists:
    return Exists(
        Annotation.objects.filter(item=OuterRef("pk")).filter(JsonListHas("labels", value))
    )


def _annotator_gave(username: str, label: str) -> Exists:
    """``annotator`` and ``annotator_label`` together: that annotator gave that label."""
    return Exists(
        Annotation.objects.filter(item=OuterRef("pk"), labeler_id=_labeler_id(username)).filter(
            JsonListHas("labels", label)
        )
    )


def _predicted(name: str, value: str, project: Project, role: str) -> Any:
    return JsonListHas("predicted_labels", value)


def _confidence_min(name: str, value: str, project: Project, role: str) -> Q:
    return Q(confidence__gte=parse_float(name, value))


def _confidence_max(name: str, value: str, project: Project, role: str) -> Q:
    return Q(confidence__lte=parse_float(name, value))


def _skipped(name: str, value: str, project: Project, role: str) -> Q:
    skips = Exists(Assignment.objects.filter(item=OuterRef("pk"), state=Assignment.State.SKIPPED))
    return Q(skips) if parse_bool(name, value) else ~Q(skips)


def _skip_reason(name: str, value: str, project: Project, role: str) -> Exists:
    return Exists(
        Assignment.objects.filter(
            item=OuterRef("pk"), state=Assignment.State.SKIPPED, skip_reason=value
        )
    )


def _open_flags(project: Project, **conditions: Any) -> Exists:
    return Exists(
        ItemFlag.objects.filter(
            project_id=project.pk, item=OuterRef("pk"), resolved_at__isnull=True, **conditions
        )
    )


def _flagged(name: str, value: str, project: Project, role: str) -> Q:
    """Items with an open (unresolved) flag of a labeler."""
    flagged = _open_flags(project)
    return Q(flagged) if parse_bool(name, value) else ~Q(flagged)


def _flag_reason(name: str, value: str, project: Project, role: str) -> Exists:
    if value not in ItemFlag.Reason.values:
        raise InvalidInput({name: [f"Use {', '.join(ItemFlag.Reason.values)}."]})
    return _open_flags(project, reason=value)


def _commented(name: str, value: str, project: Project, role: str) -> Q:
    """Items someone left a comment on (labelers, reviewers, managers)."""
    commented = Exists(ItemComment.objects.filter(project_id=project.pk, item=OuterRef("pk")))
    return Q(commented) if parse_bool(name, value) else ~Q(commented)


def _duplicate_group(name: str, value: str, project: Project, role: str) -> Q:
    return Q(duplicate_group=parse_int(name, value))


def _has_duplicates(name: str, value: str, project: Project, role: str) -> Q:
    return Q(duplicate_group__isnull=not parse_bool(name, value))


def _import_batch(name: str, value: str, project: Project, role: str) -> Q:
    """An import's items, by the id of its audit event (``items.imported``), which records
    the id range of the items it made."""
    details = (
        AuditEvent.objects.filter(
            pk=parse_int(name, value), project=project, action="items.imported"
        )
        .values_list("details", flat=True)
        .first()
    )
    if details is None:
        raise InvalidInput({name: [f"No import {value} in this project."]})
    batch = details.get("batch") or {}
    first, last = batch.get("first_item_id"), batch.get("last_item_id")
    if first is None or last is None:
        return Q(pk__in=[])
    return Q(pk__gte=first, pk__lte=last)


def _field_equals(name: str, value: str, *, project: Project, role: str) -> Q:
    """``field.<name>=<value>``: the item's data field equals the value (as text; a number
    or true/false matches its JSON value too)."""
    field = name[len(FIELD_PREFIX) :]
    if not field:
        raise InvalidInput({name: ["Name a data field: field.<name>=<value>."]})
    if role not in MANAGING and field in (project.private_fields or ()):
        raise InvalidInput({name: ["This field is private to the project's managers."]})
    if connection.vendor == "postgresql":  # containment: served by the GIN index on data
        condition = Q(data__contains={field: value})
        try:
            scalar = json.loads(value)
        except ValueError:
            scalar = value
        if not isinstance(scalar, str) and not isinstance(scalar, dict | list):
            condition |= Q(data__contains={field: scalar})
        return condition
    as_text = Cast(KeyTextTransform(field, "data"), TextField())
    return Q(Exact(as_text, value))


_CORE: dict[str, _Build] = {
    "search": _search,
    "state": _state,
    "has_gold": _has_gold,
    "annotator": _annotator,
    "annotator_label": _annotator_label,
    "predicted": _predicted,
    "confidence_min": _confidence_min,
    "confidence_max": _confidence_max,
    "skipped": _skipped,
    "skip_reason": _skip_reason,
    "flagged": _flagged,
    "flag_reason": _flag_reason,
    "commented": _commented,
    "duplicate_group": _duplicate_group,
    "has_duplicates": _has_duplicates,
    "import_batch": _import_batch,
}


def filter_names() -> list[str]:
    """Every filter the item table accepts now (the core's and the registered ones), for
    pages that offer only what works (``field.<name>`` apart)."""
    return sorted({*_CORE, *item_filter_extensions()})
