"""Top-level routes: the v1 API, its schema and docs, the admin, health, and the UI."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import health
from config.metrics import metrics_view
from labeling_ui.login import admin_login

urlpatterns = [
    path("admin/login/", admin_login),  # the admin's login behind the login rate limit
    path("admin/", admin.site.urls),
    path("api/v1/", include("annotation.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("healthz", health.healthz),
    path("metrics", metrics_view),
    path("", include("labeling_ui.urls")),
]
