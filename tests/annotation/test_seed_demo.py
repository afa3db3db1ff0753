"""The demo seed of ``make run`` (annotation/demo.py, ``manage.py seed_demo``)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotation.models import Guideline, Item, Membership, Project


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_logins(capsys):
    call_command("seed_demo", "--reviews", "120")
    first = capsys.readouterr().out
    counts = (
        Project.objects.count(),
        Item.objects.count(),
        Membership.objects.count(),
        Guideline.objects.count(),
        get_user_model().objects.count(),
    )
    assert counts[0] == 2 and counts[1] == 120 + 1797
    for login in ("manager", "alice", "bob"):
        assert re.search(rf"login: {login}\s+password: \S+", first), first
    movies = Project.objects.get(name="Movie review sentiment")
    assert Item.objects.filter(project=movies, is_gold=True).exists()
    text = Item.objects.filter(project=movies).first().data["text"]
    assert len(text) > 20
    call_command("seed_demo", "--reviews", "120")
    second = capsys.readouterr().out
    assert (
        Project.objects.count(),
        Item.objects.count(),
        Membership.objects.count(),
        Guideline.objects.count(),
        get_user_model().objects.count(),
    ) == counts
    assert "login: alice" in second
    # The printed passwords work.
    for login, password in re.findall(r"login: (\S+)\s+password: (\S+)", second):
        assert get_user_model().objects.get(username=login).check_password(password)


@pytest.mark.django_db
def test_seed_demo_prints_an_admin_login_that_opens_the_admin(capsys, client):
    """The printed manager manages projects but cannot open /admin/; the demo prints a
    superuser too, created once."""
    call_command("seed_demo", "--reviews", "20")
    call_command("seed_demo", "--reviews", "20")
    out = capsys.readouterr().out
    logins = dict(re.findall(r"login: (\S+)\s+password: (\S+)", out.split("Skein demo")[-1]))
    assert "admin" in logins, out
    assert get_user_model().objects.filter(is_superuser=True).count() == 1
    client.post("/admin/login/?next=/admin/", {"username": "admin", "password": logins["admin"]})
    response = client.get("/admin/")
    assert response.status_code == 200 and b"Site administration" in response.content
    client.logout()
    client.post("/admin/login/", {"username": "manager", "password": logins["manager"]})
    assert client.get("/admin/").status_code == 302  # the manager is not staff


@pytest.mark.django_db
def test_seed_demo_never_promotes_an_existing_account_named_admin(capsys, make_user):
    make_user("admin", password="someone-elses-9")
    call_command("seed_demo", "--reviews", "20")
    out = capsys.readouterr().out
    user = get_user_model().objects.get(username="admin")
    assert not (user.is_staff or user.is_superuser) and user.check_password("someone-elses-9")
    assert "login: admin" not in out and "no admin login" in out
