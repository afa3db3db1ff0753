"""Helpers of the fault tests: free ports and plain HTTP calls to a real server process."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


METRICS_TOKEN = "fault-tests-metrics-token"  # the servers these tests start


def http(
    base: str,
    method: str,
    path: str,
    token: str | None = None,
    body: dict | None = None,
    *,
    bearer: str | None = None,
) -> tuple[int, dict]:
    """One JSON request; answers (status, decoded body), HTTP errors included. ``bearer``
    is the metrics token (for /healthz's details), ``token`` an API token."""
    request = urllib.request.Request(
        base + path, method=method, data=json.dumps(body).encode() if body else None
    )
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    elif bearer:
        request.add_header("Authorization", f"Bearer {bearer}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw.startswith(b"{") else {"raw": raw.decode()}
