"""Account rules: Django's password validators on every way of creating an account, and
usernames normalised so a look-alike cannot impersonate an existing user."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from annotation.accounts import username_skeleton
from annotation.management.commands.seed_demo import ADMIN_LOGIN, LOGINS

User = get_user_model()
CYRILLIC_A = "\u0430"
GREEK_OMICRON = "\u03bf"


@pytest.fixture
def admin_api(make_user):
    client = APIClient()
    client.force_authenticate(make_user("root", staff=True))
    return client


@pytest.mark.parametrize(
    "username, password",
    [
        ("margaret", "margaret1985"),  # the username inside
        ("freshuser", "31415926535897"),  # digits only
        ("freshuser", "freshuser@example.org"),  # the e-mail
    ],
)
def test_api_refuses_weak_passwords(admin_api, username, password):
    response = admin_api.post(
        "/api/v1/users/",
        {"username": username, "password": password, "email": "freshuser@example.org"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "password" in response.json()
    assert not User.objects.filter(username=username).exists()


@pytest.mark.parametrize(
    "lookalike",
    [
        f"{CYRILLIC_A}lice",  # Cyrillic a
        "alic\u0435",  # Cyrillic ie
        "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth: NFKC makes it "alice"
        "ALICE",
        "aIice",  # capital I for l
    ],
)
def test_api_refuses_a_username_that_looks_like_an_existing_one(admin_api, make_user, lookalike):
    make_user("alice")
    response = admin_api.post(
        "/api/v1/users/", {"username": lookalike, "password": "long-enough-pw-7"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "alice" in response.json()["username"][0]
    assert User.objects.count() == 2  # alice and the admin


def test_greek_lookalike_refused_and_other_scripts_allowed(admin_api, make_user):
    make_user("bob")
    refused = admin_api.post(
        "/api/v1/users/",
        {"username": f"b{GREEK_OMICRON}b", "password": "long-enough-pw-7"},
        format="json",
    )
    assert refused.status_code == 400 and "username" in refused.json()
    # A real name in another script that looks like nobody is fine.
    ok = admin_api.post(
        "/api/v1/users/",
        {"username": "\u0431\u043e\u0440\u0438\u0441", "password": "long-enough-pw-7"},
        format="json",
    )
    assert ok.status_code == 201, ok.content


def test_stored_usernames_are_nfkc(admin_api):
    response = admin_api.post(
        "/api/v1/users/",
        {"username": "caf\u0065\u0301", "password": "long-enough-pw-7"},
        format="json",
    )
    assert response.status_code == 201
    assert User.objects.filter(username="caf\u00e9").exists()


def test_skeleton():
    assert username_skeleton(f"{CYRILLIC_A}lice") == username_skeleton("alice")
    assert username_skeleton("rnary") == username_skeleton("mary")
    assert username_skeleton("alice") != username_skeleton("alina")


def test_login_normalises_the_username(make_user):
    cache.clear()
    make_user("caf\u00e9")
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "cafe\u0301", "password": "correct-horse-9"},
        format="json",
    )
    assert response.status_code == 200, response.content


def _admin_site(make_user) -> Client:
    root = make_user("root", staff=True)
    root.is_superuser = True
    root.save()
    site = Client()
    site.force_login(root)
    return site


def test_admin_add_user_form_applies_the_same_rules(make_user):
    make_user("alice")
    site = _admin_site(make_user)
    for username, password in (
        (f"{CYRILLIC_A}lice", "long-enough-pw-7"),
        ("newcomer", "31415926535897"),
        ("newcomer", "newcomer2024"),
    ):
        response = site.post(
            "/admin/auth/user/add/",
            {
                "username": username,
                "password1": password,
                "password2": password,
                "usable_password": "true",
            },
        )
        assert response.status_code == 200  # the form again, with its errors
        assert response.context["adminform"].form.errors, username
    assert not User.objects.filter(username__in=[f"{CYRILLIC_A}lice", "newcomer"]).exists()
    ok = site.post(
        "/admin/auth/user/add/",
        {
            "username": "newcomer",
            "password1": "long-enough-pw-7",
            "password2": "long-enough-pw-7",
            "usable_password": "true",
        },
    )
    assert ok.status_code == 302
    assert User.objects.filter(username="newcomer").exists()


def test_admin_cannot_rename_a_user_to_a_lookalike(make_user):
    make_user("alice")
    bob = make_user("bob")
    site = _admin_site(make_user)
    page = site.get(f"/admin/auth/user/{bob.pk}/change/")
    form = page.context["adminform"].form
    data = {
        k: v
        for k, v in form.initial.items()
        if v is not None
        and k not in ("groups", "user_permissions", "password", "last_login", "date_joined")
    }
    data.update(
        {
            "username": f"{CYRILLIC_A}lice",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        }
    )
    data.update({"api_tokens-TOTAL_FORMS": "0", "api_tokens-INITIAL_FORMS": "0"})
    response = site.post(f"/admin/auth/user/{bob.pk}/change/", data)
    assert response.status_code == 200
    assert "username" in response.context["adminform"].form.errors
    bob.refresh_from_db()
    assert bob.username == "bob"


def test_demo_and_fixture_passwords_pass_the_validators():
    for username, password in [(u, p) for u, p, _ in LOGINS] + [ADMIN_LOGIN]:
        validate_password(password, User(username=username, email=f"{username}@example.org"))
    for username in ("manager", "labeler", "user0", "tok", "alice", "bob"):
        validate_password("correct-horse-9", User(username=username))
