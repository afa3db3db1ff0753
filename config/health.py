"""``/healthz``: the database, the broker and the workers' heartbeats."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from kombu import Connection

from config.heartbeat import live_workers
from config.metrics import metrics_allowed


def _database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # any failure means "down"; the message says why
        return False, str(exc).splitlines()[0][:200]


def _broker_ok() -> tuple[bool, str]:
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=2,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True, "ok"
    except Exception as exc:
        return False, str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while labeling can go on (the database is up), 503 when it cannot. A broker or
    worker outage degrades training only, so it shows in the body, not the status.
    Anonymous callers (a load balancer) learn only up or down; the details, with internal
    error text and worker names, need the metrics token or a staff session."""
    db_ok, db_msg = _database_ok()
    status = 200 if db_ok else 503
    if not metrics_allowed(request, database_up=db_ok):
        return JsonResponse({"status": "ok" if db_ok else "down"}, status=status)
    broker_ok, broker_msg = _broker_ok()
    try:
        workers = live_workers()
        workers_msg = "ok" if workers else "no worker heartbeat"
    except Exception as exc:
        workers, workers_msg = [], f"unknown ({type(exc).__name__})"
    healthy = db_ok and broker_ok and bool(workers)
    body = {
        "status": "ok" if healthy else ("degraded" if db_ok else "down"),
        "database": db_msg,
        "broker": broker_msg,
        "workers": {"status": workers_msg, "live": workers},
    }
    return JsonResponse(body, status=status)
