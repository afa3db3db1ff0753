"""Image features on real images: scikit-learn's digits rendered to PNG files and read back
through the worker's decode path (tasks.learning.images), compared with the raw pixel list
the featurizer used before (the `pixels`/`image` list of numbers).

Prints, per feature set: 5-fold cross-validated accuracy with the project's own dense
estimator (tasks.learning.evaluate), accuracy after n random labels (the label-efficiency
view; mean and spread over seeds, tested on the rest), and featurization speed.

    nice .venv/bin/python bench/bench_images.py [--seeds 5] [--scale 4]
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tasks.learning import evaluate, train_model
from tasks.learning import images as im

LABEL_BUDGETS = (20, 40, 60, 100, 150, 200, 300)


def render(directory: Path, scale: int) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """Each digit as an 8-bit grayscale PNG (black ink on white, upscaled `scale`x)."""
    digits = load_digits()
    paths = []
    for n, pixels in enumerate(digits.images):
        shade = (255 - pixels * (255 / 16)).clip(0, 255).astype(np.uint8)
        image = Image.fromarray(shade, mode="L")
        if scale > 1:
            image = image.resize((8 * scale, 8 * scale), Image.Resampling.BILINEAR)
        path = directory / f"digit-{n:04d}.png"
        image.save(path)
        paths.append(path)
    return paths, digits.data, digits.target.astype(str)


def only(block: str, X: np.ndarray) -> np.ndarray:
    widths = {
        "layout": im.THUMB * im.THUMB,
        "shape": (im.CELLS - 1) ** 2 * 4 * im.BINS,
        "colour": im.COLOUR_BINS**3,
    }
    start = 0
    for name, width in widths.items():
        if name == block:
            return X[:, start : start + width]
        start += width
    raise KeyError(block)


def efficiency(X: np.ndarray, y: np.ndarray, seeds: int) -> dict[int, tuple[float, float]]:
    classes = sorted(set(y))
    out = {}
    for n in LABEL_BUDGETS:
        scores = []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            order = rng.permutation(len(y))
            train, test = order[:n], order[n:]
            model = train_model(
                X[train], list(y[train]), multi_label=False, classes=classes, seed=seed
            )
            scores.append(float((model.predict(X[test]) == y[test]).mean()))
        out[n] = (float(np.mean(scores)), float(np.std(scores)))
    return out


def photo_speed(n: int = 40) -> None:
    """Decode + features of photo-sized files (1600x1200, smooth shapes and noise): what a
    worker pays per image when scoring a pool of camera pictures."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:1200, 0:1600]
    base = np.stack([xx / 1600 * 255, yy / 1200 * 255, (xx + yy) % 256], axis=2)
    pixels = (base + rng.normal(0, 20, base.shape)).clip(0, 255).astype(np.uint8)
    for fmt in ("JPEG", "PNG"):
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        blob = out.getvalue()
        start = time.perf_counter()
        im.features_of([blob] * n)
        rate = n / (time.perf_counter() - start)
        print(f"1600x1200 {fmt} ({len(blob) / 1e6:.1f} MB): {rate:.0f} images/s on one core")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--scale", type=int, default=4, help="upscale the 8x8 digits")
    parser.add_argument("--speed-only", action="store_true", help="only the speed lines")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    photo_speed()
    with tempfile.TemporaryDirectory() as tmp:
        paths, raw, y = render(Path(tmp), args.scale)
        blobs = [p.read_bytes() for p in paths]
    size = Image.open(io.BytesIO(blobs[0])).size
    mean_bytes = sum(map(len, blobs)) / len(blobs)
    print(f"digits: {len(blobs)} PNG files, {size[0]}x{size[1]}, {mean_bytes:.0f} B mean")
    start = time.perf_counter()
    X = im.features_of(blobs)
    elapsed = time.perf_counter() - start
    print(f"decode + features: {len(blobs) / elapsed:.0f} images/s on one core ({X.shape[1]} dims)")
    if args.speed_only:
        return
    sets = {
        "raw 8x8 pixels (before)": raw / 16.0,
        "layout (16x16 gray)": only("layout", X),
        "shape (HOG)": only("shape", X),
        "layout + shape + colour (chosen)": X,
    }
    classes = sorted(set(y))
    header = "".join(f"{n:>13}" for n in LABEL_BUDGETS)
    title = f"accuracy after n random labels (mean ± sd, {args.seeds} seeds)"
    print(f"\n{'features':34} {'5-fold acc':>10}   {title}")
    print(f"{'':34} {'':>10}   {header}")
    for name, features in sets.items():
        cv = evaluate(features, list(y), multi_label=False, classes=classes, seed=0).accuracy
        curve = efficiency(features, y, args.seeds)
        cells = "".join(f"  {m:.3f}±{s:.3f}" for m, s in curve.values())
        print(f"{name:34} {cv:10.3f}   {cells}")


if __name__ == "__main__":
    main()
