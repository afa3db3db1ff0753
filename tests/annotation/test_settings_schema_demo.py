"""Settings by environment, the OpenAPI schema and docs, and the demo seed of ``make run``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import get_resolver

from annotation.models import Guideline, Item, Membership, Project

ROOT = Path(__file__).resolve().parents[2]
CHECK = ("import django; from django.conf import settings; django.setup(); "
         "print('DEBUG', settings.DEBUG)")


def _run_settings(module: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DJANGO_SECRET_KEY", "DJANGO_DEBUG")}
    clean.update(DJANGO_SETTINGS_MODULE=module, **env)
    return subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_a_secret():
    done = _run_settings("config.settings.production")
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY" in done.stderr
    assert "ImproperlyConfigured" in done.stderr


def test_production_debug_off_by_default():
    done = _run_settings("config.settings.production", DJANGO_SECRET_KEY="k" * 50)
    assert done.returncode == 0, done.stderr
    assert "DEBUG False" in done.stdout
    on = _run_settings("config.settings.production", DJANGO_SECRET_KEY="k" * 50,
                       DJANGO_DEBUG="1")
    assert "DEBUG True" in on.stdout


def test_local_debug_off_unless_set(tmp_path):
    done = _run_settings("config.settings.local", SKEIN_VAR_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "DEBUG False" in done.stdout


def _v1_paths() -> set[str]:
    """Every route under /api/v1/, in OpenAPI's {param} spelling."""
    paths = set()
    for pattern in get_resolver().url_patterns:
        if str(pattern.pattern) != "api/v1/":
            continue
        for sub in pattern.url_patterns:
            route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(sub.pattern))
            paths.add("/api/v1/" + route)
    return paths


def test_openapi_schema_is_valid_and_complete(api, db):
    from drf_spectacular.validation import validate_schema

    response = api().get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)
    expected = _v1_paths()
    assert len(expected) >= 20
    assert expected <= set(schema["paths"]), expected - set(schema["paths"])
    for path in ("/api/v1/projects/{project_id}/next/",
                 "/api/v1/assignments/{assignment_id}/submit/",
                 "/api/v1/projects/{project_id}/items/import/",
                 "/api/v1/labelsets/{labelset_id}/download/"):
        assert path in schema["paths"]
    assert "post" in schema["paths"]["/api/v1/projects/{project_id}/next/"]


def test_api_docs_are_served_without_a_cdn(api, db):
    response = api().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert refs
    external = [r for r in refs if re.match(r"^(https?:)?//", r)]
    assert not external, external
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost|testserver)[\w.-]+/[\w/.-]*\.(js|css)",
                         html)
    assert any("/static/" in r for r in refs)


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_prints_logins(capsys):
    call_command("seed_demo", "--reviews", "120")
    first = capsys.readouterr().out
    counts = (Project.objects.count(), Item.objects.count(), Membership.objects.count(),
              Guideline.objects.count(), get_user_model().objects.count())
    assert counts[0] == 2 and counts[1] == 120 + 1797
    for login in ("manager", "alice", "bob"):
        assert re.search(rf"login: {login}\s+password: \S+", first), first
    movies = Project.objects.get(name="Movie review sentiment")
    assert Item.objects.filter(project=movies, is_gold=True).exists()
    text = Item.objects.filter(project=movies).first().data["text"]
    assert len(text) > 20
    call_command("seed_demo", "--reviews", "120")
    second = capsys.readouterr().out
    assert (Project.objects.count(), Item.objects.count(), Membership.objects.count(),
            Guideline.objects.count(), get_user_model().objects.count()) == counts
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
    client.post("/admin/login/?next=/admin/",
                {"username": "admin", "password": logins["admin"]})
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
