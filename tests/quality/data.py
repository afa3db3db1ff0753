"""Synthetic annotations for the agreement and aggregation code: a hidden truth per item,
annotators who give it more often than chance, cells left empty at random. Shared by
tests/quality/test_metrics.py and bench/bench_quality.py; numpy only (no Django)."""

from __future__ import annotations

import numpy as np

Long = tuple[np.ndarray, np.ndarray, np.ndarray]


def make_annotations(
    n_items: int,
    n_annotators: int,
    n_classes: int,
    missing: float,
    seed: int,
    *,
    skill: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Long-form annotations (``item``, ``annotator``, ``label``) and each item's ``truth``.

    ``skill`` is each annotator's chance of giving the truth; by default drawn from
    uniform(0.3, 0.9). A wrong answer is a class drawn at random (the truth included)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_classes, n_items)
    if skill is None:
        skill = rng.uniform(0.3, 0.9, n_annotators)
    item = np.repeat(np.arange(n_items), n_annotators)
    annotator = np.tile(np.arange(n_annotators), n_items)
    right = rng.random(item.size) < skill[annotator]
    label = np.where(right, truth[item], rng.integers(0, n_classes, item.size))
    keep = rng.random(item.size) >= missing
    return {"item": item[keep], "annotator": annotator[keep], "label": label[keep], "truth": truth}


def make_long(n_items: int, n_annotators: int, n_classes: int, missing: float, seed: int) -> Long:
    """(item, annotator, label) of `make_annotations` with its default skills."""
    data = make_annotations(n_items, n_annotators, n_classes, missing, seed)
    return data["item"], data["annotator"], data["label"]
