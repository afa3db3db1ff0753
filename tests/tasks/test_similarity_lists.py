"""The similarity index's storage (one row of blobs per IVF list, tasks.models.SimilarityList)
and its query: exact answers on a hand-made set, recall on a planted clustered set, vectors
stored after the build, deleted and erased items (both databases)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from annotation.models import Item
from annotation.services.retention import item_data_erase_expired
from tasks.embedding_codec import ITEM_ID_DTYPE
from tasks.models import SimilarityList
from tasks.services.embeddings import item_embeddings_write
from tasks.services.similarity import similarity_refresh
from tasks.similarity import similar_items
from tasks.vector_search import list_count

pytestmark = pytest.mark.django_db
SPACE = "test-space"


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _ids(project) -> list[int]:
    return list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True))


def _embed(project, ids: list[int], vectors: np.ndarray) -> None:
    item_embeddings_write(project_id=project.pk, model_id=SPACE, item_ids=ids, vectors=vectors)


def _hand_made() -> np.ndarray:
    """Four groups of ten along four axes of 8 dims; inside a group, member j leans towards
    a fifth axis by j/10, so each item's neighbours in order are known (nearest lean
    first, ties broken by the smaller lean)."""
    rows = []
    for group in range(4):
        for j in range(10):
            row = np.zeros(8)
            row[group] = 1.0
            row[4 + group] = j / 10
            rows.append(row)
    return _unit(np.asarray(rows))


def _filed(project) -> dict[int, int]:
    """item id → list number, as the index's blobs hold them."""
    found: dict[int, int] = {}
    for list_no, raw in SimilarityList.objects.filter(index__project=project).values_list(
        "list_no", "item_ids"
    ):
        for item_id in np.frombuffer(bytes(raw), dtype=ITEM_ID_DTYPE):
            assert int(item_id) not in found  # filed once
            found[int(item_id)] = list_no
    return found


@override_settings(SKEIN_SIMILARITY_INDEX_MIN=20, SKEIN_SIMILARITY_PROBES=1)
def test_the_lists_answer_exactly_on_a_hand_made_set(make_project):
    project = make_project(items=40)
    ids = _ids(project)
    vectors = _hand_made()
    _embed(project, ids, vectors)

    built = similarity_refresh(project_id=project.pk, model_id=SPACE)

    assert built.rebuilt and built.lists == list_count(40)
    filed = _filed(project)
    assert set(filed) == set(ids)
    # Each group is its own region: one probed list (the item's own) holds its mates only
    # when the groups are kept apart, and the answer is their exact order.
    item = Item.objects.get(pk=ids[3])
    with override_settings(SKEIN_SIMILARITY_PROBES=built.lists):  # every list
        found = similar_items(item=item, k=4)
    assert found.indexed
    assert [n.item.pk for n in found.neighbours] == [ids[4], ids[2], ids[5], ids[1]]
    sims = _unit(vectors) @ vectors[3]
    assert [n.similarity for n in found.neighbours] == pytest.approx(
        [sims[4], sims[2], sims[5], sims[1]], abs=2e-3
    )
    # With one probe the answer comes from the item's own list only, still exact within it.
    mates = {i for i, n in filed.items() if n == filed[ids[3]]} - {ids[3]}
    one = similar_items(item=item, k=3)
    assert {n.item.pk for n in one.neighbours} <= mates
    assert one.candidates == len(mates)


@override_settings(SKEIN_SIMILARITY_INDEX_MIN=100, SKEIN_SIMILARITY_PROBES=16)
def test_recall_on_a_planted_clustered_set(make_project):
    rng = np.random.default_rng(11)
    project = make_project(items=600)
    ids = _ids(project)
    centres = rng.normal(size=(30, 48))
    vectors = _unit(centres[rng.integers(0, 30, 600)] + 0.5 * rng.normal(size=(600, 48)))
    _embed(project, ids, vectors)
    built = similarity_refresh(project_id=project.pk, model_id=SPACE)
    assert built.lists == list_count(600)

    hits, read = 0, []
    for row in range(0, 600, 20):
        found = similar_items(item=Item.objects.get(pk=ids[row]), k=10)
        read.append(found.candidates)
        sims = vectors @ vectors[row]
        sims[row] = -2
        truth = {ids[i] for i in np.argsort(-sims)[:10]}
        hits += len({n.item.pk for n in found.neighbours} & truth)
    assert hits / 300 >= 0.9
    assert max(read) < 300  # 16 of the lists, not the 600 vectors


@override_settings(SKEIN_SIMILARITY_INDEX_MIN=20, SKEIN_SIMILARITY_PROBES=list_count(40))
def test_vectors_after_the_build_are_found_then_filed_in_a_new_row(make_project):
    project = make_project(items=45)
    ids = _ids(project)
    vectors = _hand_made()
    _embed(project, ids[:40], vectors)
    similarity_refresh(project_id=project.pk, model_id=SPACE)
    rows_before = SimilarityList.objects.filter(index__project=project).count()

    late = ids[40]
    _embed(project, [late], _unit(vectors[7:8] + 0.001))
    found = similar_items(item=Item.objects.get(pk=ids[7]), k=1)
    assert found.neighbours[0].item.pk == late  # read from the embeddings, not yet filed

    refreshed = similarity_refresh(project_id=project.pk, model_id=SPACE)
    assert not refreshed.rebuilt and refreshed.filed == 1
    assert SimilarityList.objects.filter(index__project=project).count() == rows_before + 1
    assert late in _filed(project)
    again = similar_items(item=Item.objects.get(pk=ids[7]), k=1)
    assert again.neighbours[0].item.pk == late and again.candidates == 40  # counted once
    # The near copy joined its original's near-duplicate group in the incremental run (the
    # hand-made groups' close leans are near duplicates of each other too).
    assert Item.objects.get(pk=ids[7]).duplicate_group is not None
    assert Item.objects.get(pk=late).duplicate_group == Item.objects.get(pk=ids[7]).duplicate_group


@override_settings(SKEIN_SIMILARITY_INDEX_MIN=20, SKEIN_SIMILARITY_PROBES=list_count(40))
def test_deleted_items_are_skipped_and_k_is_still_filled(make_project):
    project = make_project(items=40)
    ids = _ids(project)
    _embed(project, ids, _hand_made())
    similarity_refresh(project_id=project.pk, model_id=SPACE)
    Item.objects.filter(pk__in=[ids[2], ids[4], ids[5]]).delete()

    found = similar_items(item=Item.objects.get(pk=ids[3]), k=4)

    assert [n.item.pk for n in found.neighbours] == [ids[1], ids[6], ids[0], ids[7]]


@override_settings(SKEIN_SIMILARITY_INDEX_MIN=20, SKEIN_SIMILARITY_PROBES=list_count(40))
def test_erased_items_leave_the_lists(make_project):
    project = make_project(items=40, retention_days=30)
    ids = _ids(project)
    _embed(project, ids, _hand_made())
    similarity_refresh(project_id=project.pk, model_id=SPACE)
    old = ids[:5]
    Item.objects.filter(pk__in=old).update(created_at=timezone.now() - timedelta(days=31))

    assert item_data_erase_expired() == {project.pk: 5}

    filed = _filed(project)
    assert set(filed) == set(ids[5:])
    assert SimilarityList.objects.filter(index__project=project).aggregate(n=Sum("size"))["n"] == 35
    found = similar_items(item=Item.objects.get(pk=ids[6]), k=10)
    assert not {n.item.pk for n in found.neighbours} & set(old)
    assert [n.item.pk for n in found.neighbours][:3] == [ids[7], ids[5], ids[8]]
