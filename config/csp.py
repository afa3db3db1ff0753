"""A Content-Security-Policy on every response, so a markup injection can run no script.

Django 5.2 has no CSP of its own. Pages carry no inline script or style (every script is a
static file, every style in skein.css), so the policy needs no nonce and no 'unsafe-inline'.
Images come from the app, from ``data:`` URLs (item images may be sent inline, and Swagger UI
draws its icons with them) and from the hosts in SKEIN_CSP_IMG_HOSTS (item or guideline images
served from elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
_HOST = re.compile(r"(https?://)?(\*\.)?[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s;,']*)?")


def policy() -> str:
    """The policy text; read once per process (settings do not change while it runs)."""
    hosts = settings.SKEIN_CSP_IMG_HOSTS
    for host in hosts:
        # A ';' or a space would end the directive and let the setting write others.
        if not _HOST.fullmatch(host):
            raise ImproperlyConfigured(
                f"SKEIN_CSP_IMG_HOSTS: '{host}' is not a host source such as "
                "https://images.example.org or https://*.example.org"
            )
    img = ["'self'", "data:", *hosts]
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": img,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.header = policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(HEADER, self.header)
        return response
