"""Learning-loop services on the real database (no worker): what trains, when, and recovery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.errors import Conflict
from annotation.models import Annotation, Item
from annotation.services.items import item_gold_set
from annotation.services.queue import annotation_submit, assignment_claim_next
from tasks import selectors
from tasks.models import ModelVersion, ScoreChunk
from tasks.services.lifecycle import MAX_ATTEMPTS
from tasks.services.models import jobs_reap, model_version_request, model_version_request_if_due
from tasks.services.training import training_set
from tasks.triggers import check_every


def _label(project, user, labels_for):
    claim = assignment_claim_next(project=project, user=user)
    annotation_submit(assignment_id=claim.assignment.pk, user=user, labels=labels_for(claim.item))
    return claim.item


def test_training_set_is_the_consensus_of_counted_annotations_without_gold(
    make_project, make_user, add_member, manager
):
    project = make_project(items=3, overlap=3)
    users = [add_member(project, make_user(f"u{n}")) for n in range(3)]
    for user, answer in zip(users, ("pos", "pos", "neg"), strict=True):
        for _ in range(3):
            _label(project, user, lambda item, a=answer: [a])
    # A gold item trains nothing, by its gold answer or by labelers' answers: the model's
    # suggestion on it must be no surer than on any item (see quality/test_gold_*).
    i2 = Item.objects.get(project=project, external_id="i2")
    item_gold_set(project=project, item_id=i2.pk, actor=manager, gold=["neg"])
    # A non-qualified labeler's answers do not count, even when they would flip the vote.
    Annotation.objects.filter(labeler=users[1], item__external_id="i1").update(is_counted=False)
    result = training_set(project=project)
    by_ext = dict(
        zip(
            Item.objects.filter(pk__in=result.item_ids)
            .order_by("id")
            .values_list("external_id", flat=True),
            result.labels,
            strict=True,
        )
    )
    assert by_ext == {"i0": "pos"}  # i1: a pos/neg tie gives no label; i2 is gold
    assert result.last_annotation_id == Annotation.objects.latest("id").pk
    assert result.aggregation == "majority"


def test_training_is_due_after_retrain_every_new_labels_unless_stopped(
    make_project, make_user, add_member
):
    project = make_project(items=30, retrain_every=5)
    alice = add_member(project, make_user("alice"))
    for _ in range(4):
        _label(project, alice, lambda item: ["pos"])
    assert model_version_request_if_due(project_id=project.pk) is None
    _label(project, alice, lambda item: ["neg"])
    project.training_enabled = False
    project.save()
    assert model_version_request_if_due(project_id=project.pk) is None
    project.training_enabled = True
    project.save()
    version = model_version_request_if_due(project_id=project.pk)
    assert version is not None and version.trigger == "auto" and version.state == "queued"
    assert model_version_request_if_due(project_id=project.pk) is None  # one run at a time
    with pytest.raises(Conflict):
        model_version_request(project=project)
    ModelVersion.objects.filter(pk=version.pk).update(
        state="active",
        last_annotation_id=(Annotation.objects.latest("id").pk),
        trained_at=timezone.now(),
    )
    assert selectors.labels_since_last_model(project=project) == 0
    assert not selectors.training_due(project=project)
    project.strategy = "entropy"  # a changed strategy is served by a model trained for it
    project.save()
    assert selectors.training_due(project=project)


def test_the_database_allows_one_running_version_per_project(make_project):
    project = make_project()
    ModelVersion.objects.create(project=project, version=1, state="training")
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.create(project=project, version=2, state="queued")


def test_reaper_retries_a_dead_training_then_gives_up_keeping_the_active_model(make_project):
    project = make_project(items=5)
    active = ModelVersion.objects.create(project=project, version=1, state="active")
    old = timezone.now() - timedelta(hours=1)
    lost = ModelVersion.objects.create(
        project=project, version=2, state="training", attempts=1, heartbeat_at=old, job_id="dead"
    )
    assert jobs_reap()["train"] == 1
    lost.refresh_from_db()
    assert lost.state == "queued" and "stopped responding" in lost.error
    ModelVersion.objects.filter(pk=lost.pk).update(
        state="training", attempts=MAX_ATTEMPTS, heartbeat_at=old
    )
    assert jobs_reap()["failed"] == 1
    lost.refresh_from_db()
    active.refresh_from_db()
    assert lost.state == "failed" and f"{MAX_ATTEMPTS} attempts" in lost.error
    assert active.state == "active"


def test_reaper_requeues_chunks_of_a_dead_scoring_worker(make_project):
    project = make_project(items=5)
    old = timezone.now() - timedelta(hours=1)
    version = ModelVersion.objects.create(
        project=project, version=1, state="scoring", chunks_total=2, heartbeat_at=old
    )
    dead = ScoreChunk.objects.create(
        version=version,
        index=0,
        first_item_id=1,
        last_item_id=2,
        state="running",
        attempts=1,
        heartbeat_at=old,
    )
    ScoreChunk.objects.create(version=version, index=1, first_item_id=3, last_item_id=4)
    assert jobs_reap()["chunks"] == 2
    dead.refresh_from_db()
    assert dead.state == "pending" and "stopped responding" in dead.error


def test_submits_queue_a_check_only_every_few_annotations():
    assert check_every(50) == 10 and check_every(10) == 2 and check_every(3) == 1
    assert check_every(100_000) == 20


def test_a_run_the_broker_never_got_is_sent_again_by_the_next_tick(make_project):
    project = make_project(items=5)
    unsent = ModelVersion.objects.create(
        project=project,
        version=1,
        state="queued",
        heartbeat_at=None,
        error="The job queue is unreachable",
    )
    assert jobs_reap()["train"] == 1
    unsent.refresh_from_db()
    assert unsent.state == "queued" and unsent.heartbeat_at is not None
