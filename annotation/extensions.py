"""The core's extension points: who may be served and whether an annotation counts (one
labeler policy), what runs after a submit commits, what runs after an import commits, what
else must go when items' data is erased (hooks), bulk actions on items that other apps
own (saving a selection as a label set, sending it to review), whether a team's own
predictions serve a project's suggestions and priorities, and what other apps add to an
item's story (sections).

The core knows none of its consumers: other apps register theirs from ``AppConfig.ready()``
(quality registers qualification as the policy; quality and tasks register after-submit
hooks). With nothing registered, everyone is served normally and every annotation counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from annotation.models import Project

NORMAL = None
GOLD_ONLY = "gold_only"
"""``serve_mode`` answers: serve normally, or gold items only (a labeler who is qualifying)."""


class LabelerPolicy(Protocol):
    def serve_mode(self, *, project: Project, user: Any) -> str | None:
        """``NORMAL`` or ``GOLD_ONLY``; may raise a ``Forbidden`` subclass to serve nothing.
        It may write: quality's policy records the labeler's qualification first."""

    def annotation_counts(self, *, project: Project, user: Any) -> bool:
        """Whether a new annotation of this user counts towards agreement, export and
        training."""


class _Open:
    """The default: serve everyone normally, count every annotation."""

    def serve_mode(self, *, project: Project, user: Any) -> str | None:
        return NORMAL

    def annotation_counts(self, *, project: Project, user: Any) -> bool:
        return True


AfterSubmit = Callable[..., None]
"""Called as ``hook(project=, annotation=)`` after a submit commits."""

DataErased = Callable[..., None]
"""Called as ``hook(item_ids=)`` inside the transaction that erases those items' data: the
copies other apps derived from the data (e.g. text embeddings) go with it."""

ItemsImported = Callable[..., None]
"""Called as ``hook(project=, created=)`` after an import that created items commits (e.g.
the learning loop queues an embedding pass); it must be cheap and never fail the import."""

LabelsRenamed = Callable[..., dict[str, int] | None]
"""Called as ``hook(project=, mapping={old: new})`` inside the transaction that renames or
merges labels: other apps rewrite the names they store (review decisions, label-error lists,
stop-set predictions) and return how many rows changed, by what holds them."""

_policy: LabelerPolicy = _Open()
_after_submit: list[AfterSubmit] = []
_data_erased: list[DataErased] = []
_items_imported: list[ItemsImported] = []
_labels_renamed: list[LabelsRenamed] = []


def register_labeler_policy(policy: LabelerPolicy) -> None:
    """Set the one labeler policy (the last registration wins)."""
    global _policy
    _policy = policy


def labeler_policy() -> LabelerPolicy:
    return _policy


def register_after_submit(hook: AfterSubmit) -> None:
    """Add a reaction to new annotations; registering the same hook twice adds it once."""
    if hook not in _after_submit:
        _after_submit.append(hook)


def after_submit_hooks() -> tuple[AfterSubmit, ...]:
    return tuple(_after_submit)


PredictionsInCharge = Callable[..., bool]
"""Called as ``rule(project=)``: may a team's own predictions (imported, or from its
endpoint) be the project's suggestions and queue priority now? The learning loop registers
"until the project's own model beat them"; by default, whenever the project's
``suggestion_source`` admits them."""


def _use_setting(*, project: Project) -> bool:
    return project.suggestion_source != project.SuggestionSource.MODEL


_predictions_rule: PredictionsInCharge = _use_setting


def register_predictions_rule(rule: PredictionsInCharge) -> None:
    """Set the one rule (the last registration wins)."""
    global _predictions_rule
    _predictions_rule = rule


def predictions_in_charge(*, project: Project) -> bool:
    return _predictions_rule(project=project)


def register_data_erased(hook: DataErased) -> None:
    """Add a reaction to erased item data; registering the same hook twice adds it once."""
    if hook not in _data_erased:
        _data_erased.append(hook)


def data_erased_hooks() -> tuple[DataErased, ...]:
    return tuple(_data_erased)


def register_items_imported(hook: ItemsImported) -> None:
    """Add a reaction to imported items; registering the same hook twice adds it once."""
    if hook not in _items_imported:
        _items_imported.append(hook)


def items_imported_hooks() -> tuple[ItemsImported, ...]:
    return tuple(_items_imported)


def register_labels_renamed(hook: LabelsRenamed) -> None:
    """Add a reaction to renamed or merged labels; registering the same hook twice adds it
    once."""
    if hook not in _labels_renamed:
        _labels_renamed.append(hook)


def labels_renamed_hooks() -> tuple[LabelsRenamed, ...]:
    return tuple(_labels_renamed)


class BulkActionHandler(Protocol):
    """A bulk action on a project's items that another app owns (``POST items/bulk/``).
    The core resolves and checks the items, runs ``apply`` inside the action's one
    transaction (inline, or in its job when large) and audits it."""

    def clean(self, *, project: Project, body: dict[str, Any]) -> dict[str, Any]:
        """The action's own parameters from the request body, checked (``InvalidInput``
        naming the field); stored with the action and handed to ``apply``."""

    def apply(
        self, *, project: Project, actor: Any, item_ids: list[int], params: dict[str, Any]
    ) -> dict[str, Any]:
        """Do it, inside the caller's transaction; returns what to answer and audit (e.g.
        ``{"labelset": id}``)."""


_bulk_actions: dict[str, BulkActionHandler] = {}


def register_bulk_action(name: str, handler: BulkActionHandler) -> None:
    """Add (or replace) the bulk action ``name``."""
    _bulk_actions[name] = handler


def bulk_action_handlers() -> dict[str, BulkActionHandler]:
    return dict(_bulk_actions)


StorySection = Callable[..., dict[str, Any]]
"""Called as ``section(item=, role=)`` while an item's story is read (``annotation.story``):
answers the keys it adds. A list under a key the core already fills (``predictions``) is
appended to the core's list; any other key is set. It must run a fixed number of queries
(the story's query count is asserted flat) and show ``role`` only what that role may see
(``annotation.selectors.MANAGING_ROLES`` see everything; reviewers no gold answer or
status, no hidden suggestion, no model prediction)."""

_story_sections: list[StorySection] = []


def register_story_section(section: StorySection) -> None:
    """Add a section to every item's story; registering the same one twice adds it once."""
    if section not in _story_sections:
        _story_sections.append(section)


def story_sections() -> tuple[StorySection, ...]:
    return tuple(_story_sections)


ItemFilter = Callable[..., Any]
"""Called as ``build(value=, project=, role=)`` for one query parameter of the item table
(``annotation.item_filters``) that another app owns (quality: the consensus label, agreement,
review): answers a condition on ``Item`` (a ``Q`` or a boolean expression) and raises
``InvalidInput`` naming the parameter for a bad value."""

ItemColumns = Callable[..., dict[int, dict[str, Any]]]
"""Called as ``columns(project=, item_ids=)`` for one page of the item table: that app's
columns of those items by item id, in one query whatever the page's size."""

_item_filters: dict[str, ItemFilter] = {}
_item_columns: list[ItemColumns] = []


def register_item_filter(name: str, build: ItemFilter) -> None:
    """Own the item table's query parameter ``name`` (the last registration wins)."""
    _item_filters[name] = build


def item_filter_extensions() -> dict[str, ItemFilter]:
    return dict(_item_filters)


def register_item_columns(columns: ItemColumns) -> None:
    """Add columns to the item table; registering the same function twice adds it once."""
    if columns not in _item_columns:
        _item_columns.append(columns)


def item_column_extensions() -> tuple[ItemColumns, ...]:
    return tuple(_item_columns)
