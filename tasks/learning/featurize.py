"""Item data (JSON dicts) to a fixed-width feature matrix, fitted by streaming over chunks.

Nothing here keeps a vocabulary: text is hashed, so the width is fixed before any data is
seen and a pool of a million items can be fitted and transformed chunk by chunk. What is
fitted is only running statistics: document frequencies (for TF-IDF), numeric mean/std and
the pixel range. The fitted `Featurizer` pickles to a small blob (document frequencies are
stored sparsely).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from tasks.learning.hashing import hashed_char_counts, hashed_word_counts
from tasks.learning.images import features_of, n_image_features

FieldKind = Literal["text", "numeric", "image", "image_file"]
FloatArray = npt.NDArray[np.float64]
CountMatrix = sp.csr_matrix[np.float64]
FeatureMatrix = sp.csr_matrix[np.float64] | npt.NDArray[np.float64]

IMAGE_FIELD_NAMES = ("image", "pixels")
# An uploaded image: item data holds its key; the worker hands the featurizer the file's
# bytes in its place (tasks/services/images.py), and tasks.learning.images describes them.
IMAGE_FILE_FIELD = "stored_image"
BATCH_CHARS = 1_000_000  # texts hashed together: bounds the working arrays (~40 B per char)


@dataclass(frozen=True)
class FieldSpec:
    """How one key of the item's `data` is featurized; `size` is the pixel count of images."""

    name: str
    kind: FieldKind
    size: int = 0


@dataclass(frozen=True)
class FeatureSpec:
    """The fields to featurize and the hashing widths; part of a model's identity."""

    fields: tuple[FieldSpec, ...]
    word_features: int = 2**18
    char_features: int = 2**18
    char_ngrams: bool = True

    @property
    def has_text(self) -> bool:
        return any(f.kind == "text" for f in self.fields)


def _flat_pixels(value: Any) -> list[float] | None:
    """Flatten a list (or 2-D list) of numbers; None when it is not one."""
    if not isinstance(value, list | tuple) or not value:
        return None
    nested = isinstance(value[0], list | tuple)
    flat = [v for row in value for v in row] if nested else list(value)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
        return [float(v) for v in flat]
    return None


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value[:8].lower().startswith(("http://", "https://"))


def infer_spec(
    sample: Sequence[Mapping[str, Any]], *, image_urls: bool = False, **options: Any
) -> FeatureSpec:
    """Guess a spec from a sample of item data: str -> text, int/float -> numeric,
    a list of numbers under `image`/`pixels` -> image, `stored_image` (an uploaded image's
    key, or its bytes) -> image_file, and with `image_urls` an http(s) URL under `image` ->
    image_file too (the worker fetches it from an allowed host; otherwise the URL is text).
    A key keeps the kind it has in most of the sample, so a few missing or odd values do not
    change the spec."""
    votes: dict[str, dict[FieldKind, int]] = {}
    sizes: dict[str, int] = {}
    for data in sample:
        for key, value in data.items():
            kind: FieldKind | None = None
            if (key == IMAGE_FILE_FIELD and isinstance(value, str | bytes)) or (
                image_urls and key == "image" and _is_url(value)
            ):
                kind = "image_file"
            elif isinstance(value, str):
                kind = "text"
            elif isinstance(value, int | float):  # bool included, as 0/1
                kind = "numeric"
            elif key in IMAGE_FIELD_NAMES:
                pixels = _flat_pixels(value)
                if pixels is not None:
                    kind = "image"
                    sizes[key] = max(sizes.get(key, 0), len(pixels))
            if kind is not None:
                votes.setdefault(key, {}).setdefault(kind, 0)
                votes[key][kind] += 1
    fields = []
    for key in sorted(votes):
        top = max(votes[key], key=lambda k: votes[key][k])
        fields.append(FieldSpec(key, top, sizes.get(key, 0) if top == "image" else 0))
    if not fields:
        raise ValueError("no usable fields (str, number, or image list) in the sample")
    return FeatureSpec(fields=tuple(fields), **options)


@dataclass
class _Moments:
    """Running count/mean/M2 (Chan et al.), so chunks can be merged in any order."""

    n: float = 0.0
    mean: float = 0.0
    m2: float = 0.0

    def update(self, values: FloatArray) -> None:
        if values.size == 0:
            return
        n_b = float(values.size)
        mean_b = float(values.mean())
        m2_b = float(((values - mean_b) ** 2).sum())
        delta = mean_b - self.mean
        total = self.n + n_b
        self.mean += delta * n_b / total
        self.m2 += m2_b + delta * delta * self.n * n_b / total
        self.n = total

    @property
    def std(self) -> float:
        if self.n < 2:
            return 1.0
        std = math.sqrt(self.m2 / self.n)
        return std if std > 1e-12 else 1.0


@dataclass
class Featurizer:
    """Fitted state for one FeatureSpec; `partial_fit` over chunks, then `transform` chunks.

    Text: word 1-2-grams and char_wb 2-4-grams, hashed (non-negative counts), weighted by
    smooth IDF (log((1 + n) / (1 + df)) + 1, as scikit-learn's TfidfTransformer) and l2
    normalised per part; the parts of all text fields share the row's unit norm equally.
    Numbers: z-scores with the running mean/std (missing -> 0). Images: pixels scaled to
    [0, 1] with the fitted min/max, padded or cut to the spec's size. Image files (encoded
    bytes): tasks.learning.images' features, which need no fitting.
    """

    spec: FeatureSpec
    n_docs: int = 0
    _df: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)
    _moments: dict[str, _Moments] = field(default_factory=dict)
    _pixel_range: dict[str, tuple[float, float]] = field(default_factory=dict)
    _idf_cache: dict[str, FloatArray] = field(default_factory=dict, repr=False)

    # ----- construction -------------------------------------------------------------------
    def _parts(self, name: str) -> list[tuple[str, int]]:
        """(statistics key, hashed width) of each part of a text field: words, then chars."""
        parts = [(f"{name}:word", self.spec.word_features)]
        if self.spec.char_ngrams:
            parts.append((f"{name}:char", self.spec.char_features))
        return parts

    @property
    def n_features(self) -> int:
        """Width of every matrix `transform` returns."""
        width = 0
        for f in self.spec.fields:
            if f.kind == "text":
                width += self.spec.word_features
                width += self.spec.char_features if self.spec.char_ngrams else 0
            elif f.kind == "numeric":
                width += 1
            elif f.kind == "image_file":
                width += n_image_features()
            else:
                width += f.size
        return width

    # ----- fitting ------------------------------------------------------------------------
    def partial_fit(self, items: Sequence[Mapping[str, Any]]) -> Featurizer:
        """Fold one chunk into the running statistics; chunk order does not matter."""
        return self.partial_fit_fields(_columns(items, self.spec), len(items))

    def partial_fit_fields(self, columns: Mapping[str, Sequence[Any]], n: int) -> Featurizer:
        """`partial_fit` over column-oriented data: each spec field's `n` values (None when
        missing), e.g. read straight from the database without building item dicts."""
        self._idf_cache.clear()
        self.n_docs += n
        for f in self.spec.fields:
            values = _column(columns, f.name, n)
            if f.kind == "text":
                for key, counts in self._hashed_counts(f.name, _texts(values)):
                    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.int64)
                    if key in self._df:
                        self._df[key] += df
                    else:
                        self._df[key] = df
            elif f.kind == "numeric":
                numbers = _numbers(values)
                self._moments.setdefault(f.name, _Moments()).update(numbers[~np.isnan(numbers)])
            elif f.kind == "image_file":
                continue  # nothing to fit: an image's features depend on it alone
            else:
                pixels = _pixels(values, f.size)
                seen = pixels[~np.isnan(pixels)]
                if seen.size:
                    lo, hi = self._pixel_range.get(f.name, (math.inf, -math.inf))
                    self._pixel_range[f.name] = (min(lo, seen.min()), max(hi, seen.max()))
        return self

    def fit(self, chunks: Iterable[Sequence[Mapping[str, Any]]]) -> Featurizer:
        """Reset, then stream over `chunks` (an iterable of item-data lists)."""
        self.n_docs = 0
        self._df, self._moments, self._pixel_range = {}, {}, {}
        for chunk in chunks:
            self.partial_fit(chunk)
        return self

    def idf(self, key: str) -> FloatArray:
        """Smooth IDF for one hashed text part; unseen columns get the largest weight."""
        if key not in self._idf_cache:
            df = self._df.get(key)
            width = self.spec.char_features if key.endswith(":char") else self.spec.word_features
            if df is None:
                df = np.zeros(width, dtype=np.int64)
            self._idf_cache[key] = np.log((1.0 + self.n_docs) / (1.0 + df)) + 1.0
        return self._idf_cache[key]

    # ----- transforming -------------------------------------------------------------------
    def transform(self, items: Sequence[Mapping[str, Any]]) -> FeatureMatrix:
        """Features for a chunk: CSR when there is text, a dense float array otherwise."""
        return self.transform_fields(_columns(items, self.spec), len(items))

    def transform_fields(self, columns: Mapping[str, Sequence[Any]], n: int) -> FeatureMatrix:
        """`transform` over column-oriented data (see `partial_fit_fields`)."""
        blocks: list[FeatureMatrix] = []
        n_text_parts = sum(len(self._parts(f.name)) for f in self.spec.fields if f.kind == "text")
        for f in self.spec.fields:
            values = _column(columns, f.name, n)
            if f.kind == "text":
                for key, counts in self._hashed_counts(f.name, _texts(values)):
                    blocks.append(_tfidf_rows(counts, self.idf(key), math.sqrt(n_text_parts)))
            elif f.kind == "numeric":
                numbers = _numbers(values)
                moments = self._moments.get(f.name, _Moments())
                z = (numbers - moments.mean) / moments.std
                blocks.append(np.nan_to_num(z, nan=0.0).reshape(-1, 1))
            elif f.kind == "image_file":
                # Bytes the worker read; anything else (a key it could not read) is missing.
                blocks.append(features_of([v if isinstance(v, bytes) else None for v in values]))
            else:
                pixels = _pixels(values, f.size)
                lo, hi = self._pixel_range.get(f.name, (0.0, 1.0))
                scale = hi - lo if hi > lo else 1.0
                blocks.append(np.clip(np.nan_to_num((pixels - lo) / scale, nan=0.0), 0.0, 1.0))
        if self.spec.has_text:
            if len(blocks) == 1:
                return blocks[0]
            out: CountMatrix = sp.hstack([sp.csr_matrix(b) for b in blocks], format="csr")
            out.sort_indices()
            return out
        # no text field: every block is a dense array
        return np.hstack(cast(list[FloatArray], blocks)).astype(np.float64)

    def _hashed_counts(self, name: str, texts: list[str]) -> list[tuple[str, CountMatrix]]:
        """Hashed term counts of each part of one text field (see `hashed_word_counts`)."""
        lowered = [t.lower() for t in texts]
        batches = _batches(lowered)
        hashers = [(f"{name}:word", hashed_word_counts, self.spec.word_features)]
        if self.spec.char_ngrams:
            hashers.append((f"{name}:char", hashed_char_counts, self.spec.char_features))
        out = []
        for key, hasher, width in hashers:
            parts = [hasher(lowered[a:b], width) for a, b in batches]
            out.append((key, parts[0] if len(parts) == 1 else sp.vstack(parts, format="csr")))
        return out

    # ----- pickling -----------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Store document frequencies sparsely: most hashed columns never occur."""
        state = dict(self.__dict__)
        state["_idf_cache"] = {}
        state["_df"] = {
            key: (np.flatnonzero(df).astype(np.int32), df[df != 0].astype(np.int32))
            for key, df in self._df.items()
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        packed = state.pop("_df")
        self.__dict__.update(state)
        self._df = {}
        for key, (idx, counts) in packed.items():
            width = self.spec.char_features if key.endswith(":char") else self.spec.word_features
            df = np.zeros(width, dtype=np.int64)
            df[idx] = counts
            self._df[key] = df


def fit_featurizer(
    chunks: Iterable[Sequence[Mapping[str, Any]]],
    spec: FeatureSpec | None = None,
    *,
    image_urls: bool = False,
) -> Featurizer:
    """Infer the spec from the first chunk when none is given (`image_urls`: see
    `infer_spec`), then stream over all chunks."""
    featurizer: Featurizer | None = Featurizer(spec) if spec is not None else None
    if featurizer is not None:
        featurizer.fit([])
    for chunk in chunks:
        if featurizer is None:
            featurizer = Featurizer(infer_spec(chunk, image_urls=image_urls))
        featurizer.partial_fit(chunk)
    if featurizer is None:
        raise ValueError("no items to fit the featurizer on")
    return featurizer


def _batches(texts: Sequence[str], max_chars: int | None = None) -> list[tuple[int, int]]:
    """[start, end) ranges of `texts` of at most `max_chars` characters each (a longer text
    alone): the hashing's working arrays grow with the characters it sees at once."""
    max_chars = BATCH_CHARS if max_chars is None else max_chars
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    out, start, total = [], 0, 0
    for i, length in enumerate(lengths.tolist()):
        if total and total + length > max_chars:
            out.append((start, i))
            start, total = i, 0
        total += length
    out.append((start, len(texts)))
    return out


def _columns(items: Sequence[Mapping[str, Any]], spec: FeatureSpec) -> dict[str, list[Any]]:
    return {f.name: [data.get(f.name) for data in items] for f in spec.fields}


def _column(columns: Mapping[str, Sequence[Any]], name: str, n: int) -> Sequence[Any]:
    values = columns.get(name)
    if values is None:
        return [None] * n
    if len(values) != n:
        raise ValueError(f"field {name!r}: {len(values)} values for {n} rows")
    return values


def _texts(values: Sequence[Any]) -> list[str]:
    return [v if isinstance(v, str) else "" if v is None else str(v) for v in values]


def _numbers(values: Sequence[Any]) -> FloatArray:
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if isinstance(value, int | float):
            out[i] = float(value)
    return out


def _pixels(values: Sequence[Any], size: int) -> FloatArray:
    out = np.full((len(values), size), np.nan)
    for i, value in enumerate(values):
        flat = _flat_pixels(value)
        if flat is not None:
            row = flat[:size]
            out[i, : len(row)] = row
    return out


def _tfidf_rows(counts: CountMatrix, idf: FloatArray, share: float) -> CountMatrix:
    """counts * idf, each row scaled to norm 1 / share (empty rows stay empty)."""
    data = counts.data * idf[counts.indices]
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=counts.shape[0]))
    norms[norms == 0] = 1.0
    data /= (norms * share)[rows]
    return sp.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)
