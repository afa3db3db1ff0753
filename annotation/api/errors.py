"""The API's one exception handler: domain errors and database outages get a JSON body."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotation.errors import DomainError

logger = logging.getLogger(__name__)

DATABASE_DOWN = {"detail": "The database is unavailable right now; please retry shortly. "
                           "Nothing you sent was lost: retry with the same client_id."}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
        return Response(detail, status=exc.status_code)
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    ):
        logger.warning("database unavailable: %s", exc)
        return Response(DATABASE_DOWN, status=503, headers={"Retry-After": "5"})
    return drf_exception_handler(exc, context)
