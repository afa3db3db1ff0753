"""Quality endpoints of the v1 API: the report, the review queue, gold answers,
qualification retries and a labeler's own gold accuracy."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.pagination import Pagination, paginated
from annotation.selectors import MANAGING_ROLES, REVIEWING_ROLES, project_for, start_of_today
from annotation.services.items import item_gold_set
from quality import metrics, selectors
from quality import serializers as qs
from quality.models import Qualification
from quality.report import rate
from quality.services import qualification as qualifying
from quality.services.report_cache import quality_report
from quality.services.review import review_queue, review_submit


class QualityView(APIView):
    """Agreement, annotators, guideline versions, review queue size; ``?slice=<data field>``."""

    @extend_schema(parameters=[OpenApiParameter("slice", str)],
                   responses={200: qs.QualityReportSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        return Response(quality_report(project=project,
                                                slice_field=request.query_params.get("slice")))


class QualityMeView(APIView):
    """A labeler's own gold accuracy (answers up to the start of the day, so that the figure
    never tells which of today's items were gold) and qualification standing."""

    @extend_schema(responses={200: qs.QualityMeSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id)
        as_of = start_of_today()
        correct, answered = selectors.own_gold_accuracy(project=project, user=request.user,
                                                        before=as_of)
        qualification = None
        if qualifying.qualification_required(project=project, user=request.user):
            qualification = qualifying.qualification_summary(
                Qualification.objects.filter(project=project, user=request.user).first(),
                project=project)
        interval = metrics.wilson_interval(correct, answered)
        return Response({
            "gold_accuracy": rate(correct, answered),
            "gold_interval": None if interval is None else list(interval),
            "gold_answered": answered,
            "as_of": as_of,
            "qualification": qualification,
        })


class ReviewQueueView(APIView):
    """Disputed items, weakest first, with every label given and who gave it."""

    @extend_schema(responses={200: paginated(qs.ReviewRowSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id,
                                 roles=REVIEWING_ROLES)
        rows = review_queue(project=project)
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request) or []
        return paginator.get_paginated_response(
            selectors.review_details(project=project, rows=page))


class ReviewDecisionView(APIView):
    """A reviewer's decision and note: the item's adjudicated label."""

    @extend_schema(request=qs.ReviewDecisionInput, responses={201: qs.ReviewSerializer})
    def post(self, request: Request, project_id: int, item_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id,
                                 roles=REVIEWING_ROLES)
        body = qs.ReviewDecisionInput.validated(request)
        review = review_submit(project=project, item_id=item_id,
                                        reviewer=request.user, labels=body["labels"],
                                        note=body.get("note", ""))
        return Response({"id": review.pk, "item": review.item_id, "labels": review.labels,
                         "note": review.note, "reviewer": request.user.username,
                         "created_at": review.created_at}, status=status.HTTP_201_CREATED)


class ItemGoldView(APIView):
    """Mark an item gold with its answer (``{"gold": ["label"]}``), or unmark (``null``)."""

    @extend_schema(request=qs.ItemGoldInput, responses={200: qs.ItemGoldSerializer})
    def patch(self, request: Request, project_id: int, item_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        item = item_gold_set(project=project, item_id=item_id, actor=request.user,
                                      **qs.ItemGoldInput.validated(request))
        return Response({"id": item.pk, "external_id": item.external_id, "gold": item.gold,
                         "is_gold": item.is_gold, "state": item.state})


class RequalifyView(APIView):
    """Let a labeler who failed qualification try again."""

    @extend_schema(request=None, responses={200: qs.RequalifySerializer})
    def post(self, request: Request, project_id: int, username: str) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        qualification = qualifying.qualification_retry(project=project, username=username,
                                                     actor=request.user)
        return Response({"username": username,
                         "qualification": qualifying.qualification_summary(qualification,
                                                                          project=project)})
