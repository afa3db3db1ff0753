"""Routes of the core's part of the v1 API (the contract is docs/API.md; the schema is the
reference). Quality and the learning loop route theirs in quality/urls.py and tasks/urls.py;
config/urls.py includes all three under ``api/v1/``."""

from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)
from annotation.api import dashboard_views, ops_views
from annotation.api.views import items as v

urlpatterns = [
    path("auth/token/", v.TokenView.as_view()),
    path("auth/tokens/", v.TokenListView.as_view()),
    path("auth/tokens/<id:token_id>/", v.TokenDetailView.as_view()),
    path("users/", v.UserCreateView.as_view()),
    path("users/me/", v.MeView.as_view()),
    path("projects/", v.ProjectListView.as_view()),
    path("projects/<id:project_id>/", v.ProjectDetailView.as_view()),
    path("projects/<id:project_id>/progress/", v.ProgressView.as_view()),
    path("projects/<id:project_id>/members/", v.MemberListView.as_view()),
    path("projects/<id:project_id>/members/<str:username>/", v.MemberDetailView.as_view()),
    path("projects/<id:project_id>/guidelines/", v.GuidelineListView.as_view()),
    path("projects/<id:project_id>/guidelines/current/", v.GuidelineCurrentView.as_view()),
    path("projects/<id:project_id>/guidelines/acks/", v.GuidelineAckListView.as_view()),
    path("projects/<id:project_id>/guidelines/<id:version>/ack/", v.GuidelineAckView.as_view()),
    path("projects/<id:project_id>/items/", v.ItemListView.as_view()),
    path("projects/<id:project_id>/items/import/", v.ItemImportView.as_view()),
    path("projects/<id:project_id>/next/", v.NextView.as_view()),
    path("assignments/<id:assignment_id>/submit/", v.SubmitView.as_view()),
    path("assignments/<id:assignment_id>/skip/", v.SkipView.as_view()),
    path("projects/<id:project_id>/annotations/", v.AnnotationListView.as_view()),
    path("annotations/<id:annotation_id>/", v.AnnotationDetailView.as_view()),
    path("projects/<id:project_id>/dashboard/", dashboard_views.DashboardView.as_view()),
    path("audit/", ops_views.AuditLogView.as_view()),
]
