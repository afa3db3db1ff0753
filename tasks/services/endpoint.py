"""A project's model endpoint: a run POSTs the open items in chunks and stores the
predictions it answers (README, "A team's own predictions", has the contract).

Never called from a web request: a manager asks for a run (``prediction_run_request``), which
plans chunks by item-id ranges (the project's ``model_endpoint.batch_size``, else
``SKEIN_ENDPOINT_CHUNK``) and sends one job per chunk; each job makes one request (the
endpoint's ``timeout_seconds``, else ``SKEIN_ENDPOINT_TIMEOUT``), and the job decorator
retries a transport failure (timeout, refused connection, HTTP 429/5xx) with backoff. An
answer that breaks the contract (not JSON, wrong shape, unknown ids or labels) fails its
chunk at once: asking again would get the same. A per-process circuit breaker stops
calling an endpoint after ``SKEIN_ENDPOINT_FAILURES`` failures in a row for
``SKEIN_ENDPOINT_BREAKER_SECONDS``. Every failure is kept on the run (``errors``), which
the API shows; the queue never waits for any of it: items are served with whatever
suggestion and priority they have.
"""

from __future__ import annotations

import http.client
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotation.errors import Conflict
from annotation.models import Item, ItemPrediction, Project
from annotation.selectors import label_names_of
from annotation.services.audit import audit_record
from annotation.services.predictions import (
    Prediction,
    PredictionError,
    item_predictions_store,
    prediction_clean,
)
from config.jobs import Breaker
from config.outbound import OutboundRefused, http_post_json
from tasks import jobs
from tasks.models import PredictionRun
from tasks.services.lifecycle import stale_after

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class EndpointUnavailable(Exception):
    """A failure worth retrying (the job decorator retries it with backoff)."""


class EndpointAnswerInvalid(Exception):
    """The endpoint answered, but not by the contract: no retry."""


class EndpointRefused(Exception):
    """The endpoint may not be called (scheme, private address) or its breaker is open."""


# ----- the circuit breaker (per worker process, like config.jobs.BREAKER) --------------------
@dataclass
class _Circuit:
    failures: int = 0
    breaker: Breaker = field(default_factory=lambda: Breaker(0.0))


_circuits: dict[str, _Circuit] = {}


def _circuit(url: str) -> _Circuit:
    circuit = _circuits.get(url)
    if circuit is None:
        circuit = _circuits[url] = _Circuit(
            breaker=Breaker(settings.SKEIN_ENDPOINT_BREAKER_SECONDS)
        )
    return circuit


def _failed(url: str) -> None:
    circuit = _circuit(url)
    circuit.failures += 1
    if circuit.failures >= settings.SKEIN_ENDPOINT_FAILURES:
        circuit.breaker.trip()
        circuit.failures = 0


def _succeeded(url: str) -> None:
    _circuit(url).failures = 0


# ----- the contract ---------------------------------------------------------------------------
def endpoint_payload(
    *, project: Project, labels: list[str], items: list[tuple[int, dict[str, Any]]]
) -> dict[str, Any]:
    """What is POSTed: the project, its labels and the items (private fields left out)."""
    private = set(project.private_fields or [])
    return {
        "project": project.pk,
        "labels": labels,
        "multi_label": project.is_multi_label,
        "items": [
            {"id": item_id, "data": {k: v for k, v in data.items() if k not in private}}
            for item_id, data in items
        ],
    }


def endpoint_answer_parse(
    body: bytes, *, item_ids: set[int], label_names: set[str], multi: bool
) -> dict[int, Prediction]:
    """The answer ``{"predictions": [{"id", "labels", "score"?, "model_version"}]}`` checked
    whole, like an import: one bad entry rejects the chunk's answer, naming the entry and
    field. Items left out get no prediction."""
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EndpointAnswerInvalid(f"the answer is not JSON ({exc})") from None
    given = answer.get("predictions") if isinstance(answer, dict) else None
    if not isinstance(given, list):
        raise EndpointAnswerInvalid('the answer must be an object with a "predictions" list')
    out: dict[int, Prediction] = {}
    for n, entry in enumerate(given):
        where = f"predictions[{n}]"
        item_id = entry.get("id") if isinstance(entry, dict) else None
        if isinstance(item_id, bool) or not isinstance(item_id, int) or item_id not in item_ids:
            raise EndpointAnswerInvalid(f"{where}.id: {item_id!r} is not one of the items sent")
        if item_id in out:
            raise EndpointAnswerInvalid(f"{where}.id: item {item_id} is answered twice")
        try:
            out[item_id] = prediction_clean(
                entry,
                label_names=label_names,
                multi=multi,
                fields=(where, f"{where}.labels", f"{where}.score", f"{where}.model_version"),
            )
        except PredictionError as exc:
            raise EndpointAnswerInvalid(f"{exc.field}: {exc.message}") from None
    return out


def endpoint_call(*, url: str, payload: dict[str, Any], timeout: float) -> bytes:
    """One request through the breaker; raises EndpointUnavailable (retry; counted by the
    breaker here), EndpointRefused or EndpointAnswerInvalid (the caller counts it)."""
    if _circuit(url).breaker.is_open():
        raise EndpointRefused(
            f"circuit open: the endpoint failed {settings.SKEIN_ENDPOINT_FAILURES} times in a "
            f"row; not called for {settings.SKEIN_ENDPOINT_BREAKER_SECONDS:g} s"
        )
    try:
        status, body = http_post_json(
            url,
            payload,
            timeout=timeout,
            max_bytes=MAX_RESPONSE_BYTES,
        )
    except OutboundRefused as exc:
        raise EndpointRefused(f"refused: {exc}") from None
    except TimeoutError:
        _failed(url)
        raise EndpointUnavailable(f"timed out after {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:
        _failed(url)
        raise EndpointUnavailable(f"{type(exc).__name__}: {exc}") from None
    if status in RETRY_STATUSES:
        _failed(url)
        raise EndpointUnavailable(f"HTTP {status}")
    if not 200 <= status < 300:
        raise EndpointAnswerInvalid(f"HTTP {status}")
    if len(body) > MAX_RESPONSE_BYTES:
        raise EndpointAnswerInvalid(f"the answer is longer than {MAX_RESPONSE_BYTES} bytes")
    return body


# ----- runs -----------------------------------------------------------------------------------
def _open_items(project_id: int) -> Any:
    """What a run predicts: items not complete, data not erased (as a scoring pass)."""
    return Item.objects.filter(project_id=project_id, data_erased_at__isnull=True).exclude(
        state=Item.State.COMPLETE
    )


def prediction_run_request(*, project: Project, actor: Any = None) -> PredictionRun:
    """Plan a run over the project's open items and send its chunk jobs; 409 without an
    endpoint or while another run is in progress."""
    if not project.prediction_endpoint:
        raise Conflict({"detail": "The project has no prediction endpoint; set one first."})
    now = timezone.now()
    # A run that stopped moving (its jobs were lost with a broker outage, say) gives way.
    PredictionRun.objects.filter(
        project=project, state__in=PredictionRun.ACTIVE, updated_at__lt=now - stale_after()
    ).update(
        state=PredictionRun.State.FAILED,
        error="no progress for a while (its jobs were lost); a new run was asked for",
        finished_at=now,
        updated_at=now,
    )
    size = max(1, int(project.endpoint_batch_size or settings.SKEIN_ENDPOINT_CHUNK))
    ids = list(_open_items(project.pk).order_by("id").values_list("id", flat=True))
    plan = [[ids[s], ids[min(s + size, len(ids)) - 1]] for s in range(0, len(ids), size)]
    try:
        with transaction.atomic():
            run = PredictionRun.objects.create(
                project=project,
                endpoint=project.prediction_endpoint,
                chunks=plan,
                items_total=len(ids),
                state=PredictionRun.State.RUNNING if plan else PredictionRun.State.DONE,
                finished_at=None if plan else timezone.now(),
                requested_by=actor if getattr(actor, "pk", None) else None,
            )
            audit_record(
                actor=run.requested_by,
                action="predictions.endpoint_run",
                project=project,
                target=f"run {run.pk}",
                details={"run": run.pk, "items": len(ids), "chunks": len(plan)},
            )
            for index in range(len(plan)):
                jobs.enqueue_endpoint_chunk(run_id=run.pk, index=index)
    except IntegrityError:
        raise Conflict({"detail": "A prediction run is already in progress."}) from None
    return run


def _record(*, run_id: int, index: int | None, message: str, failed_chunk: bool) -> None:
    """Keep a failure on the run; a failed chunk also counts towards finishing it."""
    with transaction.atomic():
        run = PredictionRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            return
        entry: dict[str, Any] = {"at": timezone.now().isoformat(), "message": message[:1000]}
        if index is not None:
            first, last = run.chunks[index]
            entry.update(chunk=index, first_item_id=first, last_item_id=last)
        run.errors = [*run.errors, entry][-PredictionRun.MAX_ERRORS :]
        fields = ["errors", "updated_at"]
        if failed_chunk and run.state in PredictionRun.ACTIVE:
            run.chunks_failed += 1
            fields.append("chunks_failed")
            _finish_if_done(run, fields)
        run.save(update_fields=fields)
    logger.warning("prediction run %s chunk %s: %s", run_id, index, message[:200])


def _finish_if_done(run: PredictionRun, fields: list[str]) -> None:
    if run.chunks_done + run.chunks_failed < len(run.chunks):
        return
    run.state = PredictionRun.State.DONE if run.chunks_done else PredictionRun.State.FAILED
    run.finished_at = timezone.now()
    fields += ["state", "finished_at"]
    if run.state == PredictionRun.State.FAILED and not run.error:
        run.error = "no chunk was answered; see errors"
        fields.append("error")


def prediction_run_note(*, run_id: int, index: int, error: str) -> None:
    """An attempt failed and will be retried: shown on the run meanwhile."""
    _record(run_id=run_id, index=index, message=f"retrying: {error}", failed_chunk=False)


def prediction_run_chunk_failed(*, run_id: int, index: int, error: str) -> None:
    """A chunk that will not be answered (given up, refused, or its job never sent)."""
    _record(run_id=run_id, index=index, message=error, failed_chunk=True)


def prediction_run_chunk(*, run_id: int, index: int) -> int:
    """Ask the endpoint for one chunk and store its answer; returns the items predicted.
    Raises EndpointUnavailable to be retried; the other failures are recorded here."""
    run = PredictionRun.objects.select_related("project").filter(pk=run_id).first()
    if run is None or run.state not in PredictionRun.ACTIVE or index >= len(run.chunks):
        return 0
    project = run.project
    first, last = run.chunks[index]
    items = list(
        _open_items(project.pk)
        .filter(id__gte=first, id__lte=last)
        .order_by("id")
        .values_list("id", "data")
    )
    labels = label_names_of(project=project)
    try:
        if not items:
            predictions: dict[int, Prediction] = {}
        else:
            body = endpoint_call(
                url=run.endpoint,
                timeout=project.endpoint_timeout_seconds or settings.SKEIN_ENDPOINT_TIMEOUT,
                payload=endpoint_payload(project=project, labels=labels, items=items),
            )
            predictions = endpoint_answer_parse(
                body,
                item_ids={i for i, _ in items},
                label_names=set(labels),
                multi=project.is_multi_label,
            )
    except EndpointAnswerInvalid as exc:
        _failed(run.endpoint)
        prediction_run_chunk_failed(run_id=run_id, index=index, error=str(exc))
        return 0
    except EndpointRefused as exc:
        prediction_run_chunk_failed(run_id=run_id, index=index, error=str(exc))
        return 0
    _succeeded(run.endpoint)
    with transaction.atomic():
        current = PredictionRun.objects.select_for_update().filter(pk=run_id).first()
        if current is None or current.state not in PredictionRun.ACTIVE:
            return 0
        item_predictions_store(
            project=project, source=ItemPrediction.Source.ENDPOINT, predictions=predictions
        )
        missing = len(items) - len(predictions)
        if missing:
            current.errors = [
                *current.errors,
                {
                    "at": timezone.now().isoformat(),
                    "chunk": index,
                    "message": f"{missing} of {len(items)} items got no prediction",
                },
            ][-PredictionRun.MAX_ERRORS :]
        current.chunks_done += 1
        current.items_predicted = F("items_predicted") + len(predictions)
        versions = sorted(
            {*current.model_versions, *(p.model_version for p in predictions.values())}
        )
        current.model_versions = versions
        fields = ["chunks_done", "items_predicted", "model_versions", "errors", "updated_at"]
        _finish_if_done(current, fields)
        current.save(update_fields=fields)
    return len(predictions)
