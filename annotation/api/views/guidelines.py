"""The v1 API views of a project's guidelines: publish, read, acknowledge, who acknowledged."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import serializers as s
from annotation.api.authentication import request_user
from annotation.api.pagination import paginate, paginated
from annotation.errors import NotFound
from annotation.selectors import MANAGING_ROLES, project_for
from annotation.services import guidelines


class GuidelineListView(APIView):
    @extend_schema(responses={200: paginated(s.GuidelineSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id)
        return paginate(request, selectors.guidelines_of(project=project), s.GuidelineSerializer)

    @extend_schema(
        request=s.GuidelineInput,
        responses={
            201: s.GuidelineSerializer,
            200: OpenApiResponse(
                s.GuidelineSerializer,
                "The text is the current version's: that version, nothing published.",
            ),
        },
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        guideline, created = guidelines.guideline_publish(
            project=project, actor=request.user, **s.GuidelineInput.validated(request)
        )
        return Response(
            s.GuidelineSerializer(guideline).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class GuidelineCurrentView(APIView):
    @extend_schema(responses={200: s.GuidelineSerializer, 404: s.ErrorSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id)
        guideline = selectors.current_guideline(project=project)
        if guideline is None:
            raise NotFound({"detail": "This project has no guideline yet."})
        acked = selectors.has_acknowledged(user=request_user(request), guideline=guideline)
        return Response(s.GuidelineSerializer(guideline, context={"acknowledged": acked}).data)


class GuidelineAckListView(APIView):
    """Who acknowledged which version (managers)."""

    @extend_schema(responses={200: s.GuidelineAckListSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        return Response({"results": selectors.guideline_acks_of(project=project)})


class GuidelineAckView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, project_id: int, version: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id)
        guidelines.guideline_acknowledge(project=project, user=request.user, version=version)
        return Response(status=status.HTTP_204_NO_CONTENT)
