"""Quality endpoints of the v1 API: the report, the review queue, gold answers,
qualification retries, a labeler's own gold accuracy, the aggregated export and label
sets."""

from __future__ import annotations

from django.http import FileResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api import serializers as s
from annotation.api.authentication import request_user
from annotation.api.pagination import Pagination, paginate, paginated
from annotation.errors import Gone, InvalidInput, NotFound
from annotation.models import LabelSet
from annotation.selectors import (
    MANAGING_ROLES,
    REVIEWING_ROLES,
    project_for,
    start_of_today,
)
from annotation.services import exports
from annotation.services.items import item_gold_set
from quality import labelsets, metrics, selectors
from quality import serializers as qs
from quality.export_aggregation import export_aggregator
from quality.jobs import enqueue_labelset_build
from quality.models import Qualification
from quality.report import rate
from quality.services import qualification as qualifying
from quality.services.report_cache import quality_report_get_or_schedule
from quality.services.review import review_queue, review_submit


class QualityView(APIView):
    """Agreement, annotators, guideline versions, review queue size; ``?slice=<data field>``."""

    @extend_schema(
        parameters=[OpenApiParameter("slice", str)], responses={200: qs.QualityReportSerializer}
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        return Response(
            quality_report_get_or_schedule(
                project=project, slice_field=request.query_params.get("slice")
            )
        )


class QualityMeView(APIView):
    """A labeler's own gold accuracy (answers up to the start of the day, so that the figure
    never tells which of today's items were gold) and qualification standing."""

    @extend_schema(responses={200: qs.QualityMeSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        user = request_user(request)
        project, _ = project_for(user=user, project_id=project_id)
        as_of = start_of_today()
        correct, answered = selectors.own_gold_accuracy(project=project, user=user, before=as_of)
        qualification = None
        if qualifying.qualification_required(project=project, user=user):
            qualification = qualifying.qualification_summary(
                Qualification.objects.filter(project=project, user=user).first(), project=project
            )
        interval = metrics.wilson_interval(correct, answered)
        return Response(
            {
                "gold_accuracy": rate(correct, answered),
                "gold_interval": None if interval is None else list(interval),
                "gold_answered": answered,
                "as_of": as_of,
                "qualification": qualification,
            }
        )


class ReviewQueueView(APIView):
    """Disputed items, weakest first, with every label given and who gave it."""

    @extend_schema(responses={200: paginated(qs.ReviewRowSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=REVIEWING_ROLES)
        rows = review_queue(project=project)
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request) or []
        return paginator.get_paginated_response(
            selectors.review_details(project=project, rows=page)
        )


class LabelErrorsView(APIView):
    """The possible label errors found with a model version (the newest, or ``?version=``),
    most likely wrong first; gold items never appear."""

    @extend_schema(
        parameters=[OpenApiParameter("version", int)],
        responses={
            200: inline_serializer(
                name="LabelErrorPage",
                fields={
                    "count": serializers.IntegerField(),
                    "next": serializers.CharField(allow_null=True),
                    "previous": serializers.CharField(allow_null=True),
                    "results": qs.LabelErrorRowSerializer(many=True),
                    "check": qs.LabelErrorCheckSerializer(allow_null=True),
                },
            )
        },
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=REVIEWING_ROLES)
        raw = request.query_params.get("version")
        version = None
        if raw is not None:
            if not raw.isdigit() or len(raw) > 9:
                raise InvalidInput({"version": ["A model version number."]})
            version = int(raw)
        error_list = selectors.label_error_list(project=project, model_version=version)
        if error_list is None:
            if version is not None:
                raise NotFound({"detail": f"No label-error check for model version {version}."})
            response = Response({"count": 0, "next": None, "previous": None, "results": []})
            response.data["check"] = None
            return response
        response = paginate(
            request, selectors.label_errors_of(error_list=error_list), qs.LabelErrorRowSerializer
        )
        response.data["check"] = qs.LabelErrorCheckSerializer(error_list).data
        return response


class ReviewDecisionView(APIView):
    """A reviewer's decision and note: the item's adjudicated label."""

    @extend_schema(request=qs.ReviewDecisionInput, responses={201: qs.ReviewSerializer})
    def post(self, request: Request, project_id: int, item_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=REVIEWING_ROLES)
        body = qs.ReviewDecisionInput.validated(request)
        review = review_submit(
            project=project,
            item_id=item_id,
            reviewer=request.user,
            labels=body["labels"],
            note=body.get("note", ""),
        )
        return Response(
            {
                "id": review.pk,
                "item": review.item_id,
                "labels": review.labels,
                "note": review.note,
                "reviewer": request.user.username,
                "created_at": review.created_at,
            },
            status=status.HTTP_201_CREATED,
        )


class ItemGoldView(APIView):
    """Mark an item gold with its answer (``{"gold": ["label"]}``), or unmark (``null``)."""

    @extend_schema(request=qs.ItemGoldInput, responses={200: qs.ItemGoldSerializer})
    def patch(self, request: Request, project_id: int, item_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        item = item_gold_set(
            project=project,
            item_id=item_id,
            actor=request.user,
            **qs.ItemGoldInput.validated(request),
        )
        return Response(
            {
                "id": item.pk,
                "external_id": item.external_id,
                "gold": item.gold,
                "is_gold": item.is_gold,
                "state": item.state,
            }
        )


class RequalifyView(APIView):
    """Let a labeler who failed qualification try again."""

    @extend_schema(request=None, responses={200: qs.RequalifySerializer})
    def post(self, request: Request, project_id: int, username: str) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        qualification = qualifying.qualification_retry(
            project=project, username=username, actor=request.user
        )
        return Response(
            {
                "username": username,
                "qualification": qualifying.qualification_summary(qualification, project=project),
            }
        )


class ExportView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(exports.FORMATS)),
            OpenApiParameter("aggregation", str, enum=list(exports.AGGREGATIONS)),
            OpenApiParameter("state", str, enum=list(exports.STATES)),
            OpenApiParameter("include_private", bool),
        ],
        responses={(200, "application/x-ndjson"): str},
    )
    def get(self, request: Request, project_id: int) -> StreamingHttpResponse:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        params = request.query_params
        options = exports.export_options(
            fmt=params.get("format"),
            aggregation=params.get("aggregation"),
            state=params.get("state"),
        )
        include_private = params.get("include_private", "").lower() in ("1", "true")
        labelsets.export_audit(
            project=project,
            actor=request.user,
            options={**options, "include_private": include_private},
        )
        aggregate = export_aggregator(project=project, aggregation=options["aggregation"])
        records = exports.export_records(
            project=project,
            aggregate=aggregate,
            state=options["state"],
            include_private=include_private,
        )
        response = StreamingHttpResponse(
            exports.encode_stream(exports.render_export(records, options["format"])),
            content_type=exports.CONTENT_TYPES[options["format"]],
        )
        response["Content-Disposition"] = (
            f'attachment; filename="project{project.pk}-labels.{options["format"]}"'
        )
        return response


class LabelSetListView(APIView):
    @extend_schema(responses={200: paginated(s.LabelSetSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        return paginate(request, project.labelsets.order_by("-version"), s.LabelSetSerializer)

    @extend_schema(request=s.LabelSetRequestInput, responses={202: s.LabelSetSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        body = s.LabelSetRequestInput.validated(request)
        labelset = labelsets.labelset_request(
            project=project,
            actor=request.user,
            fmt=body.get("format"),
            aggregation=body.get("aggregation"),
            state=body.get("state"),
        )
        enqueue_labelset_build(labelset_id=labelset.pk)
        return Response(s.LabelSetSerializer(labelset).data, status=status.HTTP_202_ACCEPTED)


def _labelset_for(request: Request, labelset_id: int) -> LabelSet:
    labelset = LabelSet.objects.select_related("project").filter(pk=labelset_id).first()
    if labelset is None:
        raise NotFound({"detail": "No such label set."})
    project_for(user=request.user, project_id=labelset.project_id, roles=MANAGING_ROLES)
    return labelset


class LabelSetDetailView(APIView):
    @extend_schema(responses={200: s.LabelSetSerializer})
    def get(self, request: Request, labelset_id: int) -> Response:
        return Response(s.LabelSetSerializer(_labelset_for(request, labelset_id)).data)


class LabelSetDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): str})
    def get(self, request: Request, labelset_id: int) -> StreamingHttpResponse:
        labelset = _labelset_for(request, labelset_id)
        if labelset.state == LabelSet.State.ERASED:
            raise Gone({"detail": labelset.error})
        if labelset.state != LabelSet.State.READY:
            raise NotFound({"detail": f"This snapshot is {labelset.state}, not ready yet."})
        response = FileResponse(
            labelsets.labelset_open(labelset=labelset),
            as_attachment=True,
            filename=f"project{labelset.project_id}-labelset-v{labelset.version}.{labelset.format}",
            content_type=exports.CONTENT_TYPES[labelset.format],
        )
        response["X-Content-SHA256"] = labelset.sha256
        return response
