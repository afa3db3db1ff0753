"""A bulk action (annotation/services/bulk_actions.py) run by a real Celery worker: applied
by the job with its progress, and, with the worker SIGKILLed midway (the writes of its
first chunks done, the transaction not committed), nothing applied until a fresh worker
resumes it and applies it once. Here, not in tests/annotation, for the live worker fixture
(tests/tasks/conftest.py)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache

from annotation.models import Annotation, AuditEvent, BulkAction, Item
from annotation.services import bulk_actions
from tests.tasks.conftest import STALE_SECONDS, wait_for

ITEMS = 30
CHUNK = 10  # the worker's chunk size (SKEIN_BULK_CHUNK): three statements per table
PLAIN = {"SKEIN_BULK_CHUNK": str(CHUNK), "SKEIN_EMBEDDER": "none"}  # no embedding jobs
SLOW = {**PLAIN, "SKEIN_FAULT_SLEEP": "bulk:4"}


def _request(api, manager, project, settings, **body):
    settings.SKEIN_BULK_INLINE_MAX = 5
    response = api(manager).post(f"/api/v1/projects/{project.pk}/items/bulk/", body, format="json")
    assert response.status_code == 202, response.content
    return response.json()["job"]


def _labeled_project(make_project, make_user, add_member):
    """30 items, overlap 1, the first 10 answered."""
    from annotation.services.queue import annotation_submit, assignment_claim_next

    project = make_project(items=ITEMS)
    alice = add_member(project, make_user("alice"))
    for _ in range(10):
        handout = assignment_claim_next(project=project, user=alice)
        annotation_submit(assignment_id=handout.assignment.pk, user=alice, labels=["pos"])
    return project


@pytest.mark.worker_env(PLAIN)
def test_a_worker_applies_a_large_action_and_reports_done(
    celery_worker, api, manager, make_project, make_user, add_member, settings
):
    project = _labeled_project(make_project, make_user, add_member)
    job = _request(api, manager, project, settings, action="requeue", overlap=2, filter={})
    url = f"/api/v1/projects/{project.pk}/items/bulk/{job}/"
    done = wait_for(
        lambda: api(manager).get(url).json()["state"] == "done",
        worker=celery_worker,
        what="the bulk action",
    )
    assert done
    progress = api(manager).get(url).json()
    assert (progress["processed"], progress["affected"], progress["attempts"]) == (30, 30, 1)
    assert Item.objects.filter(project=project, extra_overlap=1, state="open").count() == 30


@pytest.mark.worker_env(SLOW)
def test_a_worker_killed_midway_leaves_nothing_applied_and_a_fresh_one_applies_it_once(
    celery_worker, api, manager, make_project, make_user, add_member, settings
):
    project = _labeled_project(make_project, make_user, add_member)
    before = {
        i.pk: (i.state, i.extra_overlap, i.annotation_count)
        for i in Item.objects.filter(project=project)
    }
    answers = Annotation.objects.filter(project=project).count()
    job = _request(api, manager, project, settings, action="delete", filter={})
    key = bulk_actions.progress_key(job)
    # The worker sleeps 4 s after each chunk: kill it after its first chunk (its deletes
    # written inside the transaction, not committed).
    wait_for(lambda: (cache.get(key) or 0) >= CHUNK, worker=celery_worker, what="a chunk")
    celery_worker.kill()

    action = BulkAction.objects.get(pk=job)
    assert (action.state, action.attempts) == ("running", 1)
    assert Item.objects.filter(project=project).count() == ITEMS  # not one item deleted
    assert Annotation.objects.filter(project=project).count() == answers
    assert {
        i.pk: (i.state, i.extra_overlap, i.annotation_count)
        for i in Item.objects.filter(project=project)
    } == before
    assert not AuditEvent.objects.filter(action__in=["items.deleted", "items.bulk_delete"]).exists()

    time.sleep(STALE_SECONDS + 0.5)  # the dead run's heartbeat goes stale
    celery_worker.start(PLAIN)  # its start queues the tick
    wait_for(
        lambda: BulkAction.objects.get(pk=job).state == "done",
        worker=celery_worker,
        what="the action to be resumed",
    )
    action.refresh_from_db()
    assert (action.attempts, action.affected) == (2, ITEMS)
    assert not Item.objects.filter(project=project).exists()
    assert not Annotation.objects.filter(project=project).exists()
    assert AuditEvent.objects.filter(action="items.bulk_delete").count() == 1
    logged = AuditEvent.objects.filter(action="items.deleted")
    assert sum(len(e.details["items"]) for e in logged) == ITEMS  # once each, in 3 chunks
    assert logged.count() == 3
