"""The authentication backend of every login: the API token, the browser and the admin."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from annotation import ratelimit
from annotation.accounts import username_normalize


class LoginBackend(ModelBackend):
    """Django's model backend with the username normalised like a stored one, and every
    attempt made with a request counted for the login rate limit (annotation.ratelimit):
    the API token, the browser login and the admin login all come through here."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if isinstance(username, str):
            username = username_normalize(username)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if request is not None and isinstance(username, str):
            if user is None:
                ratelimit.login_failed(request, username=username)
            else:
                ratelimit.login_succeeded(request, username=username)
        return user
