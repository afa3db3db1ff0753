"""Text n-grams to hashed term counts: the same columns as scikit-learn's HashingVectorizer,
computed in whole-chunk numpy.

HashingVectorizer(alternate_sign=False, norm=None) builds every n-gram as a Python string
and hashes it one by one (~4 s per 20,000 short texts on this machine's cores). Here the
n-grams of a whole chunk are windows over one code-point array, hashed with MurmurHash3
(x86, 32 bit, seed 0, over the UTF-8 bytes: scikit-learn's hash) in vectorised numpy, so the
columns and counts are identical to scikit-learn's for lowercase text (the caller lowercases,
as its preprocessor does); tests/tasks/test_hashing.py checks this against scikit-learn.
The word n-grams are always 1-2-grams (the bigram join is built into `hashed_word_counts`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

U8Array = npt.NDArray[np.uint8]
U32Array = npt.NDArray[np.uint32]
I32Array = npt.NDArray[np.int32]
I64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

CHAR_NGRAMS = (2, 4)

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)  # block mixing
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)  # finalisation
_TAIL_MASK = np.array([0, 0xFF, 0xFFFF, 0xFFFFFF], dtype=np.uint32)


def _rotl(x: U32Array, r: int) -> U32Array:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix_k(k: U32Array) -> U32Array:
    k *= _C1
    k = _rotl(k, 15)
    k *= _C2
    return k


def _words(buf: U8Array | U32Array) -> U32Array:
    """The little-endian uint32 starting at every byte offset of `buf` (zero-padded), plus one
    for the end offset."""
    padded = np.zeros(buf.size + 4, dtype=np.uint32)
    padded[: buf.size] = buf
    # uint32 shift counts: numpy's stubs type `uint32 << int` as signed (it stays uint32)
    b8, b16, b24 = np.uint32(8), np.uint32(16), np.uint32(24)
    words: U32Array = (
        padded[:-3] | (padded[1:-2] << b8) | (padded[2:-1] << b16) | (padded[3:] << b24)
    )
    return words


def _block(h: U32Array, k: U32Array) -> U32Array:
    h ^= _mix_k(k)
    h = _rotl(h, 13)
    h *= np.uint32(5)
    h += np.uint32(0xE6546B64)
    return h


def _finish(h: U32Array, lengths: I64Array | int) -> I32Array:
    h ^= np.asarray(lengths).astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= _F1
    h ^= h >> np.uint32(13)
    h *= _F2
    h ^= h >> np.uint32(16)
    return h.view(np.int32)


def murmur3_32(
    buf: U8Array, starts: I64Array, lengths: I64Array, words: U32Array | None = None
) -> I32Array:
    """MurmurHash3_x86_32 (seed 0) of the byte strings buf[starts[i]:starts[i] + lengths[i]],
    as signed int32 values (scikit-learn's murmurhash3_32(..., positive=False)). `words` is
    `_words(buf)` when the caller has it already."""
    n = starts.size
    words = _words(buf) if words is None else words
    h = np.zeros(n, dtype=np.uint32)
    nblocks = lengths >> 2
    most = int(nblocks.max()) if n else 0
    if most > 0:
        # keys by block count (descending), so the keys with a block j are a prefix
        order = np.argsort(
            most - nblocks.astype(np.uint16 if most < 2**16 else np.int64), kind="stable"
        )  # radix sort for small integers
        with_more = n - np.cumsum(np.bincount(nblocks))  # keys with more than j blocks
        hs, st = h[order], starts[order]
        for j in range(most):
            m = int(with_more[j])
            hs[:m] = _block(hs[:m], words[st[:m] + 4 * j])
        h[order] = hs
    h ^= _mix_k(words[starts + 4 * nblocks] & _TAIL_MASK[lengths & 3])  # zero tail: no-op
    return _finish(h, lengths)


def _ascii_grams(words: U32Array, g: int, m: int) -> I32Array:
    """murmur3_32 of the g-byte windows starting at bytes 0..m-1 (g <= 4), no gathers."""
    if g == 4:
        h = _block(np.zeros(m, dtype=np.uint32), words[:m].copy())
    else:
        h = _mix_k(words[:m] & _TAIL_MASK[g])
    return _finish(h, g)


def _columns_of(hashes: I32Array, width: int) -> I32Array:
    """scikit-learn's column for a signed hash: abs(h) % width (abs(-2**31) taken as 2**31)."""
    if width & (width - 1) == 0 and width <= 2**31:  # a power of two: a mask, in int32
        return np.bitwise_and(np.abs(hashes), width - 1, dtype=np.int32)
    return (np.abs(hashes.astype(np.int64)) % width).astype(np.int32)


def _encode(text: str) -> tuple[U32Array, I64Array, U8Array]:
    """(code points, UTF-8 byte offset of each code point plus the end, UTF-8 bytes)."""
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    utf8 = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    if utf8.size == cps.size:  # ASCII: one byte per code point
        offsets = np.arange(cps.size + 1, dtype=np.int64)
    else:
        size = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
        offsets = np.zeros(cps.size + 1, dtype=np.int64)
        np.cumsum(size, out=offsets[1:])
    return cps, offsets, utf8


def _counts(rows: I32Array, cols: I32Array, n_rows: int, width: int) -> sp.csr_matrix[np.float64]:
    """CSR of term counts from (row, column) pairs already grouped by row (rows ascending)."""
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    out = sp.csr_matrix((np.ones(cols.size), cols, indptr), shape=(n_rows, width))
    out.sum_duplicates()  # sorts each row's columns and adds up repeated n-grams
    return out


_ASCII_WORD = np.array([chr(c).isalnum() or c == 95 for c in range(128)] + [False])


def _word_chars(cps: U32Array) -> BoolArray:
    """Which code points regex `\\w` matches (str.isalnum() or "_", checked for every code
    point); non-ASCII ones looked up once per distinct code point."""
    out = _ASCII_WORD[np.minimum(cps, 128)]
    high = np.flatnonzero(cps >= 128)
    if high.size:
        distinct, inverse = np.unique(cps[high], return_inverse=True)
        out[high] = np.array([chr(c).isalnum() for c in distinct.tolist()])[inverse]
    return out


def hashed_word_counts(lowered: Sequence[str], width: int) -> sp.csr_matrix[np.float64]:
    """Counts of word 1-2-grams (tokens of 2+ word characters, bigrams joined by a space),
    hashed to `width` columns: HashingVectorizer(ngram_range=(1, 2), alternate_sign=False,
    norm=None) on the same (lowercased) texts, whose token_pattern r"(?u)\\b\\w\\w+\\b" is a
    run of 2+ word characters."""
    n = len(lowered)
    lengths = np.fromiter(map(len, lowered), dtype=np.int64, count=n)
    cps, offsets, utf8 = _encode("".join(lowered))
    if cps.size == 0:
        return sp.csr_matrix((n, width))
    word = _word_chars(cps)
    text_start = np.zeros(cps.size, dtype=bool)
    text_start[np.cumsum(lengths)[:-1][lengths[1:] > 0]] = True
    text_start[0] = True
    before = np.concatenate(([False], word[:-1])) & ~text_start
    after = np.concatenate((word[1:] & ~text_start[1:], [False]))
    starts = np.flatnonzero(word & ~before)
    ends = np.flatnonzero(word & ~after) + 1
    long_enough = ends - starts >= 2
    starts, ends = starts[long_enough], ends[long_enough]
    if starts.size == 0:
        return sp.csr_matrix((n, width))
    row = np.repeat(np.arange(n, dtype=np.int32), lengths)[starts]  # each token's text
    # the tokens' UTF-8 bytes, each followed by one space: "tok1 tok2" is then contiguous
    first, size = offsets[starts], offsets[ends] - offsets[starts]
    out_start = np.zeros(size.size, dtype=np.int64)
    np.cumsum(size[:-1] + 1, out=out_start[1:])
    total = int(out_start[-1] + size[-1] + 1)
    source = np.arange(total) + np.repeat(first - out_start, size + 1)
    buf = np.concatenate((utf8, [32]))[source]
    buf[out_start + size] = 32
    same = np.concatenate((row[1:] == row[:-1], [False]))  # token i and i+1 in one text
    # unigram i, then bigram (i, i+1): grouped by text, in order
    key_start = np.repeat(out_start, 2)
    bigram = np.concatenate((size[:-1] + 1 + size[1:], [0]))
    key_size = np.stack((size, bigram), axis=1).ravel()
    keep = np.stack((np.ones_like(same), same), axis=1).ravel()
    cols = _columns_of(murmur3_32(buf, key_start[keep], key_size[keep]), width)
    return _counts(np.repeat(row, 2)[keep], cols, n, width)


def hashed_char_counts(lowered: Sequence[str], width: int) -> sp.csr_matrix[np.float64]:
    """Counts of char_wb 2-4-grams (n-grams inside each whitespace-separated word padded with
    one space each side), hashed to `width` columns: HashingVectorizer(analyzer="char_wb",
    ngram_range=(2, 4), alternate_sign=False, norm=None) on the same texts."""
    n = len(lowered)
    lo, hi = CHAR_NGRAMS
    # each text as " w1 w2 ... " (words separated by one space); texts without words as "".
    # A window is an n-gram of a padded word iff no inner character is a space (and, for
    # n = 2, not both characters are): between texts there are two spaces, so no valid
    # window crosses from one text into the next.
    padded = [" " + " ".join(words) + " " if (words := t.split()) else "" for t in lowered]
    lengths = np.fromiter(map(len, padded), dtype=np.int64, count=n)
    cps, offsets, utf8 = _encode("".join(padded))
    size = cps.size
    if size == 0:
        return sp.csr_matrix((n, width))
    space = cps == 32
    row_of = np.repeat(np.arange(n, dtype=np.int32), lengths)
    m = size - 1  # windows start at 0..m-1 (longer n-grams: padded by invalid ones)
    grams = range(lo, hi + 1)
    valid = np.zeros((m, len(grams)), dtype=bool)
    hashes = np.zeros((m, len(grams)), dtype=np.int32)
    # every window hashed as if its code points were bytes (right for ASCII windows), then
    # the windows with a non-ASCII code point hashed again from their UTF-8 bytes
    fast = _words(cps) if hi <= 4 else None
    high = None
    if utf8.size != size:
        high = np.concatenate(([0], np.cumsum(cps >= 0x80, dtype=np.int32)))
    utf8_words = _words(utf8) if high is not None or fast is None else None
    for j, g in enumerate(grams):
        k = size - g + 1
        if k <= 0:
            continue
        ok = ~(space[:k] & space[g - 1 : g - 1 + k]) if g == 2 else np.ones(k, dtype=bool)
        for inner in range(1, g - 1):
            ok &= ~space[inner : inner + k]
        valid[:k, j] = ok
        if fast is not None:
            hashes[:k, j] = _ascii_grams(fast, g, k)
            redo = np.flatnonzero(high[g : g + k] != high[:k]) if high is not None else None
        else:
            redo = np.arange(k)
        if redo is not None and redo.size:
            first = offsets[redo]
            hashes[redo, j] = murmur3_32(utf8, first, offsets[redo + g] - first, utf8_words)
    cols = _columns_of(hashes[valid], width)  # by position, then n: grouped by text
    rows = np.broadcast_to(row_of[:m, None], valid.shape)[valid]
    return _counts(rows, cols, n, width)
