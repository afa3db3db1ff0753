"""Limits and deployment hardening: upload and row caps, login rate limit, deploy checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from annotation.models import Item

ROOT = Path(__file__).resolve().parents[2]


def test_an_upload_over_the_size_cap_is_refused_with_413(api, make_project, manager):
    project = make_project()
    body = b"external_id,text\n" + b"".join(b"%d,some text\n" % i for i in range(200))
    with override_settings(SKEIN_MAX_UPLOAD_BYTES=1000):
        response = api(manager).post(
            f"/api/v1/projects/{project.pk}/items/import/",
            {"file": SimpleUploadedFile("big.csv", body, content_type="text/csv")},
            format="multipart")
    assert response.status_code == 413
    assert "limit is 1000" in response.json()["file"][0]
    assert Item.objects.filter(project=project).count() == 0


def test_a_file_over_the_row_cap_is_refused_whole(api, make_project, manager):
    project = make_project()
    body = b"external_id,text\n" + b"".join(b"%d,text\n" % i for i in range(30))
    with override_settings(SKEIN_MAX_IMPORT_ROWS=20):
        response = api(manager).post(
            f"/api/v1/projects/{project.pk}/items/import/",
            {"file": SimpleUploadedFile("rows.csv", body, content_type="text/csv")},
            format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][-1]["message"] == "more than 20 rows; split the file"
    assert Item.objects.filter(project=project).count() == 0


def test_login_attempts_are_rate_limited(api, make_user):
    cache.clear()  # the file cache outlives a run: an earlier run's failures still count
    make_user("guesser", password="right-password-1")
    client = api()
    with override_settings(SKEIN_LOGIN_RATE="3/min"):
        codes = [client.post("/api/v1/auth/token/", {"username": "guesser", "password": "no"},
                             format="json", REMOTE_ADDR="10.9.8.7").status_code
                 for _ in range(4)]
        other = client.post("/api/v1/auth/token/", {"username": "guesser",
                                                   "password": "right-password-1"},
                            format="json", REMOTE_ADDR="10.9.8.8")
    assert codes == [400, 400, 400, 429]
    assert other.status_code == 200  # another address is not blocked


def _production_env(**extra: str) -> dict[str, str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser fixtures; a deployment never has it.
    dropped = ("DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.production",
                "ALLOWED_HOSTS": "skein.example.org", **extra})
    return env


def test_production_settings_pass_check_deploy():
    env = _production_env(DJANGO_SECRET_KEY="k" * 30 + "Zq8!v#2LmXw4&rT9yB1nC6pE0sU7hJ3d")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy",
                             "--fail-level", "WARNING"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_and_keeps_cookies_secure():
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                            env=_production_env(), capture_output=True, text=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
    probe = ("import django; django.setup(); from django.conf import settings as s; "
             "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, env=_production_env(DJANGO_SECRET_KEY="x" * 50))
    assert result.stdout.split() == ["False", "True", "True"], result.stderr


def test_the_browser_login_is_rate_limited_too(make_user):
    from django.test import Client

    cache.clear()
    make_user("walker", password="right-password-1")
    browser = Client()
    with override_settings(SKEIN_LOGIN_RATE="2/min"):
        codes = [browser.post("/login/", {"username": "walker", "password": "nope"},
                              REMOTE_ADDR="10.5.5.5").status_code for _ in range(3)]
        blocked = browser.post("/login/", {"username": "walker",
                                           "password": "right-password-1"},
                               REMOTE_ADDR="10.5.5.5")
    assert codes == [200, 200, 429]  # the form re-shown with an error, then refused
    assert blocked.status_code == 429
    assert b"Too many login attempts" in blocked.content
