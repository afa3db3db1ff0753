"""Reads for similar items: the k items nearest one item in its embedding space.

Runs in web processes (numpy only). With a built index (tasks.models.SimilarityIndex) a
query reads the rows of the ``SKEIN_SIMILARITY_PROBES`` lists nearest the item plus the
vectors stored since the build, and ranks them exactly; without one (small projects, or
before the first build) it reads every vector of the project. Either way deleted items are
gone (their entries cascade) and new ones are seen as soon as their vector is stored.
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
from tasks.embedding_codec import STORED_DTYPE
from tasks.models import ItemEmbedding, SimilarityEntry, SimilarityIndex
from tasks.vector_search import nearest_lists, top_k

Vector = bytes | memoryview  # a stored vector as the driver returns it

_CENTROIDS: dict[tuple[int, float], npt.NDArray[np.float32]] = {}
_CENTROIDS_LOCK = threading.Lock()
_CENTROIDS_KEPT = 8  # indexes whose centroids a process keeps (2,000 × 384 float32: 3 MB)


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


def _candidates(
    *, project_id: int, model_id: str, query: npt.NDArray[np.float32]
) -> tuple[list[tuple[int, Vector]], bool]:
    index = (
        SimilarityIndex.objects.filter(project_id=project_id, model_id=model_id)
        .defer("centroids")
        .first()
    )
    rows: list[tuple[int, Vector]] = []
    if index is None or index.n_lists == 0:
        rows += ItemEmbedding.objects.filter(project_id=project_id, model_id=model_id).values_list(
            "item_id", "vector"
        )
        return rows, False
    probes = int(settings.SKEIN_SIMILARITY_PROBES)
    lists = [int(n) for n in nearest_lists(query[None, :], _centroids(index), probes=probes)[0]]
    if connection.vendor == "postgresql":
        rows += similarity_sql.candidate_rows(
            index_id=index.pk,
            lists=lists,
            after=index.embedding_watermark,
            project_id=project_id,
            model_id=model_id,
        )
        return rows, True
    rows += SimilarityEntry.objects.filter(index=index, list_no__in=lists).values_list(
        "item_id", "vector"
    )
    rows += ItemEmbedding.objects.filter(
        pk__gt=index.embedding_watermark, project_id=project_id, model_id=model_id
    ).values_list("item_id", "vector")
    return rows, True


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
    rows, indexed = _candidates(project_id=item.project_id, model_id=model_id, query=query)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    keep = ids != item.pk
    ids = ids[keep]
    blob = b"".join(bytes(r[1]) for r in rows)
    matrix = np.frombuffer(blob, dtype=STORED_DTYPE).reshape(len(rows), -1)[keep]
    # A vector both filed and stored after the build (a rebuild racing a write) counts once.
    ids, first = np.unique(ids, return_index=True)
    matrix = matrix[first].astype(np.float32)
    order, sims = top_k(query, matrix, k)
    chosen = [int(i) for i in ids[order]]
    items = Item.objects.in_bulk(chosen)
    neighbours = [
        Neighbour(items[i], float(s)) for i, s in zip(chosen, sims, strict=True) if i in items
    ]
    return SimilarResult(model_id, neighbours, len(ids), indexed)
