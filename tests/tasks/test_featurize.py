"""Tests for tasks.learning.featurize: fixed width, streaming IDF, scaling, pickling."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

from tasks.learning.featurize import FeatureSpec, Featurizer, FieldSpec, fit_featurizer, infer_spec

TEXTS = [
    "the cat sat on the mat",
    "a dog chased the cat",
    "stock prices fell sharply today",
    "the market rallied after the news",
    "cats and dogs are pets",
    "prices of pets are rising",
]
SMALL = {"word_features": 2**12, "char_features": 2**12}


def text_items(texts=TEXTS):
    return [{"text": t} for t in texts]


def test_infer_spec_kinds():
    sample = [
        {"title": "hello", "votes": 3, "score": 0.5, "image": [[0, 1], [2, 3]], "tags": ["x"]},
        {"title": "bye", "votes": 4, "score": 1.5, "image": [[1, 1], [2, 2]], "tags": []},
    ]
    spec = infer_spec(sample)
    kinds = {f.name: (f.kind, f.size) for f in spec.fields}
    assert kinds == {
        "title": ("text", 0),
        "votes": ("numeric", 0),
        "score": ("numeric", 0),
        "image": ("image", 4),
    }


def test_infer_spec_without_usable_fields_fails():
    with pytest.raises(ValueError):
        infer_spec([{"tags": ["a"]}])


def test_text_is_deterministic_fixed_width_and_l2_normalised():
    f = fit_featurizer([text_items()], FeatureSpec((FieldSpec("text", "text"),), **SMALL))
    a = f.transform(text_items())
    b = f.transform(text_items())
    assert sp.isspmatrix_csr(a) or sp.issparse(a)
    assert a.shape == (6, 2**13) == (6, f.n_features)
    assert (a != b).nnz == 0
    one = f.transform([{"text": "zebra quantum xylophone"}])  # words never seen in fitting
    assert one.shape == (1, f.n_features)
    assert one.nnz > 0
    norms = np.sqrt(np.asarray(a.multiply(a).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms, 1.0)
    empty = f.transform([{"text": ""}, {}])
    assert empty.shape == (2, f.n_features) and empty.nnz == 0


def test_chunked_idf_equals_one_shot_idf():
    spec = FeatureSpec((FieldSpec("text", "text"),), **SMALL)
    items = text_items()
    one_shot = fit_featurizer([items], spec)
    chunked = fit_featurizer([items[:2], items[2:3], items[3:]], spec)
    for key in ("text:word", "text:char"):
        np.testing.assert_array_equal(one_shot.idf(key), chunked.idf(key))
    assert (one_shot.transform(items) != chunked.transform(items)).nnz == 0


def test_word_part_matches_sklearn_tfidf():
    """Our streaming IDF equals scikit-learn's TfidfTransformer on the same hashed counts."""
    spec = FeatureSpec((FieldSpec("text", "text"),), char_ngrams=False, **SMALL)
    ours = fit_featurizer([text_items()[:3], text_items()[3:]], spec).transform(text_items())
    counts = HashingVectorizer(
        n_features=2**12, ngram_range=(1, 2), alternate_sign=False, norm=None
    ).transform(TEXTS)
    reference = TfidfTransformer(smooth_idf=True, norm="l2").fit_transform(counts)
    np.testing.assert_allclose(ours.toarray(), reference.toarray(), atol=1e-12)


def test_numeric_scaling_streams():
    rng = np.random.default_rng(0)
    values = rng.normal(50.0, 7.0, size=300)
    items = [{"x": float(v)} for v in values]
    f = fit_featurizer([items[:100], items[100:250], items[250:]])
    X = f.transform(items)
    assert isinstance(X, np.ndarray) and X.shape == (300, 1)
    np.testing.assert_allclose(X[:, 0], (values - values.mean()) / values.std(), atol=1e-9)
    missing = f.transform([{}, {"x": None}])
    np.testing.assert_array_equal(missing, [[0.0], [0.0]])


def test_images_scaled_to_unit_range_flat_and_2d():
    flat = [{"pixels": list(range(16))}, {"pixels": [0] * 16}]
    f = fit_featurizer([flat])
    X = f.transform(flat)
    assert X.shape == (2, 16)
    assert X.min() == 0.0 and X.max() == 1.0
    np.testing.assert_allclose(X[0], np.arange(16) / 15)
    grid = [{"image": [[0, 8], [16, 4]]}, {"image": [[16, 16], [0, 0]]}]
    g = fit_featurizer([grid])
    np.testing.assert_allclose(g.transform(grid)[0], [0.0, 0.5, 1.0, 0.25])
    out_of_range = g.transform([{"image": [[32, -5], [8, 8]]}])
    np.testing.assert_allclose(out_of_range[0], [1.0, 0.0, 0.5, 0.5])


def test_mixed_fields_fixed_width_and_order():
    items = [
        {"text": t, "stars": float(i), "pixels": [i, 2 * i, 3 * i, 0]} for i, t in enumerate(TEXTS)
    ]
    f = Featurizer(infer_spec(items, **SMALL)).fit([items[:3], items[3:]])
    X = f.transform(items)
    assert sp.issparse(X)
    assert X.shape == (6, 4 + 1 + 2**13) == (6, f.n_features)
    dense = X.toarray()
    # fields are sorted by name: pixels (4 columns), stars (1 column), then text.
    np.testing.assert_allclose(dense[:, :4].max(), 1.0)
    np.testing.assert_allclose(dense[:, 4], (np.arange(6) - 2.5) / np.arange(6).std())


def test_pickle_roundtrip_is_small_and_identical():
    f = fit_featurizer([text_items()])  # default 2**18 + 2**18 hashed columns
    blob = pickle.dumps(f)
    assert len(blob) < 50_000  # document frequencies are stored sparsely
    g = pickle.loads(blob)
    a, b = f.transform(text_items()), g.transform(text_items())
    assert a.shape == b.shape and abs(a - b).max() == 0


# ----- the dense text-embedding block (issue 12) ----------------------------------------------
def _unit_rows(n, dim=8, seed=0):
    E = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return E / np.linalg.norm(E, axis=1, keepdims=True)


def test_embedding_block_is_appended_at_its_weight():
    f = fit_featurizer([text_items()], FeatureSpec((FieldSpec("text", "text"),), **SMALL))
    plain = f.transform(text_items())
    E = _unit_rows(6) * 3.0  # not unit: the block is scaled to the weight whatever comes in
    f.use_embeddings("toy-model", 8, weight=0.5)
    assert f.n_features == 2**13 + 8
    X = f.transform(text_items(), E)
    assert sp.issparse(X) and X.shape == (6, f.n_features)
    assert abs(X[:, : 2**13] - plain).max() == 0  # the n-grams are untouched
    block = X[:, 2**13 :].toarray()
    np.testing.assert_allclose(np.linalg.norm(block, axis=1), 0.5)
    np.testing.assert_allclose(block / 0.5, E / 3.0, rtol=1e-6)
    cols = {"text": [d["text"] for d in text_items()]}
    assert abs(f.transform_fields(cols, 6, E) - X).max() == 0
    # an item with no stored vector (a zero row) gets no embedding part, not NaN
    E0 = E.copy()
    E0[2] = 0
    assert np.isfinite(f.transform(text_items(), E0).data).all()


def test_embedding_block_needs_its_embeddings_and_only_them():
    f = fit_featurizer([text_items()], FeatureSpec((FieldSpec("text", "text"),), **SMALL))
    with pytest.raises(ValueError, match="no embedding block"):
        f.transform(text_items(), _unit_rows(6))
    f.use_embeddings("toy-model", 8)
    with pytest.raises(ValueError, match="toy-model"):
        f.transform(text_items())
    with pytest.raises(ValueError, match="shape"):
        f.transform(text_items(), _unit_rows(6, dim=4))
    numeric = Featurizer(infer_spec([{"x": 1.0}]))
    with pytest.raises(ValueError, match="text field"):
        numeric.use_embeddings("toy-model", 8)


def test_embedding_featurizer_pickles_with_its_space_and_old_pickles_still_load():
    f = fit_featurizer([text_items()], FeatureSpec((FieldSpec("text", "text"),), **SMALL))
    f.use_embeddings("toy-model", 8)
    g = pickle.loads(pickle.dumps(f))
    assert (g.embedding_model, g.embedding_dim) == ("toy-model", 8)
    E = _unit_rows(6)
    assert abs(g.transform(text_items(), E) - f.transform(text_items(), E)).max() == 0
    # A featurizer pickled before the block existed has none of its attributes.
    old = fit_featurizer([text_items()], FeatureSpec((FieldSpec("text", "text"),), **SMALL))
    state = old.__getstate__()
    for name in ("embedding_model", "embedding_dim", "embedding_weight"):
        state.pop(name)
    revived = Featurizer.__new__(Featurizer)
    revived.__setstate__(state)
    assert revived.embedding_model is None and revived.n_features == 2**13
    assert abs(revived.transform(text_items()) - old.transform(text_items())).max() == 0
