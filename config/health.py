"""``/healthz``: is the database reachable, is the broker reachable."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # any failure means "down"; the message says why
        return False, str(exc).splitlines()[0][:200]


def _broker_ok() -> tuple[bool, str]:
    from config.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return False, str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    db_ok, db_msg = _database_ok()
    broker_ok, broker_msg = _broker_ok()
    body = {"status": "ok" if db_ok and broker_ok else "degraded",
            "database": db_msg, "broker": broker_msg}
    return JsonResponse(body, status=200 if db_ok else 503)
