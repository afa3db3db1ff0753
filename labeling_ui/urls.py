"""Routes of the browser UI."""

from django.contrib.auth import views as auth_views
from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)
from labeling_ui import views
from labeling_ui.login import RateLimitedLoginView
from labeling_ui.review_views import review as review_page

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", RateLimitedLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/new/", views.project_new, name="project-new"),
    path("invite/<str:token>/", views.invite, name="invite"),
    path("projects/<id:project_id>/label/", views.label, name="label"),
    path("projects/<id:project_id>/dashboard/", views.dashboard, name="dashboard"),
    path("projects/<id:project_id>/settings/", views.project_settings, name="settings"),
    path("projects/<id:project_id>/data/", views.data, name="data"),
    path("projects/<id:project_id>/guideline/", views.guideline, name="guideline"),
    path(
        "projects/<id:project_id>/guideline/preview/",
        views.guideline_preview,
        name="guideline-preview",
    ),
    path("projects/<id:project_id>/members/", views.members, name="members"),
    path(
        "projects/<id:project_id>/items/<id:item_id>/",
        views.item_story,
        name="item-story",
    ),
    path("projects/<id:project_id>/review/", review_page, name="review"),
]
