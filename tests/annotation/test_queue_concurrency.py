"""The queue under concurrency: 16 labelers in 16 threads, each with its own database
connection, loop next -> submit through the queue services (what the API views call)
until the queue is empty.

On PostgreSQL the pick is ``FOR UPDATE SKIP LOCKED``; on SQLite IMMEDIATE transactions
serialise the writers (fewer items there, the same assertions)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
from django.db import connection, connections

from annotation.models import Annotation, Assignment, Item
from annotation.services.exports import export_records
from annotation.services.imports import items_import_records
from annotation.services.projects import member_set, project_create
from annotation.services.queue import annotation_submit, assignment_claim_next

THREADS = 16
OVERLAP = 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_concurrent_labelers_fill_every_slot_exactly(make_user, manager):
    n_items = 2000 if connection.vendor == "postgresql" else 400
    project = project_create(
        creator=manager,
        name="race",
        labels=[{"name": "pos"}, {"name": "neg"}],
        overlap=OVERLAP,
        training_enabled=False,
    )  # the queue alone
    items_import_records(
        project=project,
        records=[{"external_id": f"e{n}", "text": f"item {n}"} for n in range(n_items)],
    )
    labelers = [make_user(f"lab{n}") for n in range(THREADS)]
    for user in labelers:
        member_set(project=project, actor=manager, username=user.username, role="labeler")

    accepted: list[tuple[str, str, str]] = []  # (external_id, username, label)
    problems: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)
    deadline = time.monotonic() + 600  # a guard against a hang, far above the ~30 s it takes

    def work(user) -> None:
        mine: list[tuple[str, str, str]] = []
        try:
            barrier.wait()
            n = 0
            while time.monotonic() < deadline:
                claim = assignment_claim_next(project=project, user=user)
                if claim is None:  # the API's 204
                    break
                label = "pos" if n % 3 else "neg"
                n += 1
                annotation, created = annotation_submit(
                    assignment_id=claim.assignment.pk,
                    user=user,
                    labels=[label],
                    client_id=f"{user.pk}-{n}",
                )
                if not created:  # the API's 200 (a repeat); here every submit is new
                    problems.append(f"submit not created: {annotation.pk}")
                    break
                mine.append((claim.item.external_id, user.username, label))
        except Exception as exc:  # reported below with the thread's user
            problems.append(f"{user.username}: {exc!r}")
        finally:
            with lock:
                accepted.extend(mine)
            connections.close_all()

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(user,)) for user in labelers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started

    assert not problems, problems[:5]
    assert time.monotonic() < deadline, "the labelers did not finish"
    # Every item has exactly `overlap` annotations and is complete; no lease is left over.
    assert len(accepted) == n_items * OVERLAP
    counts = Counter(ext for ext, _, _ in accepted)
    assert set(counts.values()) == {OVERLAP} and len(counts) == n_items
    per_item = Counter(
        Annotation.objects.filter(project=project).values_list("item__external_id", flat=True)
    )
    assert per_item == counts
    assert set(
        Item.objects.filter(project=project).values_list("state", "annotation_count", "lease_count")
    ) == {("complete", OVERLAP, 0)}
    assert not Assignment.objects.filter(project=project, state="active").exists()
    # No labeler annotated an item twice.
    pairs = Counter((ext, who) for ext, who, _ in accepted)
    assert max(pairs.values()) == 1
    # The work was shared. With SKIP LOCKED nobody waits, so every labeler got some; SQLite
    # serialises writers and its busy handler backs off, so a thread can be starved there.
    workers = len({who for _, who, _ in accepted})
    assert workers == THREADS if connection.vendor == "postgresql" else workers > THREADS // 2
    # Every accepted submit is in the export, exactly as sent.
    exported = {
        (record["external_id"], a["annotator"], a["labels"][0])
        for record in export_records(project=project, aggregate=None)
        for a in record["annotations"]
    }
    assert exported == set(accepted)
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "items": n_items,
                "submits": len(accepted),
                "seconds": round(elapsed, 1),
            }
        )
    )
