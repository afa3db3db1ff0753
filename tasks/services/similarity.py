"""The similarity index and near-duplicate groups by embedding: worker-side writes.

``similarity_refresh`` brings one project's index (tasks.models.SimilarityIndex) up to date
with its stored vectors in one model's space:
- below SKEIN_SIMILARITY_INDEX_MIN vectors there are no lists (queries read every vector);
- at that size, or once the vectors outgrow twice the count the lists were built for, the
  lists are rebuilt: spherical k-means on a sample, every vector filed under its nearest
  centroid, one row of blobs per list (tasks.models.SimilarityList);
- otherwise vectors stored since the last run are filed under their nearest centroid, in a
  new row per list they touch (earlier rows are not rewritten).
Each run also looks for near duplicates among the vectors it files (cosine ≥
SKEIN_NEAR_DUPLICATE_COSINE against the others of their list, or of the project without
lists) and joins them into the items' near-duplicate groups (annotation.services.duplicates).

A run locks the project's index row, so two runs of one project go one after the other and
the second finds nothing new. Readers see the old lists until the run commits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max

from annotation.models import Item, Project
from annotation.services.duplicates import duplicate_groups_join
from tasks.embedding_codec import ITEM_ID_DTYPE, STORED_DTYPE
from tasks.models import ItemEmbedding, SimilarityIndex, SimilarityList
from tasks.vector_search import (
    close_pairs,
    kmeans,
    list_count,
    near_duplicate_pairs,
    nearest_lists,
)

logger = logging.getLogger(__name__)

_READ_CHUNK = 20_000
_WRITE_BATCH = 2000


@dataclass(frozen=True)
class RefreshResult:
    rebuilt: bool
    filed: int  # vectors filed by this run
    lists: int
    pairs: int  # near-duplicate pairs found
    seconds: float


def _vectors_since(
    *, project_id: int, model_id: str, after: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float16]]:
    """(embedding ids, item ids, float16 matrix as stored) of the project's vectors stored
    after the embedding id ``after``, read in id order by chunks (float16: a million
    vectors are 768 MB, not 1.5 GB)."""
    emb_ids: list[int] = []
    item_ids: list[int] = []
    blobs: list[bytes] = []
    last = after
    while True:
        rows = list(
            ItemEmbedding.objects.filter(project_id=project_id, model_id=model_id, pk__gt=last)
            .order_by("pk")
            .values_list("pk", "item_id", "vector")[:_READ_CHUNK]
        )
        if not rows:
            break
        for pk, item_id, raw in rows:
            emb_ids.append(pk)
            item_ids.append(item_id)
            blobs.append(bytes(raw))
        last = rows[-1][0]
    dim = len(blobs[0]) // STORED_DTYPE.itemsize if blobs else 0
    matrix = np.frombuffer(b"".join(blobs), dtype=STORED_DTYPE).reshape(len(blobs), dim)
    return np.asarray(emb_ids, dtype=np.int64), np.asarray(item_ids, dtype=np.int64), matrix


def _list_members(
    *, index: SimilarityIndex, lists: Sequence[int], dim: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """(list numbers, item ids, vectors) of the vectors already filed in ``lists``."""
    numbers, ids, blobs = [], [], []
    for list_no, raw_ids, raw_vectors in SimilarityList.objects.filter(
        index=index, list_no__in=list(lists)
    ).values_list("list_no", "item_ids", "vectors"):
        filed = np.frombuffer(bytes(raw_ids), dtype=ITEM_ID_DTYPE).astype(np.int64)
        numbers.append(np.full(len(filed), list_no, dtype=np.int64))
        ids.append(filed)
        blobs.append(bytes(raw_vectors))
    matrix = np.frombuffer(b"".join(blobs), dtype=STORED_DTYPE).reshape(-1, dim)
    empty = np.zeros(0, dtype=np.int64)
    return (
        np.concatenate(numbers) if numbers else empty,
        np.concatenate(ids) if ids else empty,
        matrix.astype(np.float32),
    )


def _lists_write(
    *,
    index: SimilarityIndex,
    lists: npt.NDArray[np.int64],
    item_ids: npt.NDArray[np.int64],
    vectors: npt.NDArray[np.float32] | npt.NDArray[np.float16],
) -> None:
    """File the vectors: one SimilarityList row per list they fall in (binary COPY on
    PostgreSQL, batched inserts elsewhere)."""
    order = np.argsort(lists, kind="stable")
    bounds = np.flatnonzero(np.diff(lists[order])) + 1
    stored = vectors.astype(STORED_DTYPE, copy=False)
    rows = [
        (
            int(lists[members[0]]),
            len(members),
            item_ids[members].astype(ITEM_ID_DTYPE).tobytes(),
            stored[members].tobytes(),
        )
        for members in np.split(order, bounds)
        if len(members)
    ]
    if connection.vendor == "postgresql":
        table = SimilarityList._meta.db_table
        columns = "index_id, list_no, size, item_ids, vectors"
        sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            copy.set_types(["int8", "int4", "int4", "bytea", "bytea"])
            for row in rows:
                copy.write_row((index.pk, *row))
        return
    SimilarityList.objects.bulk_create(
        (
            SimilarityList(index=index, list_no=n, size=size, item_ids=ids, vectors=blob)
            for n, size, ids, blob in rows
        ),
        batch_size=_WRITE_BATCH,
    )


def _join_pairs(*, project_id: int, pairs: npt.NDArray[np.int64]) -> int:
    if len(pairs) == 0:
        return 0
    duplicate_groups_join(project_id=project_id, links=pairs.tolist())
    return len(pairs)


def similarity_refresh(
    *, project_id: int, model_id: str, rebuild: bool = False, seed: int = 0
) -> RefreshResult:
    """Bring the project's similarity index and embedding near-duplicate groups up to date
    with its stored vectors (see the module docstring); ``rebuild`` forces new lists."""
    started = time.perf_counter()
    threshold = float(settings.SKEIN_NEAR_DUPLICATE_COSINE)
    index_min = int(settings.SKEIN_SIMILARITY_INDEX_MIN)
    if not Project.objects.filter(pk=project_id).exists():
        # Deleted since the refresh was queued: nothing to index (not a failure to retry).
        return RefreshResult(False, 0, 0, 0, time.perf_counter() - started)
    SimilarityIndex.objects.get_or_create(
        project_id=project_id,
        model_id=model_id,
        defaults={"n_lists": 0, "centroids": b""},
    )
    with transaction.atomic():
        index = SimilarityIndex.objects.select_for_update().get(
            project_id=project_id, model_id=model_id
        )
        total = ItemEmbedding.objects.filter(project_id=project_id, model_id=model_id).count()
        grown = index.n_lists == 0 or total > 2 * max(index.n_vectors, 1)
        if total >= index_min and (rebuild or grown):
            return _rebuild(index=index, threshold=threshold, seed=seed, started=started)
        emb_ids, item_ids, stored = _vectors_since(
            project_id=project_id, model_id=model_id, after=index.embedding_watermark
        )
        vectors = stored.astype(np.float32)
        if len(emb_ids) == 0:
            return RefreshResult(False, 0, index.n_lists, 0, time.perf_counter() - started)
        if index.n_lists == 0:
            # No lists: the new vectors against every earlier one and each other.
            _, old_items, old_stored = _vectors_since(
                project_id=project_id, model_id=model_id, after=0
            )
            earlier = ~np.isin(old_items, item_ids)
            old_items, old = old_items[earlier], old_stored[earlier].astype(np.float32)
            pairs = [close_pairs(vectors, vectors, threshold, same=True)]
            cross = close_pairs(vectors, old, threshold)
            links = np.concatenate(
                [item_ids[pairs[0]], np.stack([item_ids[cross[:, 0]], old_items[cross[:, 1]]], 1)]
            )
        else:
            centroids = np.frombuffer(bytes(index.centroids), dtype="<f4").reshape(
                index.n_lists, -1
            )
            lists = nearest_lists(vectors, centroids)[:, 0]
            member_lists, member_items, members = _list_members(
                index=index, lists=np.unique(lists).tolist(), dim=vectors.shape[1]
            )
            links_found = [item_ids[near_duplicate_pairs(vectors, lists, threshold)]]
            for list_no in np.unique(lists):
                new_rows = np.flatnonzero(lists == list_no)
                old_rows = np.flatnonzero(member_lists == list_no)
                cross = close_pairs(vectors[new_rows], members[old_rows], threshold)
                links_found.append(
                    np.stack(
                        [item_ids[new_rows[cross[:, 0]]], member_items[old_rows[cross[:, 1]]]], 1
                    )
                )
            links = np.concatenate(links_found)
            _lists_write(index=index, lists=lists, item_ids=item_ids, vectors=vectors)
        n_pairs = _join_pairs(project_id=project_id, pairs=links)
        index.embedding_watermark = int(emb_ids.max())
        index.n_vectors = index.n_vectors + len(emb_ids)
        index.save(update_fields=["embedding_watermark", "n_vectors", "built_at"])
        return RefreshResult(
            False, len(emb_ids), index.n_lists, n_pairs, time.perf_counter() - started
        )


def _rebuild(
    *, index: SimilarityIndex, threshold: float, seed: int, started: float
) -> RefreshResult:
    emb_ids, item_ids, vectors = _vectors_since(
        project_id=index.project_id, model_id=index.model_id, after=0
    )
    n_lists = list_count(len(vectors))
    centroids = kmeans(vectors, n_lists, seed=seed)
    lists = nearest_lists(vectors, centroids)[:, 0]
    pairs = near_duplicate_pairs(vectors, lists, threshold)
    SimilarityList.objects.filter(index=index).delete()
    _lists_write(index=index, lists=lists, item_ids=item_ids, vectors=vectors)
    n_pairs = _join_pairs(project_id=index.project_id, pairs=item_ids[pairs])
    index.n_lists = len(centroids)
    index.centroids = centroids.astype("<f4").tobytes()
    index.n_vectors = len(vectors)
    index.embedding_watermark = int(emb_ids.max()) if len(emb_ids) else 0
    index.build_seconds = time.perf_counter() - started
    index.save()
    logger.info(
        "similarity index of project %s rebuilt: %s vectors in %s lists, %.1f s",
        index.project_id,
        len(vectors),
        index.n_lists,
        index.build_seconds,
    )
    return RefreshResult(True, len(vectors), index.n_lists, n_pairs, index.build_seconds)


def similarity_due() -> list[tuple[int, str]]:
    """(project id, model id) of the indexes that have vectors stored since their last
    run, or none yet: what the periodic tick refreshes."""
    latest = ItemEmbedding.objects.values("project_id", "model_id").annotate(last=Max("id"))
    marks = {
        (p, m): w
        for p, m, w in SimilarityIndex.objects.values_list(
            "project_id", "model_id", "embedding_watermark"
        )
    }
    return [
        (row["project_id"], row["model_id"])
        for row in latest
        if row["last"] > marks.get((row["project_id"], row["model_id"]), 0)
    ]


def similarity_vectors_erase(*, item_ids: Sequence[int]) -> None:
    """Cut the items' filed vectors out of the lists of their projects' indexes (their data
    was erased: a vector is a copy of the text). Registered with the core as a data-erased
    hook. Reads the id blobs only; rewrites just the rows that hold one of the items."""
    erased = np.asarray(sorted({int(i) for i in item_ids}), dtype=np.int64)
    if len(erased) == 0:
        return
    projects = set(Item.objects.filter(pk__in=erased.tolist()).values_list("project_id", flat=True))
    rows = SimilarityList.objects.filter(index__project_id__in=projects).values_list(
        "pk", "item_ids"
    )
    for pk, raw in rows.iterator(chunk_size=500):
        ids = np.frombuffer(bytes(raw), dtype=ITEM_ID_DTYPE)
        keep = ~np.isin(ids.astype(np.int64), erased)
        if keep.all():
            continue
        if not keep.any():
            SimilarityList.objects.filter(pk=pk).delete()
            continue
        blob = SimilarityList.objects.filter(pk=pk).values_list("vectors", flat=True).get()
        vectors = np.frombuffer(bytes(blob), dtype=STORED_DTYPE).reshape(len(ids), -1)
        SimilarityList.objects.filter(pk=pk).update(
            size=int(keep.sum()), item_ids=ids[keep].tobytes(), vectors=vectors[keep].tobytes()
        )
