"""Reads for similar items: the k items nearest one item in its embedding space.

Runs in web processes (numpy only). With a built index (tasks.models.SimilarityIndex) a
query reads the blobs of the ``SKEIN_SIMILARITY_PROBES`` lists nearest the item (one row per
list) plus the vectors stored since the build, and ranks them exactly; without one (small
projects, or before the first build) it reads every vector of the project. Either way new
items are seen as soon as their vector is stored, deleted items are skipped and erased ones
were cut out of the lists by the erasure hook.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connection

from annotation.models import Item
from tasks import similarity_sql
from tasks.embedding_codec import ITEM_ID_DTYPE, STORED_DTYPE
from tasks.models import ItemEmbedding, SimilarityIndex, SimilarityList
from tasks.vector_search import nearest_lists, top_k

_CENTROIDS: dict[tuple[int, float], npt.NDArray[np.float32]] = {}
_CENTROIDS_LOCK = threading.Lock()
_CENTROIDS_KEPT = 8  # indexes whose centroids a process keeps (4,000 × 384 float32: 6 MB)


class NoEmbedding(Exception):
    """The item has no stored vector yet (the embedding job has not reached it)."""


@dataclass(frozen=True)
class Neighbour:
    item: Item
    similarity: float


@dataclass(frozen=True)
class SimilarResult:
    model_id: str
    neighbours: list[Neighbour]
    candidates: int  # how many vectors were ranked
    indexed: bool  # whether an index limited the read


def _centroids(index: SimilarityIndex) -> npt.NDArray[np.float32]:
    """The index's centroids, read once per build and process."""
    key = (index.pk, index.built_at.timestamp())
    with _CENTROIDS_LOCK:
        cached = _CENTROIDS.get(key)
    if cached is not None:
        return cached
    raw = SimilarityIndex.objects.filter(pk=index.pk).values_list("centroids", flat=True).first()
    matrix = np.frombuffer(bytes(raw or b""), dtype="<f4").reshape(index.n_lists, -1)
    with _CENTROIDS_LOCK:
        if len(_CENTROIDS) >= _CENTROIDS_KEPT:
            _CENTROIDS.pop(next(iter(_CENTROIDS)))
        _CENTROIDS[key] = matrix
    return matrix


def _orm_blobs(
    *, index: SimilarityIndex | None, lists: list[int], project_id: int, model_id: str
) -> similarity_sql.Blobs:
    """The same blob pairs as similarity_sql.candidate_blobs, through the ORM (SQLite)."""
    blobs: similarity_sql.Blobs = []
    if index is not None:
        blobs += list(
            SimilarityList.objects.filter(index=index, list_no__in=lists).values_list(
                "item_ids", "vectors"
            )
        )
    since = ItemEmbedding.objects.filter(
        pk__gt=index.embedding_watermark if index else 0, project_id=project_id, model_id=model_id
    ).values_list("item_id", "vector")
    rows = list(since)
    if rows:
        ids = np.asarray([r[0] for r in rows], dtype=ITEM_ID_DTYPE).tobytes()
        blobs.append((ids, b"".join(bytes(r[1]) for r in rows)))
    return blobs


def candidates(
    *, project_id: int, model_id: str, query: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float16], bool]:
    """(item ids, float16 vectors, whether an index limited the read) of the vectors to
    rank for ``query``: the probed lists' and those stored since the build, or all."""
    index = (
        SimilarityIndex.objects.filter(project_id=project_id, model_id=model_id, n_lists__gt=0)
        .defer("centroids")
        .first()
    )
    lists: list[int] = []
    if index is not None:
        probes = int(settings.SKEIN_SIMILARITY_PROBES)
        lists = [int(n) for n in nearest_lists(query[None, :], _centroids(index), probes=probes)[0]]
    if connection.vendor == "postgresql":
        blobs = similarity_sql.candidate_blobs(
            index_id=index.pk if index else None,
            lists=lists,
            after=index.embedding_watermark if index else 0,
            project_id=project_id,
            model_id=model_id,
        )
    else:
        blobs = _orm_blobs(index=index, lists=lists, project_id=project_id, model_id=model_id)
    pairs = [(bytes(i), bytes(v)) for i, v in blobs if i is not None and v is not None]
    ids = np.frombuffer(b"".join(p[0] for p in pairs), dtype=ITEM_ID_DTYPE).astype(np.int64)
    vectors = np.frombuffer(b"".join(p[1] for p in pairs), dtype=STORED_DTYPE)
    return (
        ids,
        vectors.reshape(len(ids), -1) if len(ids) else vectors.reshape(0, len(query)),
        (index is not None),
    )


def similar_items(*, item: Item, k: int) -> SimilarResult:
    """The ``k`` items of the item's project most similar to it (cosine of their stored
    vectors, most similar first), the item itself left out. Raises NoEmbedding when the
    item has no vector yet."""
    stored = (
        ItemEmbedding.objects.filter(item_id=item.pk)
        .order_by("-id")
        .values_list("model_id", "vector")
        .first()
    )
    if stored is None:
        raise NoEmbedding(item.pk)
    model_id, raw = stored
    query = np.frombuffer(bytes(raw), dtype=STORED_DTYPE).astype(np.float32)
    ids, vectors, indexed = candidates(project_id=item.project_id, model_id=model_id, query=query)
    # A vector both filed and stored after the build (a rebuild racing a write) counts once.
    ids, first = np.unique(ids, return_index=True)
    keep = ids != item.pk
    ids, matrix = ids[keep], vectors[first[keep]].astype(np.float32)
    # Items deleted since the build may still sit in a list: rank a few more than k and
    # keep those that exist, widening if too many are gone.
    want = k + 8
    while True:
        order, sims = top_k(query, matrix, want)
        chosen = [int(i) for i in ids[order]]
        items = Item.objects.in_bulk(chosen)
        if len(items) >= k or want >= len(ids):
            break
        want *= 4
    neighbours = [
        Neighbour(items[i], float(s)) for i, s in zip(chosen, sims, strict=True) if i in items
    ][:k]
    return SimilarResult(model_id, neighbours, len(ids), indexed)
