"""annotation.iterables.chunks: the one way exports and training read in chunks."""

from __future__ import annotations

import pytest

from annotation.iterables import chunks


def test_chunks_are_lazy_lists_with_a_short_last_one():
    assert list(chunks(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunks(iter([]), 3)) == []
    assert list(chunks([1, 2], 5)) == [[1, 2]]
    source = iter(range(10))
    first = next(chunks(source, 4))
    assert first == [0, 1, 2, 3] and next(source) == 4


def test_chunk_size_must_be_positive():
    with pytest.raises(ValueError):
        list(chunks([1], 0))
