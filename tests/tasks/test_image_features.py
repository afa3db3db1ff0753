"""tasks.learning.images and the featurizer's image_file fields, on real encoded files."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from PIL import Image

from tasks.learning import evaluate, fit_featurizer, infer_spec
from tasks.learning.images import (
    ImageDecodeError,
    decode,
    features_of,
    image_features,
    n_image_features,
)
from tests.annotation.image_files import digit_pngs


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def test_every_accepted_format_and_mode_decodes_to_the_same_shape():
    rgb = Image.new("RGB", (50, 30), (200, 10, 10))
    files = [
        _encoded(rgb, "PNG"),
        _encoded(rgb, "JPEG", quality=90),
        _encoded(rgb.convert("P"), "GIF"),
        _encoded(rgb, "WEBP"),
        _encoded(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), "PNG"),  # transparent
        _encoded(Image.new("I;16", (9, 9), 300), "PNG"),
    ]
    for blob in files:
        assert decode(blob).shape == (32, 32, 3)
    jpeg = decode(files[1])
    assert jpeg[..., 0].mean() > 0.7 and jpeg[..., 1].mean() < 0.15  # still red
    assert np.allclose(decode(files[4]), 1.0)  # transparency is drawn on white


def test_bad_and_oversized_images_are_refused_and_become_zero_rows():
    with pytest.raises(ImageDecodeError):
        decode(b"not an image")
    big = _encoded(Image.new("1", (3000, 3000)), "PNG")
    with pytest.raises(ImageDecodeError, match="over the limit"):
        decode(big, max_pixels=1_000_000)
    ramp = np.tile(np.arange(0, 250, 25, dtype=np.uint8), (10, 1))
    good = _encoded(Image.fromarray(ramp, mode="L"), "PNG")
    rows = features_of([good, b"junk", None])
    assert rows.shape == (3, n_image_features())
    assert np.linalg.norm(rows[0]) == pytest.approx(1.0)  # three unit blocks, weighted
    assert not rows[1].any() and not rows[2].any()


def test_features_ignore_brightness_and_tolerate_a_small_shift():
    rng = np.random.default_rng(0)
    shape = np.zeros((32, 32))
    shape[8:24, 14:18] = 1.0  # a vertical bar
    base = image_features(np.repeat(shape[..., None], 3, axis=2) * 0.8)
    dimmer = image_features(np.repeat(shape[..., None], 3, axis=2) * 0.4)
    shifted = image_features(np.repeat(np.roll(shape, 1, axis=1)[..., None], 3, axis=2) * 0.8)
    other = image_features(np.repeat(shape.T[..., None], 3, axis=2) * 0.8)  # horizontal bar
    noise = image_features(rng.random((32, 32, 3)))
    assert base @ shifted > base @ other and base @ shifted > base @ noise
    assert base[: 16 * 16] @ dimmer[: 16 * 16] == pytest.approx(0.25, rel=1e-6)  # layout block


@pytest.mark.slow
def test_a_featurizer_learns_digits_from_png_files():
    files, truth = digit_pngs(600)
    data = [{"stored_image": blob} for blob in files.values()]
    spec = infer_spec([{"stored_image": "0" * 32, "caption": "x"}])
    kinds = {f.name: f.kind for f in spec.fields}
    assert kinds == {"caption": "text", "stored_image": "image_file"}
    featurizer = pickle.loads(pickle.dumps(fit_featurizer([data])))
    X = featurizer.transform(data)
    assert X.shape == (600, n_image_features()) == (600, featurizer.n_features)
    labels = list(truth.values())
    metrics = evaluate(X, labels, multi_label=False, classes=sorted(set(labels)), seed=0)
    assert metrics.accuracy >= 0.9  # chance: 0.1


def test_image_urls_are_image_files_only_when_fetching_is_allowed():
    sample = [{"image": "https://img.example.org/1.png"}]
    assert infer_spec(sample).fields[0].kind == "text"
    assert infer_spec(sample, image_urls=True).fields[0].kind == "image_file"
