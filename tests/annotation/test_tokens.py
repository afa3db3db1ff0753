"""API tokens: one per login, listed and revoked by their user and by admins, expiring when
idle, revoked all at once by a password change; still one query per request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import ApiToken, AuditEvent

PASSWORD = "correct-horse-9"


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()


def login(username: str, agent: str = "pytest") -> dict:
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": username, "password": PASSWORD},
        format="json",
        HTTP_USER_AGENT=agent,
    )
    assert response.status_code == 200, response.content
    return response.json()


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_per_login_listed_by_its_user(make_user):
    make_user("alice")
    make_user("bob")
    laptop = login("alice", "Firefox on the laptop")
    script = login("alice", "export-script/1.0")
    login("bob")
    rows = with_token(laptop["token"]).get("/api/v1/auth/tokens/").json()["results"]
    assert {r["name"] for r in rows} == {"Firefox on the laptop", "export-script/1.0"}
    assert {r["user"] for r in rows} == {"alice"}
    assert [r["id"] for r in rows if r["current"]] == [laptop["id"]]
    assert all(r["last_used_at"] and r["created_at"] for r in rows)
    assert script["id"] in {r["id"] for r in rows}


def test_only_a_hash_of_the_key_is_stored(make_user):
    make_user("alice")
    key = login("alice")["token"]
    stored = ApiToken.objects.get()
    assert key not in {stored.key_hash, stored.name}
    assert ApiToken.hash_key(key) == stored.key_hash


def test_revoked_token_is_refused(make_user):
    make_user("alice")
    laptop, phone = login("alice"), login("alice")
    client = with_token(laptop["token"])
    assert client.delete(f"/api/v1/auth/tokens/{phone['id']}/").status_code == 204
    assert with_token(phone["token"]).get("/api/v1/users/me/").status_code == 401
    assert client.get("/api/v1/users/me/").status_code == 200
    assert client.delete(f"/api/v1/auth/tokens/{laptop['id']}/").status_code == 204
    assert client.get("/api/v1/users/me/").status_code == 401


def test_a_user_cannot_see_or_revoke_anothers_tokens(make_user):
    make_user("alice")
    make_user("mallory")
    alice = login("alice")
    mallory = with_token(login("mallory")["token"])
    assert mallory.delete(f"/api/v1/auth/tokens/{alice['id']}/").status_code == 404
    assert mallory.get("/api/v1/auth/tokens/?user=alice").status_code == 403
    assert with_token(alice["token"]).get("/api/v1/users/me/").status_code == 200


def test_an_admin_lists_and_revokes_anyones_token_audited(make_user):
    make_user("alice")
    admin = make_user("root", staff=True)
    alice = login("alice", "lost phone")
    staff = APIClient()
    staff.force_authenticate(admin)
    rows = staff.get("/api/v1/auth/tokens/?user=alice").json()["results"]
    assert [(r["id"], r["name"]) for r in rows] == [(alice["id"], "lost phone")]
    assert staff.delete(f"/api/v1/auth/tokens/{alice['id']}/").status_code == 204
    assert with_token(alice["token"]).get("/api/v1/users/me/").status_code == 401
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.actor, event.target) == (admin, "alice")


def test_an_admin_revokes_a_token_in_the_admin_site(make_user):
    make_user("alice")
    alice = login("alice")
    site = Client()
    site.force_login(make_user("root", staff=True))
    from django.contrib.auth.models import User

    User.objects.filter(username="root").update(is_superuser=True)
    page = site.get("/admin/annotation/apitoken/")
    assert page.status_code == 200 and b"pytest" in page.content
    response = site.post(f"/admin/annotation/apitoken/{alice['id']}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert with_token(alice["token"]).get("/api/v1/users/me/").status_code == 401


def test_idle_tokens_expire(make_user, settings):
    settings.SKEIN_TOKEN_IDLE_DAYS = 7
    make_user("alice")
    old, recent = login("alice"), login("alice")
    ApiToken.objects.filter(pk=old["id"]).update(
        last_used_at=timezone.now() - timedelta(days=7, minutes=1)
    )
    ApiToken.objects.filter(pk=recent["id"]).update(last_used_at=timezone.now() - timedelta(days=6))
    assert with_token(old["token"]).get("/api/v1/users/me/").status_code == 401
    client = with_token(recent["token"])
    assert client.get("/api/v1/users/me/").status_code == 200  # use renews it
    ids = [r["id"] for r in client.get("/api/v1/auth/tokens/").json()["results"]]
    assert ids == [recent["id"]]
    assert ApiToken.objects.get(pk=recent["id"]).last_used_at > timezone.now() - timedelta(
        minutes=1
    )


def test_one_query_per_request_and_last_used_written_at_most_once_a_minute(make_user):
    make_user("alice")
    token = login("alice")
    table = ApiToken._meta.db_table

    def token_queries() -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            assert with_token(token["token"]).get("/api/v1/users/me/").status_code == 200
        return [q["sql"] for q in ctx.captured_queries if table in q["sql"]]

    assert len(token_queries()) == 1  # just created: used now, no write
    ApiToken.objects.filter(pk=token["id"]).update(
        last_used_at=timezone.now() - timedelta(seconds=61)
    )
    queries = token_queries()
    assert len(queries) == 2 and queries[1].startswith("UPDATE"), queries
    assert len(token_queries()) == 1


def test_a_password_change_revokes_every_token(make_user):
    alice = make_user("alice")
    bob = make_user("bob")
    keys = [login("alice")["token"], login("alice")["token"]]
    bobs = login("bob")["token"]
    alice.last_login = timezone.now()
    alice.save(update_fields=["last_login"])  # not a password change
    alice.first_name = "Alice"
    alice.save()  # nor this
    assert with_token(keys[0]).get("/api/v1/users/me/").status_code == 200
    alice.set_password("another-horse-8")
    alice.save()
    for key in keys:
        assert with_token(key).get("/api/v1/users/me/").status_code == 401
    assert with_token(bobs).get("/api/v1/users/me/").status_code == 200
    assert bob.api_tokens.count() == 1


def test_a_password_change_in_the_admin_revokes_every_token(make_user):
    alice = make_user("alice")
    key = login("alice")["token"]
    root = make_user("root", staff=True)
    root.is_superuser = True
    root.save()
    site = Client()
    site.force_login(root)
    response = site.post(
        f"/admin/auth/user/{alice.pk}/password/",
        {"password1": "another-horse-8", "password2": "another-horse-8", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content
    assert with_token(key).get("/api/v1/users/me/").status_code == 401


def test_token_login_keeps_its_contract(make_user):
    make_user("alice")
    body = login("alice")
    assert isinstance(body["token"], str) and len(body["token"]) == 40


def test_drf_tokens_are_carried_over_hashed(transactional_db, make_user):
    """The data migration: an old DRF token keeps working, and its clear-text table goes."""
    import importlib
    from datetime import datetime

    from django.apps import apps

    migration = importlib.import_module("annotation.migrations.0005_auth_tokens")
    alice = make_user("alice")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, %s, %s)",
            ["a" * 40, datetime(2026, 1, 2, 3, 4, 5), alice.pk],
        )
    with connection.schema_editor() as editor:
        migration.carry_over_drf_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get(user=alice)
    assert (token.created_at.year, token.created_at.month) == (2026, 1)
    assert with_token("a" * 40).get("/api/v1/users/me/").status_code == 200
