"""The v1 API views of projects: list, create, read, update, progress, and members."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import serializers as s
from annotation.api.authentication import request_user
from annotation.api.pagination import paginate, paginated
from annotation.errors import Forbidden
from annotation.selectors import MANAGING_ROLES, project_for
from annotation.services import projects


class ProjectListView(APIView):
    @extend_schema(operation_id="v1_projects_list", responses={200: paginated(s.ProjectSerializer)})
    def get(self, request: Request) -> Response:
        qs = selectors.projects_for(user=request_user(request)).prefetch_related("labels")
        roles = selectors.project_roles_of(user=request_user(request))
        return paginate(request, qs, s.ProjectSerializer, context={"roles": roles})

    @extend_schema(request=s.ProjectCreateInput, responses={201: s.ProjectSerializer})
    def post(self, request: Request) -> Response:
        if not selectors.can_create_projects(user=request.user):
            raise Forbidden({"detail": "Ask an admin for permission to create projects."})
        project = projects.project_create(
            creator=request.user, **s.ProjectCreateInput.validated(request)
        )
        data = s.ProjectSerializer(project, context={"roles": {project.pk: "manager"}}).data
        return Response(data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(responses={200: s.ProjectSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, role = project_for(user=request.user, project_id=project_id)
        return Response(s.ProjectSerializer(project, context={"roles": {project.pk: role}}).data)

    @extend_schema(request=s.ProjectUpdateInput, responses={200: s.ProjectSerializer})
    def patch(self, request: Request, project_id: int) -> Response:
        project, role = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        project = projects.project_update(
            project=project, actor=request.user, **s.ProjectUpdateInput.validated(request)
        )
        return Response(s.ProjectSerializer(project, context={"roles": {project.pk: role}}).data)


class ProgressView(APIView):
    """Counts for the dashboard (managers) or the labeler's own numbers."""

    @extend_schema(responses={200: s.ProgressSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, role = project_for(user=request.user, project_id=project_id)
        data: dict[str, Any] = {
            "me": selectors.labeler_stats(user=request_user(request), project=project)
        }
        if role in MANAGING_ROLES:
            data["progress"] = selectors.project_progress(project=project)
        return Response(data)


class MemberListView(APIView):
    @extend_schema(responses={200: paginated(s.MembershipSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        qs = selectors.memberships_of(project=project)
        return paginate(request, qs, s.MembershipSerializer)

    @extend_schema(request=s.MemberInput, responses={201: s.MembershipSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        membership = projects.member_set(
            project=project, actor=request.user, **s.MemberInput.validated(request)
        )
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, username: str) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        projects.member_remove(project=project, actor=request.user, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)
