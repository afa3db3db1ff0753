"""Deterministic slowness for the worker tests: ``SKEIN_FAULT_SLEEP="score:5,train:3"``.

Infrastructure any app may use (the learning loop's jobs, the bulk actions). Read by the
worker process only; unset in production, where it costs one dict lookup."""

from __future__ import annotations

import os
import time


def fault_sleep(stage: str) -> None:
    """Sleep the configured seconds at ``stage`` so a test can kill the worker mid-job."""
    spec = os.environ.get("SKEIN_FAULT_SLEEP", "")
    for part in spec.split(","):
        name, _, seconds = part.partition(":")
        if name.strip() == stage and seconds:
            time.sleep(float(seconds))
