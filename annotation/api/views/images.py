"""The v1 API's stored images: a manager uploads image files (or zips of them); any member
of the project fetches one by its key, as the labeling page does."""

from __future__ import annotations

from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api import serializers as s
from annotation.api.parsers import MultiPartParser
from annotation.errors import InvalidInput, NotFound
from annotation.selectors import LABELING_ROLES, MANAGING_ROLES, project_for, stored_image_of
from annotation.services import images

_FALSE = ("false", "0", "no", "off")


class ImageUploadView(APIView):
    # The request's size is capped while it is read (annotation/uploads.py), before this view.
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "create_items": {"type": "boolean", "default": True},
                },
            }
        },
        responses={201: s.ImageUploadResultSerializer, 400: s.ImageUploadRejectedSerializer},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        files = request.FILES.getlist("files") + request.FILES.getlist("file")
        raw = request.data.get("create_items", "true") if hasattr(request.data, "get") else None
        if not isinstance(raw, str) or raw.lower() not in (*_FALSE, "true", "1", "yes", "on"):
            raise InvalidInput({"create_items": ["Use true or false."]})
        result = images.images_upload(
            project=project,
            uploads=[(f.name or "upload", f.file) for f in files],
            create_items=raw.lower() not in _FALSE,
            actor=request.user,
        )
        return Response(
            {"created": result.created, "duplicates": result.duplicates, "images": result.images},
            status=status.HTTP_201_CREATED,
        )


class ImageFileView(APIView):
    """The image's bytes, for members of its project only (404 to anyone else, as for the
    project itself). The response is the same for every image but its bytes: no name, no
    dates, nothing that tells a gold item from another."""

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    def get(self, request: Request, project_id: int, key: str) -> FileResponse:
        project, _ = project_for(user=request.user, project_id=project_id, roles=LABELING_ROLES)
        image = stored_image_of(project=project, key=key)
        if image is None:
            raise NotFound({"detail": "Image not found."})
        name = image.file.name
        assert name  # NOT NULL column; the stubs say str | None
        response = FileResponse(default_storage.open(name, "rb"), content_type=image.content_type)
        del response["Content-Disposition"]  # it would carry the storage name
        response["Content-Length"] = str(image.size)
        response["Cache-Control"] = "private, max-age=86400"
        response["X-Content-Type-Options"] = "nosniff"
        # Opened on its own, the file runs nothing and loads nothing.
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
