"""The learning loop with text embeddings (issue 12) on a real Celery worker and the real
embedder. By default: the import's embedding job stores every item's vector, the pass's end
seeds the cold start on clusters of them, the classifier learns from the hashed n-grams,
and the batch step re-ranks the most uncertain candidates by density and diversity between
their embeddings; `next` serves the head of that batch. With SKEIN_EMBEDDING_FEATURES the
classifier also learns from the vectors (embedding the ones not stored yet, once); with the
embedder disabled the loop runs on hashed n-grams alone, as before."""

from __future__ import annotations

import random

import numpy as np
import pytest

from annotation.models import Item
from annotation.services.queue import annotation_submit, assignment_claim_next
from tasks.learning import candidate_count, score_chunk
from tasks.learning.embeddings import MiniLMInt8Embedder
from tasks.models import ItemEmbedding, ModelVersion, PoolSeed
from tasks.services.artifacts import artifact_load
from tasks.services.embeddings import item_embeddings_ensure, loaded_embedder
from tasks.services.images import featurize
from tasks.services.models import model_version_request
from tests.tasks.conftest import WITH_EMBEDDER, wait_for

pytestmark = pytest.mark.slow

TOPICS = {
    "sport": ["striker", "goal", "referee", "league", "match", "coach", "stadium", "penalty"],
    "food": ["recipe", "oven", "garlic", "bake", "sauce", "flour", "simmer", "chef"],
    "tech": ["laptop", "software", "processor", "update", "battery", "server", "app", "chip"],
    "music": ["guitar", "album", "concert", "singer", "chorus", "band", "melody", "drummer"],
}
FILLER = ["the", "a", "today", "again", "really", "new", "our", "after", "was", "with"]


def topic_items(project, per_topic: int) -> None:
    from annotation.services.imports import items_import_records

    rng = random.Random(3)
    records = []
    for topic, words in TOPICS.items():
        for n in range(per_topic):
            text = " ".join(rng.sample(words, 3) + rng.sample(FILLER, 3))
            records.append({"external_id": f"{topic}{n}", "text": text})
    rng.shuffle(records)
    items_import_records(project=project, records=records)


def truth(item: Item) -> str:
    return item.external_id.rstrip("0123456789")


def label_next(project, user, n: int) -> None:
    for _ in range(n):
        claim = assignment_claim_next(project=project, user=user)
        assert claim is not None
        annotation_submit(assignment_id=claim.assignment.pk, user=user, labels=[truth(claim.item)])


def active(project):
    return ModelVersion.objects.filter(project=project, state="active").first()


@pytest.mark.worker_env(WITH_EMBEDDER)
def test_by_default_the_embeddings_choose_the_batch_and_the_ngrams_classify(
    celery_worker, make_project, make_user, add_member, api
):
    project = make_project(labels=list(TOPICS), retrain_every=10, suggestions="show")
    topic_items(project, per_topic=40)
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    space = MiniLMInt8Embedder.model_id
    stored = ItemEmbedding.objects.filter(project=project, model_id=space)
    # the import's embedding job stores every vector; the pass's end seeds the cold start
    wait_for(lambda: stored.count() == len(ids), worker=celery_worker, timeout=180, what="vectors")
    seed = wait_for(
        lambda: PoolSeed.objects.filter(project=project).first(),
        worker=celery_worker,
        what="the cold start",
    )
    assert seed.n_picked == 10
    cold = list(
        Item.objects.filter(project=project, priority__gte=1.0).values_list("id", flat=True)
    )
    assert len(cold) == 10
    alice = add_member(project, make_user("alice"))
    first = assignment_claim_next(project=project, user=alice)
    assert first.item.pk in cold  # the cold-start batch is served first
    annotation_submit(assignment_id=first.assignment.pk, user=alice, labels=[truth(first.item)])
    label_next(project, alice, 11)  # the submits ask for the training themselves
    version = wait_for(
        lambda: active(project), worker=celery_worker, timeout=180, what="an active model"
    )

    # the classifier learned from the n-grams; the batch was re-ranked between embeddings
    assert version.metrics["embedding_model"] is None
    assert version.metrics["batch_space"] == space
    assert sorted(version.metrics["label_counts"]) == sorted({truth(i) for i in _labeled(project)})
    artifact = artifact_load(version.artifact.name)
    assert artifact.featurizer.embedding_model is None
    assert stored.count() == stored.values("item_id").distinct().count() == len(ids)  # once

    head = _next_serves_the_head_of_a_batch_over_classes(project, make_user, add_member, api)
    # it was one of the most uncertain items (a candidate of the re-ranking), by the model
    unlabeled = list(Item.objects.filter(project=project, annotation_count=0).order_by("id"))
    X = featurize(artifact.featurizer, [i.data for i in unlabeled], project_id=project.pk)
    scores = score_chunk(artifact.model, X, artifact.strategy, 0).priority
    rank = {i.pk: r for r, i in enumerate(np.array(unlabeled)[np.argsort(-scores)])}
    assert rank[head] < candidate_count(10) < len(unlabeled)


def _next_serves_the_head_of_a_batch_over_classes(project, make_user, add_member, api) -> int:
    """`next` serves the head of the re-ranked batch, which spreads over the classes the
    model predicts (not one pair of them); the model tells the topics apart. Its id."""
    pool = Item.objects.filter(project=project, annotation_count=0)
    batch = list(pool.filter(priority__gte=1.0).order_by("-priority"))
    assert len(batch) == 10  # retrain_every 10, overlap 1: 9 model picks + 1 exploration
    bob = add_member(project, make_user("bob"))
    served = api(bob).post(f"/api/v1/projects/{project.pk}/next/")
    assert served.status_code == 200, served.content
    assert served.json()["item"]["id"] == batch[0].pk
    assert len({tuple(i.predicted_labels) for i in batch}) >= 2
    right = sum(truth(i) == i.predicted_labels[0] for i in pool)
    assert right / pool.count() >= 0.5  # 4 classes: chance is 0.25
    return batch[0].pk


def test_with_embedding_features_training_scoring_and_next_use_the_embeddings(
    celery_worker, make_project, make_user, add_member, api
):
    celery_worker.restart(env={**WITH_EMBEDDER, "SKEIN_EMBEDDING_FEATURES": "1"})
    project = make_project(labels=list(TOPICS), retrain_every=10, suggestions="show")
    topic_items(project, per_topic=20)
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    loaded_embedder.cache_clear()
    item_embeddings_ensure(project_id=project.pk, item_ids=ids[:40])  # half embedded before
    alice = add_member(project, make_user("alice"))
    label_next(project, alice, 12)  # the submits ask for the training themselves
    version = wait_for(
        lambda: active(project), worker=celery_worker, timeout=180, what="an active model"
    )

    space = MiniLMInt8Embedder.model_id
    assert version.metrics["embedding_model"] == version.metrics["batch_space"] == space
    assert sorted(version.metrics["label_counts"]) == sorted({truth(i) for i in _labeled(project)})
    featurizer = artifact_load(version.artifact.name).featurizer
    assert (featurizer.embedding_model, featurizer.embedding_dim) == (space, 384)
    # the worker embedded (and stored) every item that had no vector, each once
    stored = ItemEmbedding.objects.filter(project=project, model_id=space)
    assert stored.count() == len(ids) == stored.values("item_id").distinct().count()

    _next_serves_the_head_of_a_batch_over_classes(project, make_user, add_member, api)


def _labeled(project):
    return Item.objects.filter(project=project, annotation_count__gt=0)


@pytest.mark.worker_env({"SKEIN_EMBEDDER": "none", "SKEIN_EMBEDDING_FEATURES": "1"})
def test_with_the_embedder_disabled_the_loop_runs_on_ngrams(
    celery_worker, make_project, make_user, add_member, api, settings
):
    settings.SKEIN_EMBEDDER = "none"
    project = make_project(labels=list(TOPICS), retrain_every=1000)
    topic_items(project, per_topic=10)
    alice = add_member(project, make_user("alice"))
    label_next(project, alice, 12)
    model_version_request(project=project)
    version = wait_for(
        lambda: active(project), worker=celery_worker, timeout=120, what="an active model"
    )
    metrics = version.metrics
    assert metrics["embedding_model"] is None and metrics["batch_space"] is None
    assert sorted(metrics["label_counts"]) == sorted({truth(i) for i in _labeled(project)})
    assert artifact_load(version.artifact.name).featurizer.embedding_model is None
    assert not ItemEmbedding.objects.filter(project=project).exists()
    assert not PoolSeed.objects.filter(project=project, n_picked__gt=0).exists()  # random order
    bob = add_member(project, make_user("bob"))
    served = api(bob).post(f"/api/v1/projects/{project.pk}/next/")
    assert served.status_code == 200, served.content
    top = Item.objects.filter(project=project, annotation_count=0).order_by("-priority").first()
    assert served.json()["item"]["id"] == top.pk and top.priority >= 1.0
