"""The v1 API views of bulk actions on a project's items: ask for one (applied at once when
small, else a job), and follow a job's progress. Managers only; reviewers get 403,
labelers and outsiders 404 (annotation.selectors.project_for)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api import serializers as s
from annotation.errors import Forbidden, NotFound
from annotation.models import BulkAction, Project
from annotation.selectors import LABELER, MANAGING_ROLES, project_for
from annotation.services import bulk_actions


def _managed(request: Request, project_id: int) -> Project:
    """The project, for its managers; 404 to labelers (the workbench is not theirs to
    know of) and outsiders, 403 to reviewers (they read the items but do not act)."""
    project, role = project_for(user=request.user, project_id=project_id)
    if role == LABELER:
        raise NotFound({"detail": "Project not found."})
    if role not in MANAGING_ROLES:
        raise Forbidden({"detail": f"Your role ({role}) does not allow this."})
    return project


class BulkActionView(APIView):
    @extend_schema(
        request=s.BulkActionInput,
        responses={200: s.BulkActionResultSerializer, 202: s.BulkActionResultSerializer},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project = _managed(request, project_id)
        body = s.BulkActionInput.validated(request)
        outcome = bulk_actions.bulk_action_start(project=project, actor=request.user, body=body)
        if outcome.job is not None:
            return Response(
                {"action": outcome.action, "job": outcome.job.pk, "total": outcome.job.total},
                status=status.HTTP_202_ACCEPTED,
            )
        if outcome.affected is None:  # a dry run
            return Response({"action": outcome.action, **outcome.extra})
        return Response({"action": outcome.action, "affected": outcome.affected, **outcome.extra})


class BulkActionDetailView(APIView):
    @extend_schema(responses={200: s.BulkActionSerializer})
    def get(self, request: Request, project_id: int, bulk_id: int) -> Response:
        project = _managed(request, project_id)
        bulk = BulkAction.objects.filter(project=project, pk=bulk_id).first()
        if bulk is None:
            raise NotFound({"detail": "Bulk action not found."})
        return Response(bulk_actions.bulk_action_progress(bulk=bulk))
