"""Item embeddings: which embedder is configured, one loaded copy per worker process, and the
writes of vectors (computed once per item and model; see tasks.models.ItemEmbedding).

Worker-side only: loading an embedder imports onnxruntime and tokenizers, which a web
process never does (tests/tasks/test_web_stays_small.py); the import is inside the function.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from django.conf import settings

from annotation.models import Item
from tasks.embedding_codec import vector_bytes
from tasks.models import ItemEmbedding
from tasks.selectors import item_embeddings

if TYPE_CHECKING:
    from tasks.learning.embeddings import Embedder

DISABLED = "none"
_WRITE_BATCH = 1000
# Keys that hold pictures, not prose: never embedded as text (featurize.IMAGE_FIELD_NAMES).
_NOT_TEXT_KEYS = frozenset({"image", "pixels", "image_url", "url"})


def embedder_name() -> str | None:
    """The configured embedder's registry name (SKEIN_EMBEDDER), None when disabled."""
    name = str(getattr(settings, "SKEIN_EMBEDDER", DISABLED) or DISABLED).strip()
    return None if name.lower() == DISABLED else name


@functools.cache
def loaded_embedder() -> Embedder | None:
    """The configured embedder, loaded once per process (model file checked on load)."""
    name = embedder_name()
    if name is None:
        return None
    from tasks.learning.embeddings import embedder_for  # noqa: PLC0415 — worker only (see module docstring)

    return embedder_for(name)


def embedder_id() -> str | None:
    """The configured embedder's ``model_id`` (its vector space), None when disabled."""
    embedder = loaded_embedder()
    return None if embedder is None else embedder.model_id


def embedding_text(data: Mapping[str, Any]) -> str:
    """What of an item is embedded: its string fields in key order, one per line (image
    keys and bare URLs left out). An item with no text embeds as the empty string."""
    parts = []
    for key in sorted(data):
        value = data[key]
        if not isinstance(value, str) or key in _NOT_TEXT_KEYS:
            continue
        stripped = value.strip()
        if stripped.startswith(("http://", "https://")) and " " not in stripped:
            continue
        parts.append(stripped)
    return "\n".join(parts)


def item_embeddings_write(
    *, project_id: int, model_id: str, item_ids: Sequence[int], vectors: npt.ArrayLike
) -> int:
    """Store one vector per item; a vector already stored for (item, model) is kept, so a
    chunk written twice (a job run again after its worker died) changes nothing. Returns
    the number of rows offered."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[0] != len(item_ids):
        raise ValueError(f"{len(item_ids)} item ids for vectors of shape {matrix.shape}")
    rows = [
        ItemEmbedding(
            item_id=item_id, project_id=project_id, model_id=model_id, vector=vector_bytes(row)
        )
        for item_id, row in zip(item_ids, matrix, strict=True)
    ]
    ItemEmbedding.objects.bulk_create(rows, batch_size=_WRITE_BATCH, ignore_conflicts=True)
    return len(rows)


def item_embeddings_ensure(
    *, project_id: int, item_ids: Sequence[int]
) -> tuple[str, npt.NDArray[np.float32]] | None:
    """Every item's vector in the configured space: stored ones read, missing ones embedded
    here and stored. Returns (model_id, matrix in the order of `item_ids`), or None when no
    embedder is configured. Items whose data was erased embed as the empty string and are
    not stored."""
    embedder = loaded_embedder()
    if embedder is None:
        return None
    matrix, present = item_embeddings(item_ids=item_ids, model_id=embedder.model_id)
    if matrix.shape[1] != embedder.dim:
        matrix = np.zeros((len(item_ids), embedder.dim), dtype=np.float32)
    missing = [item_ids[int(n)] for n in np.flatnonzero(~present)]
    if missing:
        data = dict(
            Item.objects.filter(pk__in=missing, data_erased_at__isnull=True).values_list(
                "id", "data"
            )
        )
        vectors = embedder.embed([embedding_text(data.get(i) or {}) for i in missing])
        keep = [n for n, item_id in enumerate(missing) if item_id in data]
        item_embeddings_write(
            project_id=project_id,
            model_id=embedder.model_id,
            item_ids=[missing[n] for n in keep],
            vectors=vectors[keep].reshape(len(keep), embedder.dim),
        )
        matrix[np.flatnonzero(~present)] = vectors
    return embedder.model_id, matrix


def item_embeddings_delete(*, item_ids: Sequence[int]) -> None:
    """Drop the items' vectors in every space (their data was erased: a vector is a copy of
    the text). Registered with the core as a data-erased hook."""
    ItemEmbedding.objects.filter(item_id__in=list(item_ids)).delete()
