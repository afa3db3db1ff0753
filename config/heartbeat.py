"""Worker heartbeats: each Celery worker writes a timestamp to the cache every few seconds,
so ``/healthz`` can tell whether any worker is alive without a broadcast (which kombu's
filesystem transport does not support)."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

KEY = "skein:worker-heartbeat"
INTERVAL_SECONDS = 10


def beat(hostname: str) -> None:
    beats = cache.get(KEY) or {}
    now = time.time()
    horizon = now - 10 * settings.SKEIN_WORKER_HEARTBEAT_SECONDS
    beats = {h: t for h, t in beats.items() if t > horizon}
    beats[hostname] = now
    cache.set(KEY, beats, timeout=None)


def live_workers() -> list[str]:
    beats = cache.get(KEY) or {}
    cutoff = time.time() - settings.SKEIN_WORKER_HEARTBEAT_SECONDS
    return sorted(h for h, t in beats.items() if t >= cutoff)


def start(sender: Any = None, **_: Any) -> None:
    """Connected to ``worker_ready``: beat from a daemon thread of the main worker process."""
    hostname = getattr(sender, "hostname", None) or "worker"

    def loop() -> None:
        while True:
            try:
                beat(hostname)
            except Exception:  # a cache hiccup must never kill the worker: log and beat again
                logger.warning("worker heartbeat to the cache failed", exc_info=True)
            time.sleep(INTERVAL_SECONDS)

    threading.Thread(target=loop, name="skein-heartbeat", daemon=True).start()
