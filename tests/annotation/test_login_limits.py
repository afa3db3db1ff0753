"""The failed-login limit (annotation/ratelimit.py) on the API token endpoint, the browser
login and the admin's login: a team behind one address logs in, guessers are stopped, and
nobody's failures lock out someone else's correct password."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client, RequestFactory
from rest_framework.test import APIClient

from annotation.ratelimit import client_address

PASSWORD = "correct-horse-9"
OFFICE = "203.0.113.7"


@pytest.fixture(autouse=True)
def limits(settings):
    cache.clear()
    settings.SKEIN_LOGIN_RATE = "10/min"
    settings.SKEIN_LOGIN_CLIENT_RATE = "30/min"
    settings.SKEIN_TRUSTED_PROXIES = 0
    yield settings
    cache.clear()


def token_login(username: str, password: str, remote: str = OFFICE, **headers: str) -> int:
    return (
        APIClient()
        .post(
            "/api/v1/auth/token/",
            {"username": username, "password": password},
            format="json",
            REMOTE_ADDR=remote,
            **headers,
        )
        .status_code
    )


def test_eleven_labelers_log_in_from_one_address(make_user):
    users = [make_user(f"labeler{n}") for n in range(12)]
    for user in users[:6]:
        assert token_login(user.username, PASSWORD) == 200
    for user in users[6:]:
        response = Client().post(
            "/login/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR=OFFICE
        )
        assert response.status_code == 302, response.content


def test_failed_attempts_get_429_after_the_limit(make_user):
    make_user("bob")
    for _ in range(10):
        assert token_login("bob", "wrong-guess") == 400
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "bob", "password": "x"},
        format="json",
        REMOTE_ADDR=OFFICE,
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    # A look-alike spelling of the same account shares its bucket.
    assert token_login("BOB", "wrong-guess") == 429


def test_browser_login_failures_are_limited(make_user):
    make_user("bob")
    for _ in range(10):
        assert (
            Client()
            .post("/login/", {"username": "bob", "password": "nope"}, REMOTE_ADDR=OFFICE)
            .status_code
            == 200
        )
    response = Client().post(
        "/login/", {"username": "bob", "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )
    assert response.status_code == 429
    assert b"Too many login attempts" in response.content


def test_a_correct_password_works_while_a_colleague_is_limited(make_user):
    make_user("alice")
    make_user("bob")
    for _ in range(11):
        token_login("bob", "wrong-guess")
    assert token_login("bob", "wrong-guess") == 429
    assert token_login("alice", PASSWORD) == 200


def test_an_attacker_elsewhere_cannot_lock_the_user_out(make_user):
    make_user("alice")
    for _ in range(11):
        token_login("alice", "wrong-guess", remote="198.51.100.66")
    assert token_login("alice", PASSWORD, remote="198.51.100.66") == 429
    assert token_login("alice", PASSWORD) == 200


def test_spraying_many_accounts_hits_the_client_ceiling_but_not_known_users(make_user):
    make_user("alice")
    make_user("carol")
    assert token_login("alice", PASSWORD) == 200  # alice works here
    for n in range(30):  # one guess on each of 30 accounts: under each account's limit
        token_login(f"victim{n}", "Winter2026!")
    assert token_login("victim99", "Winter2026!") == 429
    assert token_login("alice", PASSWORD) == 200
    assert token_login("carol", PASSWORD) == 429  # never logged in from here
    assert token_login("carol", PASSWORD, remote="192.0.2.1") == 200


def test_x_forwarded_for_is_ignored_without_trusted_proxies(make_user, settings):
    make_user("bob")
    proxy = "10.0.0.2"
    for n in range(10):
        token_login("bob", "wrong-guess", remote=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    # A client cannot dodge its bucket by writing a new X-Forwarded-For each time.
    assert token_login("bob", PASSWORD, remote=proxy, HTTP_X_FORWARDED_FOR="192.0.2.200") == 429


def test_x_forwarded_for_is_honoured_behind_trusted_proxies(make_user, settings):
    settings.SKEIN_TRUSTED_PROXIES = 1
    make_user("bob")
    proxy = "10.0.0.2"
    for _ in range(10):
        token_login("bob", "wrong-guess", remote=proxy, HTTP_X_FORWARDED_FOR="192.0.2.9")
    assert token_login("bob", PASSWORD, remote=proxy, HTTP_X_FORWARDED_FOR="192.0.2.9") == 429
    # Bob at his own desk behind the same proxy is someone else's address.
    assert token_login("bob", PASSWORD, remote=proxy, HTTP_X_FORWARDED_FOR="192.0.2.10") == 200
    # What the client wrote before our proxy's entry is not believed.
    assert (
        token_login("bob", PASSWORD, remote=proxy, HTTP_X_FORWARDED_FOR="192.0.2.10, 192.0.2.9")
        == 429
    )


def test_client_address(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 192.0.2.5, 10.0.0.1"
    )
    settings.SKEIN_TRUSTED_PROXIES = 0
    assert client_address(request) == "10.0.0.2"
    settings.SKEIN_TRUSTED_PROXIES = 1
    assert client_address(request) == "10.0.0.1"
    settings.SKEIN_TRUSTED_PROXIES = 2
    assert client_address(request) == "192.0.2.5"
    settings.SKEIN_TRUSTED_PROXIES = 5  # more hops configured than present: the leftmost
    assert client_address(request) == "1.1.1.1"


def test_admin_login_is_limited(make_user):
    make_user("root", staff=True)
    for _ in range(10):
        response = Client().post(
            "/admin/login/", {"username": "root", "password": "guess"}, REMOTE_ADDR=OFFICE
        )
        assert response.status_code == 200  # the form again, with its error
    response = Client().post(
        "/admin/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )
    assert response.status_code == 429
    ok = Client().post(
        "/admin/login/", {"username": "root", "password": PASSWORD}, REMOTE_ADDR="192.0.2.1"
    )
    assert ok.status_code == 302
