"""The login rate limit of every login form: the API token endpoint, the browser login page
and the Django admin's login.

Only FAILED attempts count, in fixed windows kept in the cache (Redis in production, so
every web process shares them), in two buckets:

* per account and client address (``SKEIN_LOGIN_RATE``, default 10/min): one person
  guessing one account from one place. Someone failing on the same account from another
  address fills a bucket of their own, so an attacker elsewhere cannot lock the real user
  out; colleagues behind one office address each have their own account's bucket.
* per client address over all accounts (``SKEIN_LOGIN_CLIENT_RATE``, default 50/min): one
  address trying a password across many accounts (spraying). A user who has logged in
  successfully from this address within ``SKEIN_LOGIN_KNOWN_DAYS`` is not held back by this
  bucket (only by their own), so a sprayer behind the office's address does not lock out
  the people who work there.

A correct password is refused only while the (account, client) bucket is full, i.e. after
failures on that very account from that very address; checking it anyway would tell a
guesser when they were right and make the limit pointless. The check and the count are not
one atomic step: a burst of parallel guesses can overshoot a limit by the requests in flight.

The client address is ``REMOTE_ADDR`` unless ``SKEIN_TRUSTED_PROXIES`` says how many proxies
of ours stand in front (as DRF's ``NUM_PROXIES``): then it is the address the outermost of
them saw, read from ``X-Forwarded-For``.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from annotation.accounts import username_skeleton

KNOWN_PREFIX = "skein:login:known"


def _rate(value: str) -> tuple[int, int]:
    count, _, period = value.partition("/")
    seconds = {"s": 1, "sec": 1, "min": 60, "m": 60, "hour": 3600, "h": 3600}[period or "min"]
    return int(count), seconds


def client_address(request: HttpRequest) -> str:
    """The caller's address: the socket peer, or, behind ``SKEIN_TRUSTED_PROXIES`` proxies
    of our own, the address the outermost one received the request from. Entries further
    left in ``X-Forwarded-For`` were written by the client and are never trusted."""
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    hops = settings.SKEIN_TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops <= 0 or not forwarded:
        return remote
    addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
    if not addresses:
        return remote
    return addresses[-min(hops, len(addresses))][:100]


def _digest(*parts: str) -> str:
    """Cache keys of a bounded length whatever a caller sends as a username."""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _account(username: str) -> str:
    """Look-alike spellings of one account share its bucket."""
    return username_skeleton(username[:150])


def _buckets(request: HttpRequest, username: str) -> list[tuple[str, int, int]]:
    """(key, limit, period) of the buckets that apply to this attempt."""
    client = client_address(request)
    account = _account(username)
    limit, period = _rate(settings.SKEIN_LOGIN_RATE)
    window = int(time.time() // period)
    buckets = [(f"skein:login:acct:{_digest(account, client)}:{window}", limit, period)]
    if cache.get(f"{KNOWN_PREFIX}:{_digest(account, client)}") is None:
        client_limit, client_period = _rate(settings.SKEIN_LOGIN_CLIENT_RATE)
        client_window = int(time.time() // client_period)
        buckets.append(
            (f"skein:login:client:{_digest(client)}:{client_window}", client_limit, client_period)
        )
    return buckets


def login_wait(request: HttpRequest, *, username: str) -> int | None:
    """None if this login may be tried now, else the seconds until it may."""
    buckets = _buckets(request, username)
    counts = cache.get_many([key for key, _, _ in buckets])
    waits = [
        period - int(time.time()) % period or 1
        for key, limit, period in buckets
        if counts.get(key, 0) >= limit
    ]
    return max(waits) if waits else None


def login_failed(request: HttpRequest, *, username: str) -> None:
    """Count one failed attempt in every bucket that applies to it."""
    for key, _, period in _buckets(request, username):
        if not cache.add(key, 1, timeout=period + 1):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=period + 1)


def login_succeeded(request: HttpRequest, *, username: str) -> None:
    """Remember that this account logs in from this address (see the module docstring)."""
    key = f"{KNOWN_PREFIX}:{_digest(_account(username), client_address(request))}"
    cache.set(key, 1, timeout=settings.SKEIN_LOGIN_KNOWN_DAYS * 86400)
