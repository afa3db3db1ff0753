"""The vectorised n-gram hashing gives exactly scikit-learn's HashingVectorizer counts."""

import random

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from tasks.learning import featurize
from tasks.learning.featurize import fit_featurizer
from tasks.learning.hashing import hashed_char_counts, hashed_word_counts, murmur3_32

TRICKY = [
    "",
    "   ",
    "a",
    "A b",
    "ab",
    " ab ",
    "ab",
    "cd",
    "I",
    "x" * 300,
    "12 345 6.7",
    "tab\tsep\nnew  line",
    "_under_score a_b __",
    "a\u00a0b\u2003c",
    "\x00zero\x00 byte",
    "Ünïcödé ßtraße naïve café 日本語のテキスト 😀 emoji x",
    "İstanbul ǅ e\u0301",
    "The film's pacing, frankly, is a mess -- but the cast (#3) saves it!",
]
ALPHABET = [*list("abcXYZ019_ \t\n.,'-"), "é", "ß", "日", "😀", "\xa0", "İ", "\x00", "²"]


def _reference(analyzer: str, width: int) -> HashingVectorizer:
    ngrams = (1, 2) if analyzer == "word" else (2, 4)
    return HashingVectorizer(
        n_features=width, analyzer=analyzer, ngram_range=ngrams, alternate_sign=False, norm=None
    )


def _random_texts(seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        for _ in range(rng.randint(1, 15))
    ]


def test_murmur3_matches_scikit_learn():
    keys = ["a", "ab", "abc", "abcd", "abcde", "hello world", "é", "日本語", "x" * 37]
    raw = [k.encode() for k in keys]
    lengths = np.array([len(r) for r in raw])
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    ours = murmur3_32(np.frombuffer(b"".join(raw), dtype=np.uint8), starts, lengths)
    assert ours.tolist() == [murmurhash3_32(k, 0) for k in keys]


@pytest.mark.parametrize("width", [2**18, 2**10, 1000])
@pytest.mark.parametrize("analyzer", ["word", "char_wb"])
def test_counts_equal_hashing_vectorizer(analyzer, width):
    ours = hashed_word_counts if analyzer == "word" else hashed_char_counts
    for texts in [TRICKY] + [_random_texts(seed) for seed in range(40)]:
        expected = _reference(analyzer, width).transform(texts)
        got = ours([t.lower() for t in texts], width)
        assert got.shape == expected.shape
        assert abs(got - expected).nnz == 0, texts


def test_batches_of_texts_give_the_same_matrix(monkeypatch):
    items = [{"text": t} for seed in range(5) for t in _random_texts(seed) + TRICKY]
    featurizer = fit_featurizer([items])
    whole = featurizer.transform(items)
    monkeypatch.setattr(featurize, "BATCH_CHARS", 50)  # many batches, some of one long text
    assert len(featurize._batches([(i.get("text") or "") for i in items])) > 5
    batched = featurizer.transform(items)
    assert batched.shape == whole.shape
    assert abs(batched - whole).max() == 0
