"""Training, chunked scoring and activation services called in-process (the worker tests run
the same functions through Celery): single- and multi-label, cold start, failure midway."""

from __future__ import annotations

import pytest

from annotation.models import Item
from annotation.services.imports import items_import_records
from annotation.services.queue import annotation_submit, assignment_claim_next
from tasks.models import PoolSeed, ScoreChunk
from tasks.services.cold_start import pool_seed
from tasks.services.lifecycle import model_version_fail
from tasks.services.models import model_version_request
from tasks.services.scoring import model_version_score_chunk, model_version_score_finish
from tasks.services.training import model_version_train
from tests.tasks.helpers import label_some, model_run, sentiment_items


@pytest.fixture
def small_chunks(settings):
    settings.SKEIN_SCORE_CHUNK = 25


def test_a_version_scores_every_open_item_and_replaces_the_active_one(
    small_chunks, make_project, make_user, add_member
):
    project = make_project(retrain_every=10, suggestions="show")
    sentiment_items(project, clear=80, mixed=6)
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 12)
    first = model_run(model_version_request(project=project))
    assert first.state == "active" and first.n_labels == 12 and first.chunks_total == 3
    assert set(first.metrics) >= {"accuracy", "macro_f1", "log_loss", "ece", "n_labels"}
    pool = Item.objects.filter(project=project, annotation_count=0)
    assert not pool.exclude(scored_by_version=1).exists()
    assert pool.filter(priority__gte=1.0).count() == 10  # the next batch: retrain_every items
    top = pool.order_by("-priority").first()
    assert top.predicted_labels[0] in ("pos", "neg") and 0.5 <= top.confidence <= 1.0

    label_some(project, alice, 4)
    second = model_run(model_version_request(project=project))
    first.refresh_from_db()
    assert (second.state, first.state) == ("active", "retired")
    assert second.last_annotation_id > first.last_annotation_id


def test_multi_label_projects_train_one_vs_rest(small_chunks, make_project, make_user, add_member):
    project = make_project(labels=("sport", "tech", "art"), kind="multi_label")
    records, truth = [], {}
    for n in range(60):
        topics = [t for t, on in (("sport", n % 2), ("tech", n % 3 == 0)) if on] or ["art"]
        words = {"sport": "match goal team", "tech": "chip code robot", "art": "paint museum"}
        text = " ".join(words[t] for t in topics) + f" note {n}"
        truth[f"d{n}"] = topics
        records.append(
            {"external_id": f"d{n}", "text": text, **({"gold": topics} if n < 30 else {})}
        )
    items_import_records(project=project, records=records)
    alice = add_member(project, make_user("alice"))
    for _ in range(30):
        claim = assignment_claim_next(project=project, user=alice)
        annotation_submit(
            assignment_id=claim.assignment.pk, user=alice, labels=truth[claim.item.external_id]
        )
    version = model_run(model_version_request(project=project))
    # Trained on the 30 labeled items; the 30 gold answers are not training labels.
    assert version.state == "active" and version.n_labels == 30
    item = Item.objects.get(project=project, external_id="d3")  # gold, sport + tech
    assert isinstance(item.predicted_labels, list)  # gold items are predicted like any
    assert set(item.predicted_labels) <= {"sport", "tech", "art"}


def test_a_failed_run_leaves_the_previous_version_active(
    small_chunks, make_project, make_user, add_member
):
    project = make_project(retrain_every=10)
    sentiment_items(project, clear=60, mixed=2)
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 10)
    first = model_run(model_version_request(project=project))
    second = model_version_request(project=project)
    model_version_train(version_id=second.pk, job_id="t2")
    one = ScoreChunk.objects.filter(version=second).first()
    model_version_score_chunk(chunk_id=one.pk, job_id="c1")
    model_version_fail(version_id=second.pk, error="worker lost")
    later = ScoreChunk.objects.filter(version=second, state="pending").first()
    # A late chunk is a no-op.
    assert model_version_score_chunk(chunk_id=later.pk, job_id="c2") is None
    assert model_version_score_finish(version_id=second.pk) is None
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.state, second.state, second.error) == ("active", "failed", "worker lost")


def test_too_few_labels_fail_with_the_reason(make_project):
    project = make_project(items=5)
    version = model_version_request(project=project)
    from tasks.services.training import NotEnoughLabels

    with pytest.raises(NotEnoughLabels):
        model_version_train(version_id=version.pk, job_id="x")


def test_cold_start_puts_one_diverse_batch_first_once(make_project):
    project = make_project(retrain_every=6)
    sentiment_items(project, clear=40, mixed=4)
    assert pool_seed(project_id=project.pk) == 6
    assert Item.objects.filter(project=project, priority__gte=1.0).count() == 6
    assert PoolSeed.objects.get(project=project).n_picked == 6
    assert pool_seed(project_id=project.pk) == 0  # once


@pytest.mark.parametrize(
    ("mode", "embedder", "expected"),
    [
        ("off", "all-MiniLM-L6-v2-int8", 0),
        ("on", "none", 6),  # on the hashed features
        ("auto", "all-MiniLM-L6-v2-int8", 6),  # the default: on embedding clusters
        ("auto", "none", 0),  # the default without an embedder: the seeded random order
        (False, "none", 0),
        (True, "none", 6),
    ],
)
def test_the_training_check_seeds_the_pool_only_when_asked(
    make_project, settings, mode, embedder, expected
):
    from tasks.services.embeddings import loaded_embedder
    from tasks.services.models import model_version_request_if_due

    settings.SKEIN_DIVERSE_COLD_START = mode
    settings.SKEIN_EMBEDDER = embedder
    loaded_embedder.cache_clear()
    project = make_project(retrain_every=6)
    sentiment_items(project, clear=40, mixed=4)
    model_version_request_if_due(project_id=project.pk)
    seeded = Item.objects.filter(project=project, priority__gte=1.0).count()
    assert seeded == expected
    loaded_embedder.cache_clear()


def test_by_default_a_project_without_text_keeps_the_random_order(make_project, settings):
    settings.SKEIN_DIVERSE_COLD_START = "auto"
    project = make_project(retrain_every=6)
    items_import_records(
        project=project,
        records=[{"external_id": f"d{n}", "pixels": [n % 7, n % 5, n % 3, 1]} for n in range(40)],
    )
    assert pool_seed(project_id=project.pk) == 0
    assert PoolSeed.objects.get(project=project).n_picked == 0  # decided once, not every tick
    assert not Item.objects.filter(project=project, priority__gte=1.0).exists()
