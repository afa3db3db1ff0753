"""The v1 API views of projects: list, create, read, update, progress, and members."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import serializers as s
from annotation.api.authentication import request_user
from annotation.api.inputs import InputSerializer
from annotation.api.pagination import paginate, paginated
from annotation.errors import Forbidden, InvalidInput
from annotation.selectors import MANAGING_ROLES, project_for
from annotation.services import labels, projects


def _archived_filter(request: Request) -> bool | None:
    value = request.query_params.get("archived")
    if value is None:
        return None
    if value not in ("true", "false"):
        raise InvalidInput({"archived": ["Must be true or false."]})
    return value == "true"


class ProjectListView(APIView):
    @extend_schema(
        operation_id="v1_projects_list",
        parameters=[
            OpenApiParameter(
                "archived",
                bool,
                description="true: only archived projects; false: only live ones. Archived "
                "projects are listed to their managers and admins only.",
            )
        ],
        responses={200: paginated(s.ProjectSerializer)},
    )
    def get(self, request: Request) -> Response:
        qs = selectors.projects_for(
            user=request_user(request), archived=_archived_filter(request)
        ).prefetch_related("labels")
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

    @extend_schema(request=s.ProjectDeleteInput, responses={204: None})
    def delete(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id)
        confirm = s.ProjectDeleteInput.validated(request)["confirm"]
        projects.project_delete(project=project, actor=request.user, confirm=confirm)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _LabelChangeView(APIView):
    """A manager's change to a label in use: one service call, then the schema as it is now."""

    body: type[InputSerializer]
    change: Callable[..., dict[str, Any]]

    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        details = type(self).change(
            project=project, actor=request.user, **self.body.validated(request)
        )
        names = project.labels.order_by("order", "id")
        return Response({**details, "labels": s.LabelSerializer(names, many=True).data})


@extend_schema_view(
    post=extend_schema(request=s.LabelRenameInput, responses={200: s.LabelChangeSerializer})
)
class LabelRenameView(_LabelChangeView):
    """Rename a label in use: annotations, gold answers, reviews and predictions follow."""

    body = s.LabelRenameInput
    change = labels.label_rename


@extend_schema_view(
    post=extend_schema(request=s.LabelMergeInput, responses={200: s.LabelChangeSerializer})
)
class LabelMergeView(_LabelChangeView):
    """Merge one label into another: its uses become the other, and it leaves the schema."""

    body = s.LabelMergeInput
    change = labels.label_merge


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
