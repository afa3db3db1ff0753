"""The PostgreSQL health check without a round trip (config/postgresql): a healthy reused
connection is not asked ``SELECT 1``; one the server dropped is noticed and replaced
before the request's first query, so the labeler never sees the failure."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connections

connection = connections["default"]  # the wrapper itself, not the thread-local proxy

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'"),
]


def _new_request() -> None:
    """What Django does at the start of a request on a reused connection."""
    connection.close_if_unusable_or_obsolete()
    assert not connection.health_check_done


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _count_real_checks(monkeypatch) -> list[int]:
    """Record each real (round-trip) check while it still runs for real."""
    calls: list[int] = []
    real = type(connection).is_usable

    def counting(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(type(connection), "is_usable", counting)
    return calls


def test_health_checks_are_on_with_our_backend():
    assert connection.health_check_enabled
    assert type(connection).__module__ == "config.postgresql.base"


def test_a_healthy_connection_is_reused_without_a_round_trip(monkeypatch):
    pid = _backend_pid()
    calls = _count_real_checks(monkeypatch)
    for _ in range(3):
        _new_request()
        assert _backend_pid() == pid  # same connection, first query of the "request"
        assert connection.health_check_done
    assert calls == []


def test_a_connection_the_server_dropped_is_replaced_before_the_first_query(monkeypatch):
    old_pid = _backend_pid()
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        dbname=connection.settings_dict["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as admin:
        # Wait (up to 10 s) until the backend has exited, so its goodbye is on our socket.
        assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", [old_pid]).fetchone()[0]
    calls = _count_real_checks(monkeypatch)
    _new_request()
    # The query would fail on the dead connection; it runs on a new one instead.
    new_pid = _backend_pid()
    assert new_pid != old_pid
    assert calls == [1]  # the socket had news, so the real check ran and failed
