"""Bulk actions on a project's items (``POST projects/{id}/items/bulk/``): mark or unmark
gold, requeue, change priority, delete, erase the data, and the actions other apps own
(saving a label set, sending to review: ``annotation.extensions.register_bulk_action``).

Never half-applied. The items are resolved and checked when the action is asked for (the
ids, or the list's filter at that moment), so it acts on exactly what the manager
confirmed. A small action is applied at once, in one transaction. A large one becomes a
``BulkAction`` row and a job: the job applies every item in ONE transaction that also sets
the row ``done``, so a worker killed midway leaves nothing applied (the database rolls the
transaction back with the connection) and the action still ``running`` with its attempt
counted; the tick (``bulk_actions_resume``) queues it again once stale, and the next run
starts over (``MAX_ATTEMPTS`` runs at most). A duplicate delivery waits on the row lock
and then finds the action done.

Labelers are not blocked: the claim skips locked rows (``SELECT ... FOR UPDATE SKIP
LOCKED``), and the statements are set-based, ``SKEIN_BULK_CHUNK`` items each (measured in
bench/README.md, "Bulk actions"). The queue's invariants hold because every state written
here is the one rule of ``annotation.item_state`` over the item's counters."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import CASCADE, SET_NULL, F, Min, Model, ProtectedError, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest
from django.utils import timezone

from annotation import item_filters
from annotation.errors import Conflict, DomainError, InvalidInput
from annotation.extensions import bulk_action_handlers
from annotation.item_state import item_state_case
from annotation.iterables import chunks
from annotation.models import Annotation, Assignment, BulkAction, Item, Project
from annotation.selectors import label_names_of
from annotation.services.audit import audit_items_record, audit_record
from annotation.services.bulk import item_statistics_refresh
from annotation.services.queue import labels_validate
from annotation.services.retention import item_data_erase, labelsets_erase
from config.faults import fault_sleep
from config.jobs import send_after_commit

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
MAX_OVERLAP = 50  # as the project's own overlap
RUN_JOB = "items.bulk"
"""The registered name of the job (annotation.jobs): keep it stable."""
TICK_JOB = "items.bulk_tick"
_MISSING_SHOWN = 10


def inline_max() -> int:
    """Actions on at most this many items are applied in the request; larger ones by a job."""
    return int(getattr(settings, "SKEIN_BULK_INLINE_MAX", 2000))


def chunk_size() -> int:
    """Items per statement (``SKEIN_BULK_CHUNK``): set-based writes, each short enough to
    report progress often."""
    return max(1, int(getattr(settings, "SKEIN_BULK_CHUNK", 5000)))


def stale_after() -> timedelta:
    return timedelta(seconds=getattr(settings, "SKEIN_JOB_STALE_SECONDS", 600))


def progress_key(bulk_id: int) -> str:
    return f"skein:bulk-action:{bulk_id}:processed"


@dataclass(frozen=True)
class BulkRequest:
    """A checked bulk action: what to do, with what, to which items (sorted ids)."""

    action: str
    params: dict[str, Any]
    item_ids: list[int]


@dataclass
class BulkOutcome:
    """Applied at once (``affected``) or queued as a job (``job``)."""

    action: str
    affected: int | None = None
    job: BulkAction | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _any(ids: list[int]) -> Any:
    """A ``__in`` value for many ids: one array parameter on PostgreSQL (psycopg spent
    longer parsing 5,000 placeholders than the database running the statement), the list
    elsewhere."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    return ids


# --- checking the request ---------------------------------------------------------------


def _whole_number(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput({name: [f"A whole number from {low} to {high}."]})
    return value


def _params(*, project: Project, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The action's own parameters, checked; 400 names the field."""
    if action == "gold":
        if body.get("gold") in (None, "", []):
            raise InvalidInput({"gold": ["Give the gold answer: a label, or a list of labels."]})
        gold = body["gold"]
        gold = [gold] if isinstance(gold, str) else gold
        try:
            clean = labels_validate(
                project=project, labels=gold, label_names=label_names_of(project=project)
            )
        except InvalidInput as exc:
            raise InvalidInput({"gold": exc.detail.get("labels", exc.detail)}) from None
        return {"gold": clean}
    if action == "requeue":
        if body.get("overlap") is None:
            return {"overlap": None}  # reopen: one annotation more than each item has
        overlap = _whole_number(body["overlap"], "overlap", project.overlap, MAX_OVERLAP)
        return {"overlap": overlap}
    if action == "priority":
        value = body.get("priority")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidInput({"priority": ["A number."]})
        if not math.isfinite(value):
            raise InvalidInput({"priority": ["A finite number."]})
        return {"priority": float(value)}
    if action in ("ungold", "delete", "erase"):
        return {}
    handler = bulk_action_handlers().get(action)
    if handler is None:
        raise InvalidInput({"action": ["This action is not available."]})
    return handler.clean(project=project, body=dict(body))


def _ids_checked(*, project: Project, raw: Any) -> list[int]:
    if not isinstance(raw, list) or not raw:
        raise InvalidInput({"ids": ["A non-empty list of item ids."]})
    if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in raw):
        raise InvalidInput({"ids": ["Item ids are positive whole numbers."]})
    wanted = sorted(set(raw))
    found: set[int] = set()
    for part in chunks(wanted, chunk_size()):
        found.update(
            Item.objects.filter(project=project, pk__in=_any(part)).values_list("pk", flat=True)
        )
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(str(i) for i in missing[:_MISSING_SHOWN])
        more = f" and {len(missing) - _MISSING_SHOWN} more" if len(missing) > _MISSING_SHOWN else ""
        raise InvalidInput({"ids": [f"Not items of this project: {shown}{more}."]})
    return wanted


def _filtered(*, project: Project, raw: Any, viewer: Any) -> list[int]:
    if not isinstance(raw, dict):
        raise InvalidInput({"filter": ["An object of the item list's query parameters."]})
    params: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, dict | list) or value is None:
            raise InvalidInput({"filter": {name: ["A single value."]}})
        params[name] = str(value).lower() if isinstance(value, bool) else str(value)
    try:
        items = item_filters.items_matching(project, params, viewer)
    except InvalidInput as exc:
        raise InvalidInput({"filter": exc.detail}) from None
    return list(items.order_by("pk").values_list("pk", flat=True))


def bulk_request_clean(*, project: Project, body: Any, viewer: Any) -> BulkRequest:
    """Check a bulk request and resolve its items; 400 naming the field, nothing written.
    ``expected`` (optional): the count the manager confirmed; 409 when the items differ."""
    if not isinstance(body, dict):
        raise InvalidInput({"action": ["Send an object with 'action' and 'ids' or 'filter'."]})
    action = body.get("action")
    if not isinstance(action, str) or action not in _available():
        names = ", ".join(sorted(_available()))
        raise InvalidInput({"action": [f"Use one of: {names}."]})
    params = _params(project=project, action=action, body=body)
    has_ids, has_filter = "ids" in body, "filter" in body
    if has_ids == has_filter:
        raise InvalidInput({"ids": ["Send either 'ids' or 'filter', not both or neither."]})
    if has_ids:
        item_ids = _ids_checked(project=project, raw=body["ids"])
    else:
        item_ids = _filtered(project=project, raw=body["filter"], viewer=viewer)
    expected = body.get("expected")
    if expected is not None:
        _whole_number(expected, "expected", 0, 2**31)
        if expected != len(item_ids):
            raise Conflict(
                {
                    "expected": [
                        f"You confirmed {expected} items; the selection now holds "
                        f"{len(item_ids)}. Nothing was done."
                    ]
                }
            )
    return BulkRequest(action=action, params=params, item_ids=item_ids)


def _available() -> set[str]:
    """The core's own actions and those other apps registered (label set, review)."""
    return set(_OWN) | set(bulk_action_handlers())


# --- starting ---------------------------------------------------------------------------


def bulk_action_start(*, project: Project, actor: Any, body: Any) -> BulkOutcome:
    """Apply a checked bulk action now when small, else queue it as a job; with
    ``dry_run``, only check it and count its items (``matched``)."""
    request = bulk_request_clean(project=project, body=body, viewer=actor)
    if body.get("dry_run"):  # what a confirmation names: nothing is written
        return BulkOutcome(action=request.action, extra={"matched": len(request.item_ids)})
    if len(request.item_ids) <= inline_max():
        with transaction.atomic():
            result = _apply(project=project, request=request, actor=actor, bulk_id=None)
        _after(project=project, request=request, affected=result["affected"])
        return BulkOutcome(
            action=request.action,
            affected=result["affected"],
            extra={k: v for k, v in result.items() if k != "affected"},
        )
    with transaction.atomic():
        bulk = BulkAction.objects.create(
            project=project,
            action=request.action,
            params=request.params,
            item_ids=request.item_ids,
            total=len(request.item_ids),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            heartbeat_at=timezone.now(),  # a lost message shows as a stale queued action
        )
        audit_record(
            actor=actor,
            action="items.bulk_requested",
            project=project,
            target=f"{request.action} on {bulk.total} items",
            details={"bulk": bulk.pk, "action": request.action, "params": request.params},
        )
        cache.delete(progress_key(bulk.pk))  # an id reused after a database reset
        enqueue_bulk_action(bulk_id=bulk.pk)
    return BulkOutcome(action=request.action, job=bulk)


def enqueue_bulk_action(*, bulk_id: int) -> None:
    """Queue the action's job after commit; a lost message is re-sent by the tick."""
    send_after_commit(RUN_JOB, [bulk_id], what="bulk action")


# --- the job ----------------------------------------------------------------------------


def _claim(*, bulk_id: int, job_id: str) -> bool:
    """Take the action for this run (committed, so an attempt is counted even when the
    worker dies): False when it is finished, or another live run has it."""
    with transaction.atomic():
        bulk = BulkAction.objects.select_for_update().filter(pk=bulk_id).first()
        if bulk is None or bulk.state not in BulkAction.OPEN:
            return False
        now = timezone.now()
        fresh = bulk.heartbeat_at is not None and bulk.heartbeat_at > now - stale_after()
        if bulk.state == BulkAction.State.RUNNING and bulk.job_id != job_id and fresh:
            return False
        if bulk.attempts >= MAX_ATTEMPTS:
            _failed(bulk, f"Gave up after {bulk.attempts} attempts; nothing was applied.")
            return False
        bulk.state = BulkAction.State.RUNNING
        bulk.attempts += 1
        bulk.job_id = job_id
        bulk.heartbeat_at = now
        bulk.save(update_fields=["state", "attempts", "job_id", "heartbeat_at"])
    return True


def bulk_action_run(*, bulk_id: int, job_id: str) -> BulkAction | None:
    """Apply a queued bulk action in one transaction; returns it done (or failed), None
    when this run did not apply it (finished already, or another run holds it)."""
    if not _claim(bulk_id=bulk_id, job_id=job_id):
        return None
    cache.set(progress_key(bulk_id), 0, timeout=86400)
    try:
        with transaction.atomic():
            bulk = (
                BulkAction.objects.select_for_update(of=("self",))
                .select_related("project", "created_by")
                .filter(pk=bulk_id, state=BulkAction.State.RUNNING, job_id=job_id)
                .first()
            )
            if bulk is None:
                return None
            request = BulkRequest(bulk.action, bulk.params, [int(i) for i in bulk.item_ids])
            result = _apply(
                project=bulk.project, request=request, actor=bulk.created_by, bulk_id=bulk.pk
            )
            bulk.state = BulkAction.State.DONE
            bulk.affected = result["affected"]
            bulk.params = {**bulk.params, **{k: v for k, v in result.items() if k != "affected"}}
            bulk.finished_at = timezone.now()
            bulk.error = ""
            bulk.save(update_fields=["state", "affected", "params", "finished_at", "error"])
    except DomainError as exc:  # the project changed meanwhile (a label removed): no retry
        bulk_action_fail(bulk_id=bulk_id, error=f"Nothing was applied: {exc.detail}")
        return BulkAction.objects.get(pk=bulk_id)
    _after(project=bulk.project, request=request, affected=bulk.affected)
    return bulk


def _failed(bulk: BulkAction, error: str) -> None:
    bulk.state = BulkAction.State.FAILED
    bulk.error = error[:4000]
    bulk.finished_at = timezone.now()
    bulk.save(update_fields=["state", "error", "finished_at"])
    audit_record(
        actor=None,
        action="items.bulk_failed",
        project=bulk.project,
        target=f"{bulk.action} on {bulk.total} items",
        details={"bulk": bulk.pk, "action": bulk.action, "error": bulk.error},
    )


def bulk_action_fail(*, bulk_id: int, error: str) -> None:
    """Give up on an action: failed with the reason, nothing of it applied."""
    with transaction.atomic():
        bulk = BulkAction.objects.select_for_update().filter(pk=bulk_id).first()
        if bulk is not None and bulk.state in BulkAction.OPEN:
            _failed(bulk, error)


def bulk_actions_resume(*, now: Any = None) -> list[int]:
    """Queue again the actions whose message or worker was lost (open past the stale
    limit); returns their ids. On PostgreSQL an action being applied holds its row lock
    and is skipped."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            BulkAction.objects.select_for_update(skip_locked=True)
            .filter(state__in=BulkAction.OPEN, heartbeat_at__lt=now - stale_after())
            .values_list("pk", flat=True)[:100]
        )
        # Queued again: the next run may take it (a run found still fresh would not).
        BulkAction.objects.filter(pk__in=ids).update(
            state=BulkAction.State.QUEUED, heartbeat_at=now
        )
        for bulk_id in ids:
            enqueue_bulk_action(bulk_id=bulk_id)
    return ids


def bulk_action_progress(*, bulk: BulkAction) -> dict[str, Any]:
    """What a client polls: state, items processed so far (while running), affected."""
    if bulk.state == BulkAction.State.DONE:
        processed = bulk.total
    elif bulk.state == BulkAction.State.RUNNING:
        processed = int(cache.get(progress_key(bulk.pk)) or 0)
    else:
        processed = 0
    return {
        "id": bulk.pk,
        "action": bulk.action,
        "state": bulk.state,
        "total": bulk.total,
        "processed": processed,
        "affected": bulk.affected if bulk.state == BulkAction.State.DONE else None,
        "error": bulk.error,
        "attempts": bulk.attempts,
        "created_at": bulk.created_at,
        "finished_at": bulk.finished_at,
        **{k: v for k, v in bulk.params.items() if k in ("labelset",)},
    }


# --- applying ---------------------------------------------------------------------------


def _apply(
    *, project: Project, request: BulkRequest, actor: Any, bulk_id: int | None
) -> dict[str, Any]:
    """Do the action on the items still in the project, inside the caller's transaction,
    and audit it; returns ``{"affected": n, ...}``."""
    action, params, ids = request.action, request.params, request.item_ids
    if action == "gold":  # the answer is checked again: a label may have gone meanwhile
        _params(project=project, action="gold", body={"gold": params["gold"]})
    report: Callable[[int], None] = (
        (lambda n: cache.set(progress_key(bulk_id), n, timeout=86400))
        if bulk_id is not None
        else (lambda n: None)
    )
    extra: dict[str, Any] = {}
    affected = 0
    handler = bulk_action_handlers().get(action)
    if handler is not None and action not in _OWN:
        existing = _existing(project=project, ids=ids)
        extra = handler.apply(project=project, actor=actor, item_ids=existing, params=params)
        affected = len(existing)
    else:
        apply_chunk = _OWN[action]
        step = Step(project, params, actor, bulk_id, timezone.now())
        size = chunk_size()
        for done, part in enumerate(chunks(ids, size), start=1):
            affected += apply_chunk(part, step)
            report(min(len(ids), done * size))
            fault_sleep("bulk")
        if action == "erase" and step.oldest is not None:
            extra["labelsets_erased"] = labelsets_erase(
                project=project, items_since=step.oldest, now=step.now
            )
    event = audit_record(
        actor=actor,
        action=f"items.bulk_{action}",
        project=project,
        target=f"{affected} items",
        details={
            "bulk": bulk_id,
            "params": params,
            "affected": affected,
            "item_ids": ids,
            **extra,
        },
    )
    if action != "delete":  # the items' own trails (their stories); deleted items have none
        audit_items_record(event=event, action=f"item.bulk_{action}", item_ids=ids)
    return {"affected": affected, **extra}


def _existing(*, project: Project, ids: list[int]) -> list[int]:
    out: list[int] = []
    for part in chunks(ids, chunk_size()):
        out.extend(
            Item.objects.filter(project=project, pk__in=_any(part))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return out


@dataclass
class Step:
    """What every chunk of one action shares: the project, the parameters, who and when;
    ``oldest``: the oldest creation time among the items erased so far (erase only)."""

    project: Project
    params: dict[str, Any]
    actor: Any
    bulk_id: int | None
    now: Any
    oldest: Any = None


Chunk = Callable[[list[int], Step], int]


def _gold(ids: list[int], step: Step) -> int:
    # Assignments, annotations, then items: the order a submit locks them in (its
    # assignment, then its item), so the two never wait on each other in a cycle.
    Assignment.objects.filter(item_id__in=_any(ids)).update(is_gold=True)
    Annotation.objects.filter(item_id__in=_any(ids)).update(is_gold=True)
    return Item.objects.filter(project=step.project, pk__in=_any(ids)).update(
        gold=step.params["gold"], is_gold=True, state=Value(Item.State.OPEN), updated_at=step.now
    )


def _ungold(ids: list[int], step: Step) -> int:
    Assignment.objects.filter(item_id__in=_any(ids)).update(is_gold=False)  # as in _gold
    Annotation.objects.filter(item_id__in=_any(ids)).update(is_gold=False)
    # The gold flag changes in this same UPDATE, so the rule's non-gold branch is chosen here.
    return Item.objects.filter(project=step.project, pk__in=_any(ids)).update(
        gold=None,
        is_gold=False,
        state=item_state_case(overlap=step.project.overlap),
        updated_at=step.now,
    )


def _requeue(ids: list[int], step: Step) -> int:
    project = step.project
    items = Item.objects.filter(project=project, pk__in=_any(ids))
    overlap = step.params.get("overlap")
    if overlap is None:  # reopen: each item needs one annotation more than it has
        extra: Any = Greatest(F("extra_overlap"), F("annotation_count") + (1 - project.overlap))
    else:
        extra = Value(overlap - project.overlap)
    # One statement: the rule reads the new extra overlap (the column holds the old one).
    return items.update(
        extra_overlap=extra,
        state=item_state_case(overlap=project.overlap, gold_open=True, extra_overlap=extra),
        updated_at=step.now,
    )


def _priority(ids: list[int], step: Step) -> int:
    items = Item.objects.filter(project=step.project, pk__in=_any(ids))
    return items.update(priority=step.params["priority"], updated_at=step.now)


def _delete(ids: list[int], step: Step) -> int:
    """Delete the items with everything that hangs on them. Their annotations leave the
    exports but stay in the audit log: one event per chunk holds them (who, what, when)."""
    project = step.project
    items = list(
        Item.objects.filter(project=project, pk__in=_any(ids)).values_list(
            "pk", "external_id", "gold"
        )
    )
    if not items:
        return 0
    by_item: dict[int, list[dict[str, Any]]] = {pk: [] for pk, _, _ in items}
    for item_id, labeler, labels, version, created in Annotation.objects.filter(
        item_id__in=_any(ids)
    ).values_list("item_id", "labeler_id", "labels", "guideline_version", "created_at"):
        by_item[item_id].append(
            {
                "labeler": labeler,
                "labels": labels,
                "guideline_version": version,
                "created_at": created.isoformat(),
            }
        )
    audit_record(
        actor=step.actor,
        action="items.deleted",
        project=project,
        target=f"{len(items)} items",
        details={
            "bulk": step.bulk_id,
            "items": [
                {"id": pk, "external_id": ext, "gold": gold, "annotations": by_item[pk]}
                for pk, ext, gold in items
            ],
        },
    )
    present = [pk for pk, _, _ in items]
    # Their assignments first, locked: a labeler's submit in flight (it locks its assignment,
    # then its item) finishes before, and none can start on them after.
    list(
        Assignment.objects.select_for_update()
        .filter(item_id__in=_any(present))
        .values_list("pk", flat=True)
    )
    return _rows_delete(Item, {"pk__in": present})


def _rows_delete(model: type[Model], where: dict[str, Any]) -> int:
    """Delete the rows of ``model`` matching ``where`` and, first, every row that points at
    them, found through the models' relations (other apps' tables too, unnamed here), as
    Django's deletion collector would, but in set-based statements that never load a row:
    the collector built an object per item, assignment and annotation (10 s for 3,000
    items, bench/README.md). Cascades follow ``on_delete``: CASCADE deletes, SET_NULL
    clears; no signal receivers are connected to these models."""
    rows = model._base_manager.filter(**where)
    # Leaves first: an annotation (no rows point at it) goes before the assignment it
    # points at, so the assignment's SET_NULL finds nothing left to clear.
    relations = sorted(
        model._meta.related_objects, key=lambda r: len(r.related_model._meta.related_objects)
    )
    for rel in relations:
        if not rel.field.concrete or rel.field.model is not rel.related_model:
            continue
        name = rel.field.name
        pointing = {f"{name}__in": rows.values("pk")}
        if rel.on_delete is CASCADE:
            _rows_delete(rel.related_model, pointing)
        elif rel.on_delete is SET_NULL:
            rel.related_model._base_manager.filter(**pointing).update(**{name: None})
        else:
            raise ProtectedError(
                f"{rel.related_model.__name__}.{name} protects {model.__name__}", set()
            )
    return int(rows._raw_delete(rows.db))


def _erase(ids: list[int], step: Step) -> int:
    todo = Item.objects.filter(project=step.project, pk__in=_any(ids), data_erased_at__isnull=True)
    present = list(todo.values_list("pk", flat=True))
    if not present:
        return 0
    first = todo.aggregate(t=Min("created_at"))["t"]
    step.oldest = first if step.oldest is None else min(step.oldest, first)
    return item_data_erase(project=step.project, ids=present, now=step.now)


_OWN: dict[str, Chunk] = {
    "gold": _gold,
    "ungold": _ungold,
    "requeue": _requeue,
    "priority": _priority,
    "delete": _delete,
    "erase": _erase,
}


def _after(*, project: Project, request: BulkRequest, affected: int) -> None:
    """After the commit: planner statistics when the queue's columns moved for many rows."""
    if request.action in ("gold", "ungold", "requeue", "priority", "delete"):
        item_statistics_refresh(changed=affected)
