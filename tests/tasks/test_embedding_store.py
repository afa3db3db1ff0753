"""Stored item embeddings: float16 rows per item and model, written once, read in order,
and erased with the item's data."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from annotation.models import Item
from annotation.services.retention import item_data_erase_expired
from tasks.embedding_codec import vector_bytes, vector_from_bytes
from tasks.models import ItemEmbedding
from tasks.selectors import item_embeddings, items_without_embedding
from tasks.services.embeddings import (
    embedding_text,
    item_embeddings_ensure,
    item_embeddings_write,
    loaded_embedder,
)

pytestmark = pytest.mark.django_db
SPACE = "test-space"


@pytest.fixture(autouse=True)
def _fresh_embedder():
    """Each test loads the embedder its settings name (the loaded one is cached per process)."""
    loaded_embedder.cache_clear()
    yield
    loaded_embedder.cache_clear()


def _unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_codec_keeps_cosines_and_refuses_non_finite_rows():
    rows = _unit_rows(50, 384, 0)
    back = np.stack([vector_from_bytes(vector_bytes(r)) for r in rows])
    assert len(vector_bytes(rows[0])) == 384 * 2
    assert np.max(np.abs(back @ back.T - rows @ rows.T)) < 2e-3
    bad = rows[0].copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        vector_bytes(bad)


def test_rows_come_back_in_the_order_asked_with_a_mask_of_the_missing(make_project):
    project = make_project(items=5)
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    rows = _unit_rows(3, 8, 1)
    item_embeddings_write(project_id=project.pk, model_id=SPACE, item_ids=ids[:3], vectors=rows)

    asked = [ids[4], ids[2], ids[0], ids[3]]
    matrix, present = item_embeddings(item_ids=asked, model_id=SPACE)
    assert present.tolist() == [False, True, True, False]
    assert np.allclose(matrix[1], rows[2], atol=1e-3) and np.allclose(matrix[2], rows[0], atol=1e-3)
    assert not matrix[0].any() and not matrix[3].any()
    assert items_without_embedding(project_id=project.pk, model_id=SPACE, item_ids=asked) == [
        ids[4],
        ids[3],
    ]
    # Another space is another vector: nothing of SPACE shows there.
    assert not item_embeddings(item_ids=asked, model_id="other")[1].any()


def test_a_second_write_of_the_same_items_keeps_the_first_vectors(make_project):
    project = make_project(items=2)
    ids = list(Item.objects.filter(project=project).values_list("id", flat=True))
    first, second = _unit_rows(2, 8, 2), _unit_rows(2, 8, 3)
    item_embeddings_write(project_id=project.pk, model_id=SPACE, item_ids=ids, vectors=first)
    item_embeddings_write(project_id=project.pk, model_id=SPACE, item_ids=ids, vectors=second)
    assert ItemEmbedding.objects.filter(project=project).count() == 2
    matrix, _ = item_embeddings(item_ids=ids, model_id=SPACE)
    assert np.allclose(matrix, first, atol=1e-3)


def test_a_write_with_mismatched_rows_is_refused(make_project):
    project = make_project(items=2)
    ids = list(Item.objects.filter(project=project).values_list("id", flat=True))
    with pytest.raises(ValueError, match="2 item ids"):
        item_embeddings_write(
            project_id=project.pk, model_id=SPACE, item_ids=ids, vectors=_unit_rows(3, 8, 4)
        )
    assert not ItemEmbedding.objects.exists()


def test_erasing_item_data_erases_its_embeddings(make_project):
    project = make_project(items=3, retention_days=30)
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    item_embeddings_write(
        project_id=project.pk, model_id=SPACE, item_ids=ids, vectors=_unit_rows(3, 8, 5)
    )
    Item.objects.filter(pk__in=ids[:2]).update(created_at=timezone.now() - timedelta(days=31))
    assert item_data_erase_expired() == {project.pk: 2}
    assert list(ItemEmbedding.objects.values_list("item_id", flat=True)) == [ids[2]]


def test_embedding_text_is_the_prose_fields_in_key_order():
    data = {
        "title": "A title",
        "body": " Body text ",
        "image": "x.png",
        "n": 3,
        "link": "https://e.org/a",
    }
    assert embedding_text(data) == "Body text\nA title"
    assert embedding_text({}) == ""


@pytest.mark.slow
def test_ensure_embeds_only_the_missing_items_and_stores_them(make_project, settings):
    settings.SKEIN_EMBEDDER = "all-MiniLM-L6-v2-int8"
    project = make_project(items=4)
    ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))
    embedder = loaded_embedder()
    assert embedder is not None
    planted = _unit_rows(1, embedder.dim, 6)
    item_embeddings_write(
        project_id=project.pk, model_id=embedder.model_id, item_ids=ids[:1], vectors=planted
    )
    result = item_embeddings_ensure(project_id=project.pk, item_ids=ids)
    assert result is not None
    model_id, matrix = result
    assert model_id == embedder.model_id
    assert np.allclose(matrix[0], planted[0], atol=1e-3)  # read, not recomputed
    texts = [Item.objects.get(pk=i).data["text"] for i in ids[1:]]
    assert np.allclose(matrix[1:], embedder.embed(texts), atol=2e-3)
    assert ItemEmbedding.objects.filter(project=project, model_id=model_id).count() == 4


def test_a_disabled_embedder_embeds_nothing(make_project, settings):
    settings.SKEIN_EMBEDDER = "none"
    project = make_project(items=2)
    ids = list(Item.objects.filter(project=project).values_list("id", flat=True))
    assert item_embeddings_ensure(project_id=project.pk, item_ids=ids) is None
    assert not ItemEmbedding.objects.exists()
