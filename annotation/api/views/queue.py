"""The v1 API views of the labeling queue: claim the next item, submit, skip. The hot path:
the responses are built by hand, not by serializers."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import serializers as s
from annotation.api.inputs import request_body
from annotation.errors import InvalidInput
from annotation.selectors import LABELING_ROLES, project_for
from annotation.services import queue
from config.converters import id_param


class NextView(APIView):
    """Claim the next item (a POST: it writes an assignment, with its lease)."""

    @extend_schema(
        request=None,
        responses={200: s.NextSerializer, 204: None, 409: s.ConflictSerializer},
        parameters=[
            OpenApiParameter(
                "ahead_of",
                int,
                description="Prefetch: the assignment still on "
                "screen; answer with the item after it (at most two open leases).",
            )
        ],
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=LABELING_ROLES)
        raw_ahead_of = request.query_params.get("ahead_of")
        ahead_of = id_param(raw_ahead_of)
        if raw_ahead_of is not None and ahead_of is None:
            raise InvalidInput({"ahead_of": ["An assignment id."]})
        handout = queue.assignment_claim_next(project=project, user=request.user, ahead_of=ahead_of)
        if handout is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = selectors.item_data_for(handout.item.data, project=project)
        return Response(
            {
                "assignment": {
                    "id": handout.assignment.pk,
                    "expires_at": handout.assignment.expires_at,
                },
                "item": {
                    "id": handout.item.pk,
                    "external_id": handout.item.external_id,
                    "data": data,
                },
                "guideline_version": handout.guideline_version,
                "suggestion": handout.suggestion,
            }
        )


class SubmitView(APIView):
    @extend_schema(
        request=s.SubmitSerializer,
        responses={201: s.AnnotationSerializer, 200: s.AnnotationSerializer},
    )
    def post(self, request: Request, assignment_id: int) -> Response:
        body = request_body(request)
        annotation, created = queue.annotation_submit(
            assignment_id=assignment_id,
            user=request.user,
            labels=body.get("labels"),
            duration_ms=body.get("duration_ms"),
            client_id=body.get("client_id"),
        )
        data = {
            "id": annotation.pk,
            "item": annotation.item_id,
            "assignment": annotation.assignment_id,
            "annotator": request.user.username,
            "labels": annotation.labels,
            "guideline_version": annotation.guideline_version,
            "duration_ms": annotation.duration_ms,
            "client_id": annotation.client_id,
            "created_at": annotation.created_at,
        }
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SkipView(APIView):
    @extend_schema(request=s.SkipSerializer, responses={204: None})
    def post(self, request: Request, assignment_id: int) -> Response:
        body = request_body(request) if request.data else {}
        queue.assignment_skip(
            assignment_id=assignment_id, user=request.user, reason=body.get("reason", "")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
