"""Auth and Users endpoints: token exchange, account creation, the caller's own profile."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


def test_token_exchange_and_use(make_user):
    user = make_user("tok", password="a-good-pass-1")
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "tok", "password": "a-good-pass-1"}, format="json"
    )
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/v1/users/me/")
    assert me.status_code == 200
    assert me.json()["username"] == user.username
    # Each login is a token of its own (issue 10: a token per login/device, revoked one by
    # one); the first one keeps working.
    again = APIClient().post(
        "/api/v1/auth/token/", {"username": "tok", "password": "a-good-pass-1"}, format="json"
    )
    assert again.json()["token"] != token
    assert client.get("/api/v1/users/me/").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"username": "tok", "password": "wrong"},
        {"username": "nobody", "password": "a-good-pass-1"},
        {},
    ],
)
def test_token_bad_credentials(make_user, body):
    make_user("tok", password="a-good-pass-1")
    response = APIClient().post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_token_body_not_an_object(db):
    response = APIClient().post("/api/v1/auth/token/", ["a"], format="json")
    assert response.status_code == 400
    assert response.json()


def test_bad_token_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/v1/users/me/").status_code == 401


def test_me_lists_projects_with_roles(api, project, manager, labeler, add_member):
    add_member(project, labeler)
    body = api(labeler).get("/api/v1/users/me/").json()
    assert body["username"] == "labeler"
    assert body["is_staff"] is False
    assert body["projects"] == [{"id": project.pk, "role": "labeler"}]
    assert api(manager).get("/api/v1/users/me/").json()["projects"] == [
        {"id": project.pk, "role": "manager"}
    ]


def test_me_unauthenticated(api, db):
    response = api().get("/api/v1/users/me/")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_admin_creates_user(api, make_user):
    admin = make_user("admin", staff=True)
    response = api(admin).post(
        "/api/v1/users/",
        {"username": "newbie", "password": "long-enough-pw-7", "email": "n@ex.org"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "newbie"
    login = APIClient().post(
        "/api/v1/auth/token/", {"username": "newbie", "password": "long-enough-pw-7"}, format="json"
    )
    assert login.status_code == 200


def test_manager_creates_labeler_account(api, project, manager):
    response = api(manager).post(
        "/api/v1/users/", {"username": "worker1", "password": "long-enough-pw-7"}, format="json"
    )
    assert response.status_code == 201, response.content


def test_labeler_cannot_create_users(api, project, labeler, add_member):
    add_member(project, labeler)
    response = api(labeler).post(
        "/api/v1/users/", {"username": "x1", "password": "long-enough-pw-7"}, format="json"
    )
    assert response.status_code == 403
    assert "detail" in response.json()


def test_create_user_unauthenticated(api, db):
    response = api().post(
        "/api/v1/users/", {"username": "x1", "password": "long-enough-pw-7"}, format="json"
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body, field",
    [
        ({"username": "bad name!", "password": "long-enough-pw-7"}, "username"),
        ({"username": "manager", "password": "long-enough-pw-7"}, "username"),
        ({"username": "MANAGER", "password": "long-enough-pw-7"}, "username"),
        ({"username": "fresh", "password": "short"}, "password"),
        ({"username": "fresh", "password": "password123"}, "password"),
        ({"username": "fresh", "password": "long-enough-pw-7", "email": "not-an-email"}, "email"),
        ({"password": "long-enough-pw-7"}, "username"),
    ],
)
def test_create_user_bad_input(api, make_user, body, field):
    admin = make_user("admin", staff=True)
    make_user("manager")
    response = api(admin).post("/api/v1/users/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
