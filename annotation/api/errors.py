"""The API's one exception handler: domain errors and database outages get a JSON body."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, DataError, InterfaceError, OperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotation.errors import DomainError

logger = logging.getLogger(__name__)

DATABASE_DOWN = {
    "detail": "The database is unavailable right now; please retry shortly. "
    "Nothing you sent was lost: retry with the same client_id."
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
        return Response(detail, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        # Django refused to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE (JSON and form
        # bodies; files are capped by annotation/uploads.py).
        return Response(
            {
                "detail": "The request body is too large: the limit is "
                f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            },
            status=413,
        )
    if isinstance(exc, DataError):
        # A value the database cannot store (a NUL character on PostgreSQL, a number out of
        # range): the input is at fault, and the transaction was rolled back.
        return Response(
            {
                "detail": "A value in the request cannot be stored (for example a "
                "NUL character or an out-of-range number)."
            },
            status=400,
        )
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    ):
        logger.warning("database unavailable: %s", exc)
        return Response(DATABASE_DOWN, status=503, headers={"Retry-After": "5"})
    return drf_exception_handler(exc, context)
