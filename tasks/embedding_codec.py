"""How an embedding row is stored: little-endian float16 bytes. One owner for both directions,
so the writer (tasks.services.embeddings) and the readers (tasks.selectors) cannot drift."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

STORED_DTYPE = np.dtype("<f2")
# Item ids in a similarity list's blob (tasks.models.SimilarityList): big-endian int64, the
# layout of PostgreSQL's int8send, so ids aggregated in SQL read the same way.
ITEM_ID_DTYPE = np.dtype(">i8")


def vector_bytes(row: npt.ArrayLike) -> bytes:
    """One row as stored; non-finite values are refused (they would poison every cosine)."""
    values = np.asarray(row, dtype=np.float32).ravel()
    if not np.all(np.isfinite(values)):
        raise ValueError("an embedding holds NaN or infinite values")
    return values.astype(STORED_DTYPE).tobytes()


def vector_from_bytes(raw: bytes | memoryview) -> npt.NDArray[np.float32]:
    """A stored row back as float32."""
    return np.frombuffer(bytes(raw), dtype=STORED_DTYPE).astype(np.float32)
