"""Operations endpoints for admins: the audit log, listed and exported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.pagination import paginate, paginated
from annotation.csv_cells import csv_line
from annotation.errors import InvalidInput
from annotation.models import AuditEvent
from config.converters import id_param


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", default=None)
    # The stored id, so events of a deleted project still say which project they were about.
    project = serializers.IntegerField(source="project_ref_id", allow_null=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "project",
            "project_name",
            "target",
            "details",
        ]


def _events(request: Request) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.select_related("actor").order_by("-id")
    project = request.query_params.get("project")
    if project:
        project_id = id_param(project)
        if project_id is None:
            raise InvalidInput({"project": ["A project id."]})
        events = events.filter(project_ref_id=project_id)
    action = request.query_params.get("action")
    if action:
        events = events.filter(action=action)
    return events


def _rows(events: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    for event in events.iterator(chunk_size=2000):
        yield AuditEventSerializer(event).data


class AuditLogView(APIView):
    """The audit log (admins): JSON pages, or the whole log as CSV or JSONL."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        parameters=[
            OpenApiParameter("project", int),
            OpenApiParameter("action", str),
            OpenApiParameter("format", str, enum=["json", "csv", "jsonl"]),
        ],
        responses={200: paginated(AuditEventSerializer)},
    )
    def get(self, request: Request) -> Response | StreamingHttpResponse:
        events = _events(request)
        fmt = request.query_params.get("format", "json")
        if fmt == "json":
            return paginate(request, events, AuditEventSerializer)
        body: Iterator[str]
        if fmt == "jsonl":
            body = (json.dumps(row, default=str) + "\n" for row in _rows(events))
            content_type = "application/x-ndjson"
        elif fmt == "csv":

            def csv_lines() -> Iterator[str]:
                fields = [
                    "id",
                    "created_at",
                    "actor",
                    "action",
                    "project",
                    "target",
                    "details",
                    "project_name",
                ]
                yield csv_line(fields)
                for row in _rows(events):
                    yield csv_line(
                        [
                            row["id"],
                            row["created_at"],
                            row["actor"] or "",
                            row["action"],
                            row["project"] or "",
                            row["target"],
                            json.dumps(row["details"]),
                            row["project_name"],
                        ]
                    )

            body, content_type = csv_lines(), "text/csv"
        else:
            raise InvalidInput({"format": ["Use json, csv or jsonl."]})
        response = StreamingHttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="skein-audit.{fmt}"'
        return response
