"""API views for the manager's dashboard (read-only)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api import serializers as s
from annotation.dashboard import project_dashboard
from annotation.selectors import MANAGING_ROLES, project_for


class DashboardView(APIView):
    """Progress, annotations per hour, label distribution, annotators and leases."""

    @extend_schema(responses={200: s.DashboardSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        return Response(project_dashboard(project=project))
