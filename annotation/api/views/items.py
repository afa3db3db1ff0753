"""The v1 API views of a project's items and annotations: import and list items, one item's
story, list annotations, change one's own last answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import serializers as s
from annotation.api.authentication import request_user
from annotation.api.feedback_serializers import ItemStorySerializer
from annotation.api.pagination import paginate, paginated
from annotation.api.parsers import FormParser, ImportJSONParser, MultiPartParser
from annotation.errors import InvalidInput, NotFound
from annotation.selectors import MANAGING_ROLES, project_for
from annotation.services import imports, queue
from annotation.story import item_story


class ItemImportView(APIView):
    # The file's size is capped while it is read (annotation/uploads.py), before this view.
    parser_classes = [MultiPartParser, FormParser, ImportJSONParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            },
            "application/json": {"type": "array", "items": {"type": "object"}},
        },
        responses={201: s.ImportResultSerializer, 400: s.ImportRejectedSerializer},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is not None:
            fmt = imports.format_from_name(upload.name or "")
            result = imports.items_import(
                project=project,
                stream=upload.file,
                fmt=fmt,
                actor=request.user,
                source=upload.name or "",
            )
        elif isinstance(request.data, list):
            result = imports.items_import_records(
                project=project, records=request.data, actor=request.user
            )
        else:
            items = request.data.get("items") if isinstance(request.data, dict) else None
            if items is None:
                raise InvalidInput(
                    {"file": ["Send a file (multipart field 'file') or a JSON list of items."]}
                )
            result = imports.items_import_records(
                project=project, records=items, actor=request.user
            )
        return Response(
            {
                "created": result.created,
                "duplicates": result.duplicates,
                "near_duplicates": result.near_duplicates.as_dict(),
                "predictions": result.predictions,
            },
            status=status.HTTP_201_CREATED,
        )


class ItemListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("state", str), OpenApiParameter("has_gold", bool)],
        responses={200: paginated(s.ItemSerializer)},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        state = request.query_params.get("state")
        if state and state not in ("open", "leased", "complete"):
            raise InvalidInput({"state": ["Use open, leased or complete."]})
        has_gold_raw = request.query_params.get("has_gold")
        has_gold = None
        if has_gold_raw is not None:
            if has_gold_raw.lower() not in ("true", "false", "1", "0"):
                raise InvalidInput({"has_gold": ["Use true or false."]})
            has_gold = has_gold_raw.lower() in ("true", "1")
        qs = selectors.items_for_manager(project=project, state=state, has_gold=has_gold)
        return paginate(request, qs, s.ItemSerializer)


class ItemStoryView(APIView):
    """One item's story: managers read all; reviewers every item without what a labeler may
    not see (gold answer, private field, hidden suggestion, model prediction, audit); 404 to
    anyone else, the same as for an item that does not exist."""

    @extend_schema(responses={200: ItemStorySerializer})
    def get(self, request: Request, item_id: int) -> Response:
        item, role = selectors.item_for(user=request.user, item_id=item_id, purpose="story")
        return Response(item_story(item=item, role=role))


class AnnotationListView(APIView):
    @extend_schema(responses={200: paginated(s.AnnotationSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, role = project_for(user=request.user, project_id=project_id)
        qs = selectors.annotations_visible_to(
            user=request_user(request), project=project, role=role
        )
        return paginate(request, qs, s.AnnotationSerializer, context={"role": role})


class AnnotationDetailView(APIView):
    """Change one's own last answer, while the project allows it."""

    @extend_schema(request=s.AnnotationUpdateInput, responses={200: s.AnnotationSerializer})
    def patch(self, request: Request, annotation_id: int) -> Response:
        project_id = selectors.annotation_project_of(
            user=request_user(request), annotation_id=annotation_id
        )
        if project_id is None:
            raise NotFound({"detail": "Annotation not found."})
        project, role = project_for(user=request.user, project_id=project_id)
        annotation = queue.annotation_update(
            annotation_id=annotation_id,
            user=request.user,
            labels=s.AnnotationUpdateInput.validated(request)["labels"],
            label_names=selectors.label_names_of(project=project),
            project=project,
        )
        return Response(s.AnnotationSerializer(annotation, context={"role": role}).data)
