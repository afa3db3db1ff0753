"""Routes of the core's part of the v1 API (the contract is docs/API.md; the schema is the
reference). Quality and the learning loop route theirs in quality/urls.py and tasks/urls.py;
config/urls.py includes all three under ``api/v1/``."""

from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)
from annotation.api import dashboard_views, ops_views
from annotation.api.views import (
    auth_users,
    bulk,
    feedback,
    guidelines,
    images,
    invites,
    items,
    projects,
    queue,
)

urlpatterns = [
    path("auth/token/", auth_users.TokenView.as_view()),
    path("auth/tokens/", auth_users.TokenListView.as_view()),
    path("auth/tokens/<id:token_id>/", auth_users.TokenDetailView.as_view()),
    path("users/", auth_users.UserCreateView.as_view()),
    path("users/me/", auth_users.MeView.as_view()),
    path("projects/", projects.ProjectListView.as_view()),
    path("projects/<id:project_id>/", projects.ProjectDetailView.as_view()),
    path("projects/<id:project_id>/progress/", projects.ProgressView.as_view()),
    path("projects/<id:project_id>/labels/rename/", projects.LabelRenameView.as_view()),
    path("projects/<id:project_id>/labels/merge/", projects.LabelMergeView.as_view()),
    path("projects/<id:project_id>/members/", projects.MemberListView.as_view()),
    path("projects/<id:project_id>/members/<str:username>/", projects.MemberDetailView.as_view()),
    path("projects/<id:project_id>/invites/", invites.ProjectInviteListView.as_view()),
    path(
        "projects/<id:project_id>/invites/<id:invite_id>/",
        invites.ProjectInviteDetailView.as_view(),
    ),
    path("invites/<str:token>/", invites.InviteView.as_view()),
    path("invites/<str:token>/accept/", invites.InviteAcceptView.as_view()),
    path("projects/<id:project_id>/guidelines/", guidelines.GuidelineListView.as_view()),
    path("projects/<id:project_id>/guidelines/current/", guidelines.GuidelineCurrentView.as_view()),
    path("projects/<id:project_id>/guidelines/acks/", guidelines.GuidelineAckListView.as_view()),
    path(
        "projects/<id:project_id>/guidelines/<id:version>/ack/",
        guidelines.GuidelineAckView.as_view(),
    ),
    path("projects/<id:project_id>/items/", items.ItemListView.as_view()),
    path("projects/<id:project_id>/items/import/", items.ItemImportView.as_view()),
    path("projects/<id:project_id>/items/bulk/", bulk.BulkActionView.as_view()),
    path("projects/<id:project_id>/items/bulk/<id:bulk_id>/", bulk.BulkActionDetailView.as_view()),
    path("projects/<id:project_id>/images/", images.ImageUploadView.as_view()),
    path("projects/<id:project_id>/images/<str:key>/", images.ImageFileView.as_view()),
    path("projects/<id:project_id>/next/", queue.NextView.as_view()),
    path("assignments/<id:assignment_id>/submit/", queue.SubmitView.as_view()),
    path("assignments/<id:assignment_id>/skip/", queue.SkipView.as_view()),
    path("assignments/<id:assignment_id>/flag/", feedback.FlagView.as_view()),
    path("items/<id:item_id>/", items.ItemStoryView.as_view()),
    path("items/<id:item_id>/comments/", feedback.CommentView.as_view()),
    path("projects/<id:project_id>/annotations/", items.AnnotationListView.as_view()),
    path("annotations/<id:annotation_id>/", items.AnnotationDetailView.as_view()),
    path("projects/<id:project_id>/dashboard/", dashboard_views.DashboardView.as_view()),
    path("audit/", ops_views.AuditLogView.as_view()),
]
