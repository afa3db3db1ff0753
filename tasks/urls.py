"""Routes of the learning loop's part of the v1 API (included under ``api/v1/`` by
config/urls.py)."""

from django.urls import path

import config.converters  # noqa: F401  (registers <id:...>)
from tasks import api as models_api

urlpatterns = [
    path("projects/<id:project_id>/models/", models_api.ModelListView.as_view()),
    path("projects/<id:project_id>/models/train/", models_api.ModelTrainView.as_view()),
    path("models/<id:model_id>/activate/", models_api.ModelActivateView.as_view()),
    path("items/<id:item_id>/similar/", models_api.SimilarItemsView.as_view()),
    path("projects/<id:project_id>/embeddings/", models_api.EmbeddingProgressView.as_view()),
    path(
        "projects/<id:project_id>/prediction-runs/",
        models_api.PredictionRunListView.as_view(),
    ),
    path("prediction-runs/<id:run_id>/", models_api.PredictionRunDetailView.as_view()),
]
