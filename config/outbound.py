"""Which URLs the server may call on its own (a project's model endpoint): http(s) only,
and never an address inside the server's network (loopback, private, link-local such as
cloud metadata at 169.254.169.254, multicast, reserved) unless an admin allows it with
``SKEIN_ALLOW_PRIVATE_ENDPOINTS``. Infrastructure: knows no app.

``url_check`` is what a settings form can afford (scheme, host, a literal address or
``localhost``); ``url_resolve`` also resolves the name and checks every address it has, and
is called just before each connection. The caller then connects to the checked address
(``http_post_json``), so a name that resolves elsewhere a moment later (DNS rebinding)
cannot move the request; redirects are not followed.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings


class OutboundRefused(ValueError):
    """The URL may not be called; the message says why."""


def _private_allowed() -> bool:
    return bool(getattr(settings, "SKEIN_ALLOW_PRIVATE_ENDPOINTS", False))


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def url_check(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL the server may call, as far as can be told without
    resolving the name; raises OutboundRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused("only http:// and https:// URLs can be called")
    host = parts.hostname or ""
    if not host:
        raise OutboundRefused("the URL has no host")
    if parts.username or parts.password:
        raise OutboundRefused("credentials in the URL are not allowed")
    if not _private_allowed():
        if host == "localhost" or host.endswith(".localhost"):
            raise OutboundRefused(
                "a loopback address is refused (an admin may allow private endpoints)"
            )
        try:
            private = _is_private(host)
        except ValueError:
            private = False  # a name: checked when resolved
        if private:
            raise OutboundRefused(
                f"{host} is a private, loopback or reserved address (an admin may allow "
                "private endpoints with SKEIN_ALLOW_PRIVATE_ENDPOINTS)"
            )
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


def url_resolve(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to): the URL checked, its name resolved, and
    every address it resolves to checked; raises OutboundRefused."""
    scheme, host, port = url_check(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundRefused(f"cannot resolve {host} ({exc})") from None
    addresses = [info[4][0] for info in infos]
    if not _private_allowed():
        bad = [a for a in addresses if _is_private(str(a))]
        if bad:
            raise OutboundRefused(
                f"{host} resolves to {bad[0]}, a private, loopback or reserved address (an "
                "admin may allow private endpoints with SKEIN_ALLOW_PRIVATE_ENDPOINTS)"
            )
    return scheme, host, port, str(addresses[0])


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, with the certificate checked for the URL's host name."""

    def __init__(self, address: str, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def http_post_json(url: str, payload: Any, *, timeout: float, max_bytes: int) -> tuple[int, bytes]:
    """POST ``payload`` as JSON to a checked URL; (status, body). The body is cut at
    ``max_bytes`` + 1 bytes so the caller can tell it was too long. Raises
    OutboundRefused, OSError (incl. timeouts) or http.client.HTTPException."""
    scheme, host, port, address = url_resolve(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = _PinnedHTTPS(address, host, port, timeout)
    else:
        connection = http.client.HTTPConnection(address, port, timeout=timeout)
    body = json.dumps(payload).encode()
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={
                "Host": host if port in (80, 443) else f"{host}:{port}",
                "Content-Type": "application/json",
                "Accept": "application/json",
                "User-Agent": "Skein-model-endpoint/1",
            },
        )
        response = connection.getresponse()
        return response.status, response.read(max_bytes + 1)
    finally:
        connection.close()
