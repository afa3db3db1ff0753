"""The v1 API views through which labelers speak up: flag the item of an assignment, comment
on an item."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import feedback_serializers as fs
from annotation.services import feedback


class FlagView(APIView):
    """Flag the item of one's own assignment; the lease stays the labeler's."""

    @extend_schema(request=fs.FlagInput, responses={201: fs.FlagSerializer, 200: fs.FlagSerializer})
    def post(self, request: Request, assignment_id: int) -> Response:
        body = fs.FlagInput.validated(request)
        flag, created = feedback.item_flag_raise(
            assignment_id=assignment_id,
            user=request.user,
            reason=body["reason"],
            comment=body.get("comment", ""),
        )
        return Response(
            fs.FlagSerializer(flag).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class CommentView(APIView):
    """A comment on an item the caller can see (a labeler: one they were handed)."""

    @extend_schema(request=fs.CommentInput, responses={201: fs.CommentSerializer})
    def post(self, request: Request, item_id: int) -> Response:
        item, _ = selectors.item_for(user=request.user, item_id=item_id, purpose="comment")
        body = fs.CommentInput.validated(request)
        comment = feedback.item_comment_add(item=item, author=request.user, body=body["body"])
        return Response(fs.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)
