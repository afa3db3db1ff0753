"""The project settings form, drawn from the API's input serializer (ProjectUpdateInput).

The form has no rules of its own: every input, its bounds and its choices come from the
serializer field that checks it, and a save goes through the same PATCH, whose field-named
400 is shown next to the inputs. A new setting in the API appears here by itself; only its
caption and its place on the page are chosen here.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Field
from rest_framework import serializers

from annotation.api.serializers import ProjectUpdateInput
from annotation.models import Project

# Where each setting sits on the page, with its caption; a setting the API takes that no
# group names lands in "More" (so nothing it accepts is missing from the page).
GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Queue",
        [
            ("overlap", "Overlap"),
            ("gold_rate", "Gold rate"),
            ("lease_seconds", "Lease (seconds)"),
            ("duplicates_back_to_back", "Near duplicates back to back"),
        ],
    ),
    (
        "Quality",
        [
            ("aggregation", "Aggregation"),
            ("review_threshold", "Review threshold"),
            ("qualification_items", "Qualification items"),
            ("qualification_accuracy", "Qualification accuracy"),
        ],
    ),
    (
        "Active learning",
        [
            ("training_enabled", "Train a model"),
            ("strategy", "Strategy"),
            ("retrain_every", "Retrain every"),
            ("suggestions", "Model suggestions"),
            ("suggestion_source", "Suggestions come from"),
            ("model_endpoint", "Model endpoint"),
        ],
    ),
    (
        "Privacy",
        [
            ("private_fields", "Private fields"),
            ("retention_days", "Keep item data (days)"),
        ],
    ),
]
# Drawn elsewhere on the page (the head of the form, the label editor, the archive button).
ELSEWHERE = {"name", "description", "kind", "labels", "archived"}

HINTS = {
    "overlap": "Annotations wanted per item.",
    "gold_rate": "Share of items served from the gold set.",
    "lease_seconds": "How long a labeler holds an item; also how long an answer can be changed.",
    "duplicates_back_to_back": "After a submit, serve an open near duplicate of that item next.",
    "aggregation": "How the labelers' answers become one label (exports, training).",
    "review_threshold": "Items whose agreement is below this go to the review queue.",
    "qualification_items": "Gold items a new labeler answers first (0: no qualification).",
    "qualification_accuracy": "Share of those a labeler must get right to go on.",
    "training_enabled": "Off: no model is trained, the queue keeps its order.",
    "retrain_every": "New labels before the model is trained again.",
    "private_fields": "Data fields only managers see, comma-separated (e.g. email, phone).",
    "retention_days": "Item data is erased this many days after import; empty keeps it.",
    "model_endpoint": "An external model answering predictions for batches of items; an empty "
    "URL for none. Empty timeout and batch size take the server's defaults.",
}


# The input drawn for each kind of serializer field, most specific first (a BooleanField is
# no IntegerField, but a nested Serializer is a Field like the rest).
_KINDS: list[tuple[type[serializers.Field], str]] = [
    (serializers.Serializer, "object"),
    (serializers.ChoiceField, "choice"),
    (serializers.BooleanField, "bool"),
    (serializers.IntegerField, "int"),
    (serializers.FloatField, "float"),
    (serializers.ListField, "list"),
    (serializers.CharField, "text"),
]


def _kind(field: serializers.Field) -> str:
    return next((kind for cls, kind in _KINDS if isinstance(field, cls)), "json")


def _initial(name: str) -> Any:
    """A new project's value of the setting: the model's default (None if it has none)."""
    try:
        field = Project._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if not isinstance(field, Field):
        return None
    value = field.get_default()  # a database-only default (db_default) is none here: empty
    if isinstance(value, str):
        return str(value)  # a TextChoices member as its plain value
    return value if isinstance(value, bool | int | float | list) else None


def _spec(name: str, caption: str, field: serializers.Field) -> dict[str, Any]:
    kind = _kind(field)
    initial = _initial(name)
    spec: dict[str, Any] = {
        "name": name,
        "caption": caption,
        "kind": kind,
        "hint": HINTS.get(name) or str(field.help_text or ""),
        "nullable": bool(field.allow_null),
        "initial": ", ".join(initial or []) if kind == "list" else initial,
    }
    if kind in ("int", "float"):
        spec["min"] = field.min_value  # type: ignore[attr-defined]
        spec["max"] = field.max_value  # type: ignore[attr-defined]
        spec["step"] = "1" if kind == "int" else "any"
    if kind == "choice":
        spec["choices"] = list(field.choices.items())  # type: ignore[attr-defined]
    if kind == "text":
        spec["max_length"] = field.max_length  # type: ignore[attr-defined]
    if kind == "object":  # one input per key, named "<setting>.<key>" like the API's errors
        spec["parts"] = [
            {**_spec(f"{name}.{key}", key.replace("_", " ").capitalize(), part), "key": key}
            for key, part in field.fields.items()  # type: ignore[attr-defined]
        ]
        for part in spec["parts"]:
            part["required"] = field.fields[part["key"]].required  # type: ignore[attr-defined]
    return spec


def settings_groups() -> list[dict[str, Any]]:
    """The form's fieldsets: ``{"legend", "fields": [spec, ...]}``, each spec naming the
    setting, its input kind, caption, hint, bounds and choices as the API checks them."""
    fields = ProjectUpdateInput().fields
    placed: set[str] = set(ELSEWHERE)
    groups = []
    for legend, members in GROUPS:
        specs = [_spec(name, caption, fields[name]) for name, caption in members if name in fields]
        placed.update(name for name, _ in members)
        if specs:
            groups.append({"legend": legend, "fields": specs})
    rest = [
        _spec(name, name.replace("_", " ").capitalize(), field)
        for name, field in fields.items()
        if name not in placed
    ]
    if rest:
        groups.append({"legend": "More", "fields": rest})
    return groups


def head_choices() -> dict[str, Any]:
    """The choices of the form's head (kind), from the same serializer."""
    fields = ProjectUpdateInput().fields
    return {"kind": list(fields["kind"].choices.items())}  # type: ignore[attr-defined]
