"""The batch step (model_version_score_finish) by default: the classifier learns from the
n-grams alone, and the next batch's density and diversity are measured between the items'
stored embeddings when there are any; without them (embedder off, or a vector neither stored
nor computable) it falls back to the model's own features, as before issue 12.

A small fake embedder (registered like any other, by configuration) gives every "twin" item
the same vector: twins differ in words but mean the same, so a batch drawn in the
embedding space takes one of them, while the n-grams see them as different items."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

import numpy as np
import pytest

from annotation.models import Item
from annotation.services.imports import items_import_records
from tasks.learning import embeddings as learning_embeddings
from tasks.models import ItemEmbedding, ModelVersion, ScoreChunk
from tasks.services.artifacts import artifact_load
from tasks.services.embeddings import item_embeddings_write, loaded_embedder
from tasks.services.models import model_version_request
from tasks.services.scoring import model_version_score_chunk, model_version_score_finish
from tasks.services.text_features import selection_vectors
from tasks.services.training import model_version_train
from tests.tasks.helpers import NEGATIVE, POSITIVE, label_some, model_run, sentiment_items

TWINS = 12


class TwinEmbedder:
    """Texts with "twin" map to one vector; any other text to its own (hash-seeded)."""

    model_id = "test-twins-v1"
    dim = 16

    def __init__(self, threads: int = 1) -> None:
        self.calls: list[int] = []

    def embed(self, texts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        self.calls.append(len(texts))
        rows = []
        for text in texts:
            key = "twin" if "twin" in text else text
            seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
            row = np.random.default_rng(seed).normal(size=self.dim)
            rows.append(row / np.linalg.norm(row))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)


@pytest.fixture
def twin_embedder(settings, monkeypatch):
    monkeypatch.setitem(learning_embeddings.EMBEDDERS, "test-twins", TwinEmbedder)
    settings.SKEIN_EMBEDDER = "test-twins"
    settings.SKEIN_SCORE_CHUNK = 25
    loaded_embedder.cache_clear()
    yield
    loaded_embedder.cache_clear()


def _twin_project(make_project, make_user, add_member):
    project = make_project(retrain_every=10)
    sentiment_items(project, clear=60, mixed=0)
    rng = random.Random(5)
    items_import_records(
        project=project,
        records=[
            {
                "external_id": f"twin{n}",
                "text": " ".join(
                    ["twin", *rng.sample(POSITIVE, 2), *rng.sample(NEGATIVE, 2), f"w{n}"]
                ),
            }
            for n in range(TWINS)
        ],
    )
    alice = add_member(project, make_user("alice"))
    label_some(project, alice, 12)
    model_run(model_version_request(project=project))  # a first model: the queue has one
    return project


def _scored_not_finished(project) -> ModelVersion:
    """A second version trained and scored; the twins made the most uncertain items."""
    version = model_version_request(project=project)
    model_version_train(version_id=version.pk, job_id="t")
    for chunk in ScoreChunk.objects.filter(version=version):
        model_version_score_chunk(chunk_id=chunk.pk, job_id=f"c{chunk.pk}")
    pool = Item.objects.filter(project=project, annotation_count=0)
    pool.update(priority=0.3)
    pool.filter(external_id__startswith="twin").update(priority=0.9)
    version.refresh_from_db()
    return version


def _twins_in_batch(project) -> int:
    batch = Item.objects.filter(project=project, annotation_count=0, priority__gte=1.0)
    assert batch.count() == 10
    return batch.filter(external_id__startswith="twin").count()


def test_the_batch_is_drawn_apart_in_the_embedding_space(
    twin_embedder, make_project, make_user, add_member
):
    project = _twin_project(make_project, make_user, add_member)
    version = _scored_not_finished(project)
    featurizer = artifact_load(version.artifact.name).featurizer
    assert featurizer.embedding_model is None  # the classifier: n-grams only (the default)
    assert "label_counts" in version.metrics  # class-aware batches, embeddings or not

    model_version_score_finish(version_id=version.pk)
    version.refresh_from_db()
    assert version.state == "active" and version.metrics["batch_space"] == "test-twins-v1"
    # the twelve twins were the top candidates, and mean the same: the batch takes one
    # (an exploration slot may draw one more at random), and the rest goes to other items
    assert _twins_in_batch(project) <= 2
    # candidates without a stored vector were embedded by the batch step and stored
    assert ItemEmbedding.objects.filter(project=project, model_id="test-twins-v1").count() >= 50


def test_without_vectors_the_batch_step_measures_the_features(
    make_project, make_user, add_member, settings
):
    settings.SKEIN_EMBEDDER = "none"
    settings.SKEIN_SCORE_CHUNK = 25
    loaded_embedder.cache_clear()
    project = _twin_project(make_project, make_user, add_member)
    version = _scored_not_finished(project)

    model_version_score_finish(version_id=version.pk)
    version.refresh_from_db()
    assert version.state == "active" and version.metrics["batch_space"] is None
    # the twins' words differ: on the n-grams several of them make the batch
    assert _twins_in_batch(project) >= 3
    assert not ItemEmbedding.objects.filter(project=project).exists()


def test_selection_vectors_present_computed_and_absent(
    twin_embedder, make_project, settings, monkeypatch
):
    project = make_project(items=6)
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    vectors = TwinEmbedder().embed([f"item number {n}" for n in range(6)])
    item_embeddings_write(
        project_id=project.pk, model_id="test-twins-v1", item_ids=ids[:3], vectors=vectors[:3]
    )
    from tasks.learning import fit_featurizer

    featurizer = fit_featurizer([[{"text": "item number 1"}, {"text": "item number 2"}]])
    # stored rows read, the missing ones embedded (the configured embedder) and stored
    space, matrix = selection_vectors(project_id=project.pk, item_ids=ids, featurizer=featurizer)
    assert space == "test-twins-v1" and matrix.shape == (6, 16)
    assert np.allclose(matrix, vectors, atol=1e-3)  # float16 storage
    assert ItemEmbedding.objects.filter(project=project).count() == 6

    # a version with a block in another space (the setting changed): a row that is neither
    # stored nor computable means no selection vectors (the batch step uses the features)
    featurizer.use_embeddings("old-space", 16)
    assert selection_vectors(project_id=project.pk, item_ids=ids, featurizer=featurizer) is None
    item_embeddings_write(
        project_id=project.pk, model_id="old-space", item_ids=ids, vectors=vectors
    )
    space, _ = selection_vectors(project_id=project.pk, item_ids=ids, featurizer=featurizer)
    assert space == "old-space"  # all stored: the version's own space

    # no text: nothing to embed
    pixels = fit_featurizer([[{"pixels": [0, 1, 2, 3]}, {"pixels": [3, 2, 1, 0]}]])
    assert selection_vectors(project_id=project.pk, item_ids=ids, featurizer=pixels) is None
    # the embedder off
    settings.SKEIN_EMBEDDER = "none"
    loaded_embedder.cache_clear()
    plain = fit_featurizer([[{"text": "item number 1"}, {"text": "item number 2"}]])
    assert selection_vectors(project_id=project.pk, item_ids=ids, featurizer=plain) is None
