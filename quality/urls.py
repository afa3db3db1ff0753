"""Routes of quality's part of the v1 API (included under ``api/v1/`` by config/urls.py)."""

from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)
from quality import api as quality_api

urlpatterns = [
    path("projects/<id:project_id>/export/", quality_api.ExportView.as_view()),
    path("projects/<id:project_id>/labelsets/", quality_api.LabelSetListView.as_view()),
    path("labelsets/<id:labelset_id>/", quality_api.LabelSetDetailView.as_view()),
    path("labelsets/<id:labelset_id>/download/", quality_api.LabelSetDownloadView.as_view()),
    path("projects/<id:project_id>/quality/", quality_api.QualityView.as_view()),
    path("projects/<id:project_id>/quality/me/", quality_api.QualityMeView.as_view()),
    path("projects/<id:project_id>/review/", quality_api.ReviewQueueView.as_view()),
    path("projects/<id:project_id>/label-errors/", quality_api.LabelErrorsView.as_view()),
    path("projects/<id:project_id>/review/<id:item_id>/", quality_api.ReviewDecisionView.as_view()),
    path("projects/<id:project_id>/items/<id:item_id>/gold/", quality_api.ItemGoldView.as_view()),
    path(
        "projects/<id:project_id>/members/<str:username>/requalify/",
        quality_api.RequalifyView.as_view(),
    ),
]
