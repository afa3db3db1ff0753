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
from annotation.api.pagination import Pagination, paginate, paginated
from annotation.api.parsers import FormParser, ImportJSONParser, MultiPartParser
from annotation.errors import InvalidInput, NotFound
from annotation.item_filters import items_matching
from annotation.item_table import Cursor, item_rows, items_page, page_limit
from annotation.selectors import MANAGING_ROLES, REVIEWING_ROLES, project_for
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
    """The item table (the Data tab): filters, search and ordering of
    ``annotation.item_filters``, keyset pages. ``offset`` still pages the old way, with a
    ``count``."""

    @extend_schema(
        parameters=[
            OpenApiParameter(name, str, description=text)
            for name, text in (
                ("search", "full text over the item's text fields"),
                ("state", "open, leased or complete"),
                ("label", "the consensus label"),
                ("annotator", "a username: items this annotator answered"),
                ("annotator_label", "a label some annotator gave (with annotator: theirs)"),
                ("agreement", "disputed or unanimous"),
                ("agreement_below", "the winning share of the answers is below this"),
                ("disputed", "true/false"),
                ("has_gold", "true/false (managers)"),
                ("reviewed", "true/false"),
                ("predicted", "a label the model or the team's predictions give"),
                ("confidence_min", "0..1"),
                ("confidence_max", "0..1"),
                ("skipped", "true/false"),
                ("skip_reason", "skipped with this reason"),
                ("duplicate_group", "a near-duplicate group's id"),
                ("has_duplicates", "true/false"),
                ("import_batch", "the id of the import's audit event"),
                ("field.<name>", "a data field equals this value"),
                (
                    "ordering",
                    "priority, confidence, created_at, updated_at, annotation_count, "
                    "external_id or id; - for descending",
                ),
                ("cursor", "from next/previous"),
                ("limit", "rows per page (1..500, default 50)"),
            )
        ],
        responses={200: s.ItemPageSerializer},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, role = project_for(user=request.user, project_id=project_id)
        if role not in REVIEWING_ROLES:  # labelers must not learn the project's items
            raise NotFound({"detail": "Project not found."})
        params = request.query_params
        if "offset" in params:  # the old paging, kept for existing clients
            paginator = Pagination()
            found = paginator.paginate_queryset(
                items_matching(project, params, request.user, role=role), request
            )
            rows = item_rows(project=project, items=list(found or []), role=role)
            return paginator.get_paginated_response(s.ItemRowSerializer(rows, many=True).data)
        page = items_page(
            project=project,
            params=params,
            viewer=request.user,
            role=role,
            limit=page_limit(params.get("limit")),
        )
        return Response(
            {
                "results": s.ItemRowSerializer(page.rows, many=True).data,
                "next": _page_url(request, page.next),
                "previous": _page_url(request, page.previous),
            }
        )


def _page_url(request: Request, cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    params = request.query_params.copy()
    params["cursor"] = cursor.encode()
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


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
