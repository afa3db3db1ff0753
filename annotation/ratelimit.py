"""A login rate limit shared by the API token endpoint and the browser login page.

Fixed windows counted in the cache (Redis in production, so every web process shares them),
keyed by client address: guessing passwords costs a minute per few tries."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def _rate() -> tuple[int, int]:
    count, _, period = settings.SKEIN_LOGIN_RATE.partition("/")
    seconds = {"s": 1, "sec": 1, "min": 60, "m": 60, "hour": 3600, "h": 3600}[period or "min"]
    return int(count), seconds


def client_address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def login_attempt(request: HttpRequest) -> int | None:
    """Count one login attempt; None if allowed, else the seconds to wait."""
    limit, period = _rate()
    window = int(time.time() // period)
    key = f"skein:login:{client_address(request)}:{window}"
    if cache.add(key, 1, timeout=period + 1):
        attempts = 1
    else:
        try:
            attempts = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=period + 1)
            attempts = 1
    if attempts > limit:
        return period - int(time.time()) % period or 1
    return None
