"""The learning loop with text embeddings (issue 12) on a real Celery worker and the real
embedder: training uses the items' vectors (embedding the ones not stored yet, once), scoring
and the batch re-ranking use the same space, and `next` serves the head of that batch; with
the embedder disabled the loop runs on hashed n-grams as before."""

from __future__ import annotations

import random

import pytest

from annotation.models import Item
from annotation.services.queue import annotation_submit, assignment_claim_next
from tasks.learning.embeddings import MiniLMInt8Embedder
from tasks.models import ItemEmbedding, ModelVersion
from tasks.services.artifacts import artifact_load
from tasks.services.embeddings import item_embeddings_ensure, loaded_embedder
from tasks.services.models import model_version_request
from tests.tasks.conftest import wait_for

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


def test_training_scoring_and_next_use_the_embeddings(
    celery_worker, make_project, make_user, add_member, api
):
    celery_worker.restart(env={"SKEIN_EMBEDDING_FEATURES": "1"})
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
    assert version.metrics["embedding_model"] == space
    assert sorted(version.metrics["label_counts"]) == sorted({truth(i) for i in _labeled(project)})
    featurizer = artifact_load(version.artifact.name).featurizer
    assert (featurizer.embedding_model, featurizer.embedding_dim) == (space, 384)
    # the worker embedded (and stored) every item that had no vector, each once
    stored = ItemEmbedding.objects.filter(project=project, model_id=space)
    assert stored.count() == len(ids) == stored.values("item_id").distinct().count()

    pool = Item.objects.filter(project=project, annotation_count=0)
    batch = list(pool.filter(priority__gte=1.0).order_by("-priority"))
    assert len(batch) == 10  # retrain_every 10, overlap 1: 9 model picks + 1 exploration
    bob = add_member(project, make_user("bob"))
    served = api(bob).post(f"/api/v1/projects/{project.pk}/next/")
    assert served.status_code == 200, served.content
    item_id = served.json()["item"]["id"]
    assert item_id == batch[0].pk  # the head of the re-ranked batch
    # the batch spreads over the classes the model predicts, not one pair of them
    predicted = {tuple(i.predicted_labels) for i in batch}
    assert len(predicted) >= 2
    # and the model, on a dozen labels, already tells the topics apart
    right = sum(truth(i) == i.predicted_labels[0] for i in pool)
    assert right / pool.count() >= 0.5  # 4 classes: chance is 0.25


def _labeled(project):
    return Item.objects.filter(project=project, annotation_count__gt=0)


@pytest.mark.parametrize(
    "env",
    [
        {"SKEIN_EMBEDDER": "none", "SKEIN_EMBEDDING_FEATURES": "1"},
        {"SKEIN_EMBEDDING_FEATURES": "0"},
    ],
)
def test_with_the_embedder_disabled_the_loop_runs_on_ngrams(
    celery_worker, make_project, make_user, add_member, api, env
):
    celery_worker.restart(env=env)
    project = make_project(labels=list(TOPICS), retrain_every=1000)
    topic_items(project, per_topic=10)
    alice = add_member(project, make_user("alice"))
    label_next(project, alice, 12)
    model_version_request(project=project)
    version = wait_for(
        lambda: active(project), worker=celery_worker, timeout=120, what="an active model"
    )
    assert version.metrics["embedding_model"] is None and "label_counts" not in version.metrics
    assert artifact_load(version.artifact.name).featurizer.embedding_model is None
    if env.get("SKEIN_EMBEDDER") == "none":
        assert not ItemEmbedding.objects.filter(project=project).exists()
    # (with the embedder on, the import's embedding pass stores vectors; the model still
    # learns from the n-grams alone, as the metrics and the artifact say above)
    bob = add_member(project, make_user("bob"))
    served = api(bob).post(f"/api/v1/projects/{project.pk}/next/")
    assert served.status_code == 200, served.content
    top = Item.objects.filter(project=project, annotation_count=0).order_by("-priority").first()
    assert served.json()["item"]["id"] == top.pk and top.priority >= 1.0
