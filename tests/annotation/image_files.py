"""Real image files for the image tests: PNGs drawn with Pillow, zipped in memory."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def png(pixels: np.ndarray | None = None, *, size: int = 24, shade: int = 0) -> bytes:
    """A grayscale PNG of `pixels` (uint8), or a flat square of `shade`."""
    if pixels is None:
        pixels = np.full((size, size), shade, dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="L").save(out, format="PNG")
    return out.getvalue()


def zipped(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def digit_pngs(n: int, *, classes: int = 10, scale: int = 4) -> tuple[dict[str, bytes], dict]:
    """The first `n` of scikit-learn's digits (of the first `classes` digits) as PNG files,
    black ink on white, upscaled; returns {file name: bytes} and {file name: digit}."""
    from sklearn.datasets import load_digits

    digits = load_digits(n_class=classes)
    files, truth = {}, {}
    for i, (pixels, target) in enumerate(zip(digits.images[:n], digits.target[:n], strict=True)):
        shade = (255 - pixels * (255 / 16)).clip(0, 255).astype(np.uint8)
        image = Image.fromarray(shade, mode="L").resize(
            (8 * scale, 8 * scale), Image.Resampling.BILINEAR
        )
        out = io.BytesIO()
        image.save(out, format="PNG")
        name = f"digits/{i:04d}.png"
        files[name] = out.getvalue()
        truth[name] = str(int(target))
    return files, truth
