"""Top-level routes: the v1 API, its schema and docs, the admin, health, and the UI."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health
from config.metrics import metrics_view
from labeling_ui.login import admin_login

urlpatterns = [
    path("admin/login/", admin_login),  # the admin's login behind the login rate limit
    path("admin/", admin.site.urls),
    path("api/v1/", include("annotation.api.urls")),
    path("api/v1/", include("quality.urls")),
    path("api/v1/", include("tasks.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script from ?script, not inline (config/csp.py).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="labeling_ui/api_docs.html"
        ),
        name="api-docs",
    ),
    path("healthz", health.healthz),
    path("metrics", metrics_view),
    path("", include("labeling_ui.urls")),
]
