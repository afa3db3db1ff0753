"""API views for model versions (list with metrics, train now, activate: roll back/forward)
and for the progress of a project's text embeddings, the runs of its model endpoint (ask
for one, see how they went), and an item's similar items."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.pagination import paginate, paginated
from annotation.api.serializers import ItemSerializer
from annotation.errors import Conflict, InvalidInput, NotFound
from annotation.models import Item, Project
from annotation.selectors import MANAGING_ROLES, REVIEWING_ROLES, item_data_for, project_for
from quality.selectors import suggestion_acceptance
from tasks import selectors
from tasks.models import ModelVersion, PredictionRun
from tasks.services.embeddings import embedder_name
from tasks.services.endpoint import prediction_run_request
from tasks.services.models import model_version_activate, model_version_request
from tasks.similarity import NoEmbedding, similar_items


class VersionStoppingSerializer(serializers.Serializer):
    prediction_agreement = serializers.FloatField(
        allow_null=True,
        help_text="Cohen's kappa between this version's and the previous version's "
        "predictions on the stop set.",
    )
    advice = serializers.CharField(help_text="The stopping signal in plain words.")


class ModelVersionSerializer(serializers.ModelSerializer):
    stopping = serializers.SerializerMethodField()

    @extend_schema_field(VersionStoppingSerializer(allow_null=True))
    def get_stopping(self, version: ModelVersion) -> dict[str, Any] | None:
        return selectors.version_stopping(version=version.version, metrics=version.metrics)

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "version",
            "state",
            "strategy",
            "aggregation",
            "n_labels",
            "metrics",
            "error",
            "attempts",
            "chunks_total",
            "chunks_done",
            "trigger",
            "takeover",
            "stopping",
            "created_at",
            "trained_at",
            "activated_at",
        ]
        extra_kwargs = {
            "takeover": {
                "help_text": "While the team's own predictions serve: this version's "
                "cross-validated accuracy against theirs on the same labeled items "
                "(own_accuracy, predictions_accuracy, compared_items, labeled_items, "
                'prediction_models) and the decision: "model" (it took over) or '
                '"predictions" (they keep serving; the version stays ready). Empty otherwise.'
            }
        }


class PredictionRunSerializer(serializers.ModelSerializer):
    chunks_total = serializers.SerializerMethodField()

    class Meta:
        model = PredictionRun
        fields = [
            "id",
            "state",
            "endpoint",
            "items_total",
            "items_predicted",
            "chunks_total",
            "chunks_done",
            "chunks_failed",
            "model_versions",
            "errors",
            "error",
            "created_at",
            "finished_at",
        ]

    def get_chunks_total(self, run: PredictionRun) -> int:
        return len(run.chunks)


class TeamPredictionsSerializer(serializers.Serializer):
    """Where the team's own predictions stand."""

    suggestion_source = serializers.ChoiceField(choices=Project.SuggestionSource.choices)
    in_charge = serializers.BooleanField(
        help_text="They serve as the project's suggestions and queue priority now."
    )
    items_with_predictions = serializers.IntegerField()
    latest_run = PredictionRunSerializer(allow_null=True)


class LearningCurvePointSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    n_labels = serializers.IntegerField()
    state = serializers.ChoiceField(choices=ModelVersion.State.choices)
    accuracy = serializers.FloatField(allow_null=True)
    macro_f1 = serializers.FloatField(allow_null=True)


class AgreementRateSerializer(serializers.Serializer):
    annotations = serializers.IntegerField()
    agree = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class SuggestionAgreementSerializer(serializers.Serializer):
    """How often labelers gave the suggested labels, when shown and when hidden (A/B)."""

    shown = AgreementRateSerializer()
    hidden = AgreementRateSerializer()


class StoppingSerializer(serializers.Serializer):
    """When to stop labeling: agreement of successive versions' predictions on the stop set."""

    state = serializers.ChoiceField(choices=["stop", "changing", "too_early", "no_model"])
    stop = serializers.BooleanField()
    reading = serializers.CharField(help_text="The signal in plain words.")
    version = serializers.IntegerField(allow_null=True)
    kappa = serializers.FloatField(allow_null=True, help_text="Against the previous version.")
    recent = serializers.ListField(child=serializers.FloatField())
    threshold = serializers.FloatField(allow_null=True)
    window = serializers.IntegerField(allow_null=True)
    stop_set_items = serializers.IntegerField()


ModelListSerializer = inline_serializer(
    name="ModelVersionPage",
    fields={
        "count": serializers.IntegerField(),
        "next": serializers.CharField(allow_null=True),
        "previous": serializers.CharField(allow_null=True),
        "results": ModelVersionSerializer(many=True),
        "active": ModelVersionSerializer(allow_null=True),
        "training_enabled": serializers.BooleanField(),
        "retrain_every": serializers.IntegerField(),
        "labels_since_last_model": serializers.IntegerField(),
        "learning_curve": LearningCurvePointSerializer(many=True),
        "suggestion_agreement": SuggestionAgreementSerializer(),
        "team_predictions": TeamPredictionsSerializer(),
        "stopping": StoppingSerializer(),
    },
)


class ModelListView(APIView):
    """Versions (newest first) with metrics and state, plus the active one, the learning
    curve, labels since the last model, how often labelers agree with suggestions and the
    stopping signal."""

    @extend_schema(responses={200: ModelListSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        response = paginate(
            request, selectors.model_versions(project=project), ModelVersionSerializer
        )
        active = selectors.active_version(project=project)
        response.data["active"] = ModelVersionSerializer(active).data if active else None
        response.data["training_enabled"] = project.training_enabled
        response.data["retrain_every"] = project.retrain_every
        response.data["labels_since_last_model"] = selectors.labels_since_last_model(
            project=project
        )
        response.data["learning_curve"] = selectors.learning_curve(project=project)
        response.data["suggestion_agreement"] = suggestion_acceptance(project=project)
        team = selectors.team_predictions(project=project)
        latest = team.pop("latest_run")
        response.data["team_predictions"] = {
            **team,
            "latest_run": PredictionRunSerializer(latest).data if latest else None,
        }
        response.data["stopping"] = selectors.stopping_signal(project=project)
        return response


class ModelTrainView(APIView):
    """Queue a training run now (managers); 409 while another run is in progress."""

    @extend_schema(request=None, responses={202: ModelVersionSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        version = model_version_request(project=project, actor=request.user, trigger="manual")
        version.refresh_from_db()
        return Response(ModelVersionSerializer(version).data, status=status.HTTP_202_ACCEPTED)


class ModelActivateView(APIView):
    """Roll back or forward: re-score the pool with this version, then make it active."""

    @extend_schema(request=None, responses={202: ModelVersionSerializer})
    def post(self, request: Request, model_id: int) -> Response:
        version = ModelVersion.objects.filter(pk=model_id).first()
        if version is None:
            raise NotFound({"detail": "Model not found."})
        project_for(user=request.user, project_id=version.project_id, roles=MANAGING_ROLES)
        version = model_version_activate(version=version, actor=request.user)
        return Response(ModelVersionSerializer(version).data, status=status.HTTP_202_ACCEPTED)


MAX_SIMILAR = 100
DEFAULT_SIMILAR = 10


class ReviewerItemSerializer(serializers.Serializer):
    """An item as a reviewer sees it (as in the review queue): never its gold answer,
    never the project's private fields."""

    id = serializers.IntegerField()
    external_id = serializers.CharField()
    data = serializers.JSONField()  # type: ignore[assignment]
    duplicate_group = serializers.IntegerField(allow_null=True)


SimilarItemsSerializer = inline_serializer(
    name="SimilarItems",
    fields={
        "item": serializers.IntegerField(),
        "k": serializers.IntegerField(),
        "model_id": serializers.CharField(),
        "candidates": serializers.IntegerField(),
        "results": inline_serializer(
            name="SimilarItem",
            fields={
                "similarity": serializers.FloatField(),
                "item": ItemSerializer(help_text="Reviewers get ReviewerItem's fields only."),
            },
            many=True,
        ),
    },
)


def _k(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_SIMILAR
    try:
        k = int(raw)
    except ValueError:
        k = 0
    if not 1 <= k <= MAX_SIMILAR:
        raise InvalidInput({"k": [f"Use a whole number from 1 to {MAX_SIMILAR}."]})
    return k


class SimilarItemsView(APIView):
    """The k items of the item's project most similar to it (cosine of their text
    embeddings), for managers and reviewers. 409 while the item has no embedding."""

    @extend_schema(
        parameters=[OpenApiParameter("k", int, description=f"1..{MAX_SIMILAR}, default 10")],
        responses={200: SimilarItemsSerializer},
    )
    def get(self, request: Request, item_id: int) -> Response:
        k = _k(request.query_params.get("k"))
        item = Item.objects.filter(pk=item_id).first()
        if item is None:
            raise NotFound({"detail": "Item not found."})
        try:
            project, role = project_for(
                user=request.user, project_id=item.project_id, roles=REVIEWING_ROLES
            )
        except NotFound:
            raise NotFound({"detail": "Item not found."}) from None
        try:
            found = similar_items(item=item, k=k)
        except NoEmbedding:
            raise Conflict(
                {
                    "detail": f"Item {item.pk} has no embedding yet: the embedding job has "
                    "not reached it (or no embedder is configured). Try again later.",
                    "code": "no_embedding",
                }
            ) from None
        items = [n.item for n in found.neighbours]
        shown: list[Any]
        if role in MANAGING_ROLES:
            # One serializer for the list: a ModelSerializer builds its fields per instance.
            shown = list(ItemSerializer(items, many=True).data)
        else:
            shown = [
                {
                    "id": i.pk,
                    "external_id": i.external_id,
                    "data": item_data_for(i.data, project=project),
                    "duplicate_group": i.duplicate_group,
                }
                for i in items
            ]
        results = [
            {"similarity": round(n.similarity, 4), "item": item}
            for n, item in zip(found.neighbours, shown, strict=True)
        ]
        return Response(
            {
                "item": item.pk,
                "k": k,
                "model_id": found.model_id,
                "candidates": found.candidates,
                "results": results,
            }
        )


class EmbeddingChunkCountsSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    running = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()


class EmbeddingProgressSerializer(serializers.Serializer):
    """How far a project's items are embedded (tasks.services.embedding_passes)."""

    enabled = serializers.BooleanField()
    embedder = serializers.CharField(allow_null=True)
    model_id = serializers.CharField(allow_null=True)
    items = serializers.IntegerField()
    embedded = serializers.IntegerField()
    chunks = EmbeddingChunkCountsSerializer()
    last_error = serializers.CharField(allow_blank=True)
    last_error_at = serializers.DateTimeField(allow_null=True)


class EmbeddingProgressView(APIView):
    """Items embedded of the items whose data is kept, chunks by state, the newest chunk
    error (managers)."""

    @extend_schema(responses={200: EmbeddingProgressSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        progress = selectors.embedding_progress(project=project, embedder=embedder_name())
        return Response(EmbeddingProgressSerializer(progress).data)


class PredictionRunListView(APIView):
    """A project's model-endpoint runs, newest first; POST asks for a new one (managers)."""

    @extend_schema(responses={200: paginated(PredictionRunSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        return paginate(
            request, selectors.prediction_runs(project=project), PredictionRunSerializer
        )

    @extend_schema(request=None, responses={202: PredictionRunSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        run = prediction_run_request(project=project, actor=request.user)
        return Response(PredictionRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class PredictionRunDetailView(APIView):
    @extend_schema(responses={200: PredictionRunSerializer})
    def get(self, request: Request, run_id: int) -> Response:
        run = PredictionRun.objects.filter(pk=run_id).first()
        if run is None:
            raise NotFound({"detail": "Prediction run not found."})
        project_for(user=request.user, project_id=run.project_id, roles=MANAGING_ROLES)
        return Response(PredictionRunSerializer(run).data)
