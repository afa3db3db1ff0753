"""A team's own predictions: their one validation rule (for imports and for the model
endpoint alike), storing them, and applying the newest one of each item as its suggestion
and queue priority.

Whether predictions serve a project is not the core's call: the registered
``extensions.predictions_in_charge`` answers it (the learning loop says "until the
project's own model beat them by cross-validation"); with nothing registered, a project's
``suggestion_source`` setting decides.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from annotation.extensions import predictions_in_charge
from annotation.iterables import chunks
from annotation.models import Item, ItemPrediction, Project
from annotation.services.bulk import temp_transaction
from annotation.services.items_sql import item_scores_write, item_suggestions_clear

MAX_MODEL_VERSION = 200
MAX_PREDICTIONS_PER_ITEM = 20
CSV_LABELS, CSV_SCORE, CSV_MODEL_VERSION = (
    "prediction_labels",
    "prediction_score",
    "prediction_model_version",
)
CSV_COLUMNS = (CSV_LABELS, CSV_SCORE, CSV_MODEL_VERSION)
PRIORITY_CAP = 0.999_999
"""Priorities from predictions stay below 1: [1, 2] is the learning loop's batch band."""
_APPLY_CHUNK = 2000


class PredictionError(Exception):
    """A prediction that breaks the contract; ``field`` names where (as the user wrote it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Prediction:
    labels: list[str]
    score: float | None
    model_version: str


def prediction_clean(
    raw: Any,
    *,
    label_names: set[str],
    multi: bool,
    fields: tuple[str, str, str, str] = ("prediction", "labels", "score", "model_version"),
) -> Prediction:
    """One prediction ``{"labels": [...], "score"?: 0..1, "model_version": "..."}`` checked
    against the project's labels. ``fields`` names the object and its three fields in
    errors (``predictions[2]``, ``labels``... or the CSV columns)."""
    where, labels_f, score_f, version_f = fields
    if not isinstance(raw, dict):
        raise PredictionError(where, "a prediction must be an object with labels and model_version")
    labels = raw.get("labels")
    if not isinstance(labels, list) or not all(isinstance(v, str) for v in labels):
        raise PredictionError(labels_f, "labels must be a list of label names")
    labels = [v.strip() for v in labels]
    unknown = [v for v in labels if v not in label_names]
    if unknown:
        raise PredictionError(labels_f, f"'{unknown[0]}' is not a label of this project")
    if not multi and len(labels) != 1:
        raise PredictionError(
            labels_f, f"this project takes exactly one label per item; got {len(labels)}"
        )
    score = raw.get("score")
    if score is not None:
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise PredictionError(score_f, "score must be a number from 0 to 1")
        score = float(score)
        if not math.isfinite(score) or not 0.0 <= score <= 1.0:
            raise PredictionError(score_f, f"score must be from 0 to 1; got {score:g}")
    version = raw.get("model_version")
    if not isinstance(version, str) or not version.strip():
        raise PredictionError(version_f, "model_version is missing: name the model that predicted")
    version = version.strip()
    if len(version) > MAX_MODEL_VERSION:
        raise PredictionError(
            version_f, f"model_version is longer than {MAX_MODEL_VERSION} characters"
        )
    return Prediction(sorted(set(labels)), score, version)


def predictions_clean_row(
    raw: dict[str, Any], *, label_names: set[str], multi: bool, from_csv: bool, separator: str
) -> list[Prediction]:
    """An import row's predictions: ``predictions`` (JSON/JSONL, a list) or the three
    ``prediction_*`` columns (CSV, labels split like multi-label gold answers)."""
    if from_csv:
        values = {c: (raw.get(c) or "").strip() for c in CSV_COLUMNS}
        if not any(values.values()):
            return []
        score: Any = values[CSV_SCORE] or None
        if score is not None:
            try:
                score = float(score)
            except ValueError:
                raise PredictionError(CSV_SCORE, "score must be a number from 0 to 1") from None
        labels = values[CSV_LABELS].split(separator) if values[CSV_LABELS] else []
        one = {"labels": labels, "score": score, "model_version": values[CSV_MODEL_VERSION]}
        return [
            prediction_clean(
                one, label_names=label_names, multi=multi, fields=("row", *CSV_COLUMNS)
            )
        ]
    given = raw.get("predictions")
    if given is None or given == []:
        return []
    if not isinstance(given, list):
        raise PredictionError("predictions", "predictions must be a list of predictions")
    if len(given) > MAX_PREDICTIONS_PER_ITEM:
        raise PredictionError(
            "predictions", f"at most {MAX_PREDICTIONS_PER_ITEM} predictions per item"
        )
    return [
        prediction_clean(
            p,
            label_names=label_names,
            multi=multi,
            fields=(
                f"predictions[{n}]",
                f"predictions[{n}].labels",
                f"predictions[{n}].score",
                f"predictions[{n}].model_version",
            ),
        )
        for n, p in enumerate(given)
    ]


def prediction_priority(score: float | None, strategy: str) -> float:
    """The queue priority of a prediction. Only the top label's score is known, and with
    that alone least confidence (1 - s), margin (its smallest possible value, 2s - 1, the
    rest of the mass on one runner-up) and entropy (the rest spread evenly) all rank items
    the same way: least sure first. So every uncertainty strategy orders by 1 - s; "random"
    keeps the seeded random order, as does a prediction without a score."""
    if score is None or strategy == Project.Strategy.RANDOM:
        return 0.0
    return min(1.0 - score, PRIORITY_CAP)


# ----- storing --------------------------------------------------------------------------------
_STAGE = "skein_prediction_stage"


class PredictionStage:
    """An import's predictions, staged beside its items (whose ids do not exist yet) and
    joined to them by ``external_id`` once the items are in. A TEMP table like the item
    stage (annotation/services/bulk.py): inside the import's transaction on PostgreSQL,
    outside any on SQLite, so staging takes no write lock."""

    def __init__(self, *, project: Project):
        self.project = project
        self.staged = 0
        self._created = False
        self._pg = connection.vendor == "postgresql"
        self._name = _STAGE if self._pg else f"temp.{_STAGE}"

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        try:
            yield
        finally:
            if self._created:
                self._created = False
                # On PostgreSQL a transaction an error aborted accepts no statement; the
                # table goes with its rollback (ON COMMIT DROP).
                with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE IF EXISTS {self._name}")

    def write(self, rows: Sequence[tuple[str, list[Prediction]]]) -> None:
        values = []
        for external_id, predictions in rows:
            for p in predictions:
                self.staged += 1
                values.append(
                    (self.staged, external_id, json.dumps(p.labels), p.score, p.model_version)
                )
        if not values:
            return
        with connection.cursor() as cursor:
            if not self._created:
                cursor.execute(f"DROP TABLE IF EXISTS {self._name}")
                if self._pg:
                    cursor.execute(
                        f"CREATE TEMPORARY TABLE {_STAGE} (seq bigint, external_id text, "
                        "labels text, score double precision, model_version text) ON COMMIT DROP"
                    )
                else:
                    cursor.execute(
                        f"CREATE TABLE {self._name} (seq integer PRIMARY KEY, external_id text, "
                        "labels text, score real, model_version text)"
                    )
                self._created = True
            with temp_transaction(cursor):
                cursor.executemany(f"INSERT INTO {self._name} VALUES (%s, %s, %s, %s, %s)", values)

    def finish(self) -> list[int]:
        """Inside the import's final transaction, after its items are in: store the staged
        predictions on their items (new ones and ones the project already had); returns the
        ids of the items that got one."""
        if not self._created:
            return []
        table = ItemPrediction._meta.db_table
        items = Item._meta.db_table
        labels = "CAST(s.labels AS jsonb)" if self._pg else "s.labels"
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (project_id, item_id, source, model_version, labels, "
                f"score, created_at) SELECT %s, i.id, %s, s.model_version, {labels}, s.score, %s "
                f"FROM {self._name} s JOIN {items} i ON i.project_id = %s "
                "AND i.external_id = s.external_id ORDER BY s.seq",
                [self.project.pk, ItemPrediction.Source.IMPORT, now, self.project.pk],
            )
            cursor.execute(
                f"SELECT DISTINCT i.id FROM {self._name} s JOIN {items} i "
                "ON i.project_id = %s AND i.external_id = s.external_id",
                [self.project.pk],
            )
            return sorted(r[0] for r in cursor.fetchall())


@transaction.atomic
def item_predictions_store(
    *, project: Project, source: str, predictions: dict[int, Prediction]
) -> int:
    """Store one prediction per item (item id -> prediction), e.g. an endpoint's answer
    for a chunk, then apply them if predictions serve the project; returns how many."""
    ItemPrediction.objects.bulk_create(
        ItemPrediction(
            project=project,
            item_id=item_id,
            source=source,
            model_version=p.model_version,
            labels=p.labels,
            score=p.score,
        )
        for item_id, p in predictions.items()
    )
    if predictions_in_charge(project=project):
        item_predictions_apply(project=project, item_ids=sorted(predictions))
    return len(predictions)


# ----- applying -------------------------------------------------------------------------------
def item_predictions_apply(*, project: Project, item_ids: Sequence[int] | None = None) -> int:
    """Make the newest prediction of each item (of ``item_ids``, else of the whole project)
    its suggestion and queue priority; items complete or erased are left alone, as a
    scoring pass leaves them. Returns how many items were written."""
    if item_ids is None:
        item_ids = list(
            ItemPrediction.objects.filter(project=project)
            .order_by("item_id")
            .values_list("item_id", flat=True)
            .distinct()
        )
    written = 0
    for chunk in chunks(list(item_ids), _APPLY_CHUNK):
        open_ids = set(
            Item.objects.filter(pk__in=chunk, project=project, data_erased_at__isnull=True)
            .exclude(state=Item.State.COMPLETE)
            .values_list("pk", flat=True)
        )
        newest: dict[int, tuple[Any, float | None, str]] = {}
        for item_id, labels, score, source, version in (
            ItemPrediction.objects.filter(project=project, item_id__in=open_ids)
            .order_by("item_id", "-id")
            .values_list("item_id", "labels", "score", "source", "model_version")
        ):
            newest.setdefault(item_id, (labels, score, f"{source}:{version}"))
        ids = sorted(newest)
        if not ids:
            continue
        item_scores_write(
            ids=ids,
            priority=[prediction_priority(newest[i][1], project.strategy) for i in ids],
            labels=[newest[i][0] for i in ids],
            confidence=[newest[i][1] for i in ids],
            scored_by_version=None,
            suggested_by=[newest[i][2] for i in ids],
        )
        written += len(ids)
    return written


def item_predictions_withdraw(*, project: Project) -> int:
    """Take the team's predictions off the project's items (suggestion and priority), e.g.
    when they stop serving (``suggestion_source``); the predictions themselves are kept."""
    return item_suggestions_clear(project_id=project.pk)
