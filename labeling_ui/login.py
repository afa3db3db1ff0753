"""The browser login page and the admin's, behind the same failed-login limit as the API's
token endpoint (annotation.ratelimit; failures are counted by annotation.backends)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse

from annotation.ratelimit import login_wait


def _too_many(wait: int) -> str:
    return f"Too many login attempts; try again in {wait} seconds."


class LoginForm(AuthenticationForm):
    """Django's login form, saying which field is missing (shown next to that field)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username."
        self.fields["password"].error_messages["required"] = "Enter your password."


class RateLimitedLoginView(auth_views.LoginView):
    template_name = "labeling_ui/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        wait = login_wait(request, username=str(request.POST.get("username", "")))
        if wait is not None:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, _too_many(wait))
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)


def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The Django admin's own login, refused with 429 while the limit holds."""
    if request.method == "POST":
        wait = login_wait(request, username=str(request.POST.get("username", "")))
        if wait is not None:
            response = HttpResponse(
                _too_many(wait) + "\n", status=429, content_type="text/plain; charset=utf-8"
            )
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request, extra_context)
