"""Stabilizing predictions (Bloodgood & Vijay-Shanker 2009): when more labels stop paying.

Each model version predicts a fixed "stop set" of items; Cohen's kappa between two
successive versions' predictions on it says how much the model still changes. When the
agreement has stayed at or above ``STOP_KAPPA`` for the last ``STOP_WINDOW`` comparisons, the
model has stopped changing its mind: labeling more is unlikely to improve it much. The
defaults are the paper's (kappa >= 0.99 over three successive comparisons), checked on
digits and movie reviews in bench/bench_stopping.py (figures in bench/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

STOP_KAPPA = 0.99
STOP_WINDOW = 3


def prediction_kappa(a: npt.ArrayLike, b: npt.ArrayLike) -> float | None:
    """Cohen's kappa between two models' predicted classes on the same items (any hashable
    class values; for multi-label, pass one 0/1 decision per (item, label)). 1.0 when they
    agree everywhere, even on a single class (chance agreement 1, where kappa is 0/0);
    None for no items."""
    left = np.asarray(a)
    right = np.asarray(b)
    if left.shape != right.shape:
        raise ValueError(f"{left.shape} predictions against {right.shape}")
    n = left.size
    if n == 0:
        return None
    values, codes = np.unique(np.concatenate([left.ravel(), right.ravel()]), return_inverse=True)
    x, y = codes[:n], codes[n:]
    observed = float(np.mean(x == y))
    k = values.size
    chance = float(np.dot(np.bincount(x, minlength=k), np.bincount(y, minlength=k))) / (n * n)
    if chance >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return (observed - chance) / (1.0 - chance)


@dataclass(frozen=True)
class StopSignal:
    """``stop``: the last ``window`` kappas are all >= ``threshold``. ``recent``: those
    kappas, oldest first (fewer when fewer comparisons exist)."""

    stop: bool
    recent: tuple[float, ...]
    threshold: float
    window: int


def stop_signal(
    kappas: Sequence[float | None], *, threshold: float = STOP_KAPPA, window: int = STOP_WINDOW
) -> StopSignal:
    """The signal from successive versions' kappas, oldest first (None: not comparable)."""
    recent = tuple(kappas[-window:]) if window > 0 else ()
    values = tuple(float(k) for k in recent if k is not None)
    stop = len(recent) == window and len(values) == window and min(values) >= threshold
    return StopSignal(stop, values, threshold, window)
