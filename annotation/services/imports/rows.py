"""Cleaning one parsed import row into (external_id, data, gold, predictions), or a row
error naming its field."""

from __future__ import annotations

import re
from typing import Any

from annotation.models import Project
from annotation.services.predictions import (
    CSV_COLUMNS,
    Prediction,
    PredictionError,
    predictions_clean_row,
)
from annotation.text import unstorable

MAX_EXTERNAL_ID = 255
RESERVED = {"external_id", "gold", "data", "predictions", *CSV_COLUMNS}
_MULTI_SEPARATOR = "|"
# The item-data key that points at an image uploaded to the project (services/images.py),
# by its key: 32 hex digits, random.
STORED_IMAGE_FIELD = "stored_image"
STORED_IMAGE_KEY = re.compile(r"[0-9a-f]{32}")


class RowError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _clean_gold(
    raw: Any, *, project: Project, label_names: set[str], from_csv: bool
) -> list[str] | None:
    if raw is None or raw == "" or raw == []:
        return None
    if isinstance(raw, str):
        values = raw.split(_MULTI_SEPARATOR) if from_csv else [raw]
    elif isinstance(raw, list) and all(isinstance(v, str) for v in raw):
        values = raw
    else:
        raise RowError("gold", "gold must be a label name or a list of label names")
    values = [v.strip() for v in values]
    unknown = [v for v in values if v not in label_names]
    if unknown:
        raise RowError("gold", f"'{unknown[0]}' is not a label of this project")
    if not project.is_multi_label and len(values) != 1:
        raise RowError("gold", "this project takes exactly one gold label per item")
    return sorted(set(values))


def clean_row(
    raw: Any, *, project: Project, label_names: set[str], from_csv: bool
) -> tuple[str, dict[str, Any], list[str] | None, list[Prediction]]:
    if not isinstance(raw, dict):
        raise RowError("row", "each item must be an object with an external_id")
    external_id = raw.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        raise RowError("external_id", "external_id is missing or empty")
    external_id = external_id.strip()
    if len(external_id) > MAX_EXTERNAL_ID:
        raise RowError("external_id", f"external_id is longer than {MAX_EXTERNAL_ID} characters")
    problem = unstorable(raw)
    if problem is not None:
        raise RowError(*problem)
    data = {k: v for k, v in raw.items() if k not in RESERVED}
    nested = raw.get("data")
    if nested is not None:
        if not isinstance(nested, dict):
            raise RowError("data", "data must be an object")
        data.update(nested)
    if not data or all(v in ("", None) for v in data.values()):
        raise RowError("data", "the item has no data: give 'text' or other fields")
    image_key = data.get(STORED_IMAGE_FIELD)
    if image_key is not None and not (
        isinstance(image_key, str) and STORED_IMAGE_KEY.fullmatch(image_key)
    ):
        raise RowError(
            STORED_IMAGE_FIELD, "stored_image must be the key of an image uploaded to the project"
        )
    gold = _clean_gold(raw.get("gold"), project=project, label_names=label_names, from_csv=from_csv)
    try:
        predictions = predictions_clean_row(
            raw,
            label_names=label_names,
            multi=project.is_multi_label,
            from_csv=from_csv,
            separator=_MULTI_SEPARATOR,
        )
    except PredictionError as exc:
        raise RowError(exc.field, exc.message) from None
    return external_id, data, gold, predictions
