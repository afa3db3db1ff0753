"""An inverted-file (IVF) index over L2-normalised vectors, ranking by cosine, and
near-duplicate pairs: plain numpy, no Django (workers build the index with it,
tasks.services.similarity; web processes rank with it, tasks.similarity).

Cosine similarity is the dot product of normalised rows. k-means runs on the sphere
(spherical k-means: centroids re-normalised each round), trained on a sample, then every
vector is filed under its nearest centroid. A query ranks the rows of the few lists whose
centroids are nearest it, exactly."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
BLOCK = 4096  # rows per matrix product: bounds the memory of a block of similarities


def nearest_lists(
    vectors: Matrix | npt.NDArray[np.float16], centroids: Matrix, *, probes: int = 1
) -> npt.NDArray[np.int64]:
    """The ``probes`` nearest centroids of each row, nearest first (rows × probes). The
    rows may be float16 (as stored): they are widened a block at a time."""
    probes = min(probes, len(centroids))
    out = np.empty((len(vectors), probes), dtype=np.int64)
    for start in range(0, len(vectors), BLOCK):
        sims = vectors[start : start + BLOCK].astype(np.float32, copy=False) @ centroids.T
        if probes == 1:
            out[start : start + BLOCK, 0] = np.argmax(sims, axis=1)
            continue
        top = np.argpartition(-sims, probes - 1, axis=1)[:, :probes]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        out[start : start + BLOCK] = np.take_along_axis(top, order, axis=1)
    return out


def top_k(
    query: Matrix, matrix: Matrix, k: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Row numbers of the ``k`` rows of ``matrix`` most similar to ``query`` (one row),
    most similar first, with their cosines."""
    if len(matrix) == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    sims = matrix @ query.reshape(-1)
    k = min(k, len(sims))
    top = np.argpartition(-sims, k - 1)[:k]
    order = top[np.argsort(-sims[top], kind="stable")]
    return order.astype(np.int64), sims[order].astype(np.float32)


def list_count(n_vectors: int) -> int:
    """How many lists for ``n_vectors``: about 4·√n (100,000 → 1,265 lists of ~80;
    1,000,000 → 4,000 of 250). Finer lists with more probes read the same number of vectors
    as coarser ones with fewer but follow the data's regions more closely (recall); reading a
    list costs one row since lists are blobs, and the build's every-vector-against-every-
    centroid product grows with the count (bench/README.md, "Similar items")."""
    return max(1, round(4.0 * float(np.sqrt(max(n_vectors, 1)))))


def _normalised(matrix: Matrix) -> Matrix:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


def kmeans(
    vectors: Matrix | npt.NDArray[np.float16],
    n_lists: int,
    *,
    seed: int = 0,
    iterations: int = 8,
    sample: int = 40,
) -> Matrix:
    """Spherical k-means centroids (n_lists × dim, unit rows), trained on at most
    ``sample`` rows per list drawn at random; an emptied list restarts at a random row."""
    rng = np.random.default_rng(seed)
    n_lists = min(n_lists, len(vectors))
    take = min(len(vectors), sample * n_lists)
    train = vectors[np.sort(rng.choice(len(vectors), size=take, replace=False))].astype(np.float32)
    centroids = train[rng.choice(len(train), size=n_lists, replace=False)].copy()
    for _ in range(iterations):
        assigned = nearest_lists(train, centroids)[:, 0]
        sums = np.zeros_like(centroids)
        np.add.at(sums, assigned, train)
        counts = np.bincount(assigned, minlength=n_lists)
        empty = counts == 0
        sums[empty] = train[rng.choice(len(train), size=int(empty.sum()))]
        centroids = _normalised(sums)
    return centroids


def close_pairs(
    left: Matrix, right: Matrix, threshold: float, *, same: bool = False
) -> npt.NDArray[np.int64]:
    """Pairs (i, j) with cosine(left[i], right[j]) ≥ threshold; with ``same`` (left is
    right) each unordered pair once and no row with itself."""
    found = []
    for start in range(0, len(left), BLOCK):
        sims = left[start : start + BLOCK] @ right.T
        rows, cols = np.nonzero(sims >= threshold)
        rows = rows + start
        if same:
            keep = cols > rows
            rows, cols = rows[keep], cols[keep]
        found.append(np.stack([rows, cols], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    return np.concatenate(found).astype(np.int64)


def near_duplicate_pairs(
    vectors: Matrix | npt.NDArray[np.float16], lists: npt.NDArray[np.int64], threshold: float
) -> npt.NDArray[np.int64]:
    """Row pairs (i < j) at cosine ≥ ``threshold`` among rows filed in the same list: near
    duplicates are each other's nearest neighbours, so they almost always share their
    nearest centroid (the recall this costs is measured in bench/README.md)."""
    order = np.argsort(lists, kind="stable")
    bounds = np.flatnonzero(np.diff(lists[order])) + 1
    found = []
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        rows = vectors[members].astype(np.float32, copy=False)
        pairs = close_pairs(rows, rows, threshold, same=True)
        if len(pairs):
            found.append(members[pairs])
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found)
    return np.sort(pairs, axis=1)
