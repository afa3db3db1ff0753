"""One way to paginate every list: ``{"count", "next", "previous", "results"}``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response

MAX_OFFSET = 2**62


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 1000

    def get_offset(self, request: Request) -> int:
        # Past any table's end the page is empty either way; an offset beyond 64 bits would
        # be an OverflowError on SQLite.
        return min(super().get_offset(request), MAX_OFFSET)


def paginate(
    request: Request,
    queryset: QuerySet,
    serializer_class: Any,
    context: dict[str, Any] | None = None,
) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request)
    data = serializer_class(page, many=True, context=context or {}).data
    return paginator.get_paginated_response(data)


def paginated(serializer_class: Any) -> Any:
    """The schema of a page of ``serializer_class`` items, for ``extend_schema``."""
    return inline_serializer(
        name=f"Paginated{serializer_class.__name__.removesuffix('Serializer')}List",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )
