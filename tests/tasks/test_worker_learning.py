"""The learning loop on a real Celery worker process: train, score, serve; survive SIGKILL."""

from __future__ import annotations

import statistics
import time

from annotation.models import Item
from annotation.services.queue import assignment_claim_next
from tasks.models import ModelVersion, ScoreChunk
from tasks.services.models import model_version_request
from tests.tasks.conftest import STALE_SECONDS, wait_for
from tests.tasks.helpers import label_some, sentiment_items


def _active(project):
    return ModelVersion.objects.filter(project=project, state="active").first()


def test_labels_train_a_model_that_puts_the_most_uncertain_item_first(
    celery_worker, make_project, make_user, add_member
):
    project = make_project(retrain_every=10, suggestions="show")
    sentiment_items(project, clear=100, mixed=8)
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 14)  # enough: submits themselves trigger the training check

    version = wait_for(lambda: _active(project), worker=celery_worker, what="an active model")
    assert version.trigger == "auto"
    assert version.n_labels >= 10
    assert version.metrics["accuracy"] is not None and version.metrics["log_loss"] is not None
    assert {"macro_f1", "ece", "folds"} <= set(version.metrics)
    assert version.chunks_done == version.chunks_total >= 3  # 94 open items, chunks of 40
    pool = Item.objects.filter(project=project, annotation_count=0)
    assert not pool.exclude(scored_by_version=version.version).exists()

    bob = add_member(project, make_user("bob"))
    claim = assignment_claim_next(project=project, user=bob)
    top = pool.order_by("-priority").first()
    assert claim.item.pk == top.pk and claim.item.priority >= 1.0  # head of the new batch
    confidences = sorted(pool.values_list("confidence", flat=True))
    assert claim.item.confidence <= statistics.quantiles(confidences, n=4)[0]
    assert claim.suggestion["model_version"] == version.version
    assert claim.suggestion["labels"][0] in ("pos", "neg")


def test_a_worker_killed_mid_scoring_leaves_the_old_model_serving_and_the_run_recovers(
    celery_worker, make_project, make_user, add_member
):
    project = make_project(retrain_every=1000)
    sentiment_items(project, clear=100, mixed=6)
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 12)
    first = model_version_request(project=project)
    wait_for(lambda: _active(project), worker=celery_worker, what="model v1")

    celery_worker.restart(env={"SKEIN_FAULT_SLEEP": "score:120"})
    label_some(project, alice, 4)
    second = model_version_request(project=project)
    running = wait_for(
        lambda: ScoreChunk.objects.filter(version=second, state="running").first(),
        worker=celery_worker,
        what="a scoring chunk to start",
    )
    celery_worker.kill()

    second.refresh_from_db()
    assert second.state == "scoring"
    assert _active(project).pk == first.pk  # the previous model keeps serving
    bob = add_member(project, make_user("bob"))
    claim = assignment_claim_next(project=project, user=bob)
    assert claim is not None

    time.sleep(STALE_SECONDS + 0.5)  # the dead job's heartbeat goes stale
    celery_worker.start()  # a fresh worker's first tick recovers the run
    wait_for(
        lambda: _active(project).pk == second.pk,
        worker=celery_worker,
        timeout=60,
        what="v2 to recover and become active",
    )
    second.refresh_from_db()
    running.refresh_from_db()
    assert running.state == "done" and running.attempts >= 2
    assert "stopped responding" in second.error or "lost" in second.error
    first.refresh_from_db()
    assert first.state == "retired"
    assert (
        not Item.objects.filter(project=project, annotation_count=0)
        .exclude(scored_by_version=second.version)
        .exists()
    )
