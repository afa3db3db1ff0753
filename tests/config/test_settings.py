"""Settings by environment (config/settings/): each case imports them in a fresh Python, as
a deployment would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "k" * 50
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
)


def _env(module: str, **extra: str) -> dict[str, str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser fixtures; a deployment never has it.
    dropped = ("DJANGO_SECRET_KEY", "DJANGO_DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update({"DJANGO_SETTINGS_MODULE": module, "ALLOWED_HOSTS": "skein.example.org", **extra})
    return env


# (settings module, environment, printed DEBUG SESSION_COOKIE_SECURE CSRF_COOKIE_SECURE);
# None: the settings refuse to load.
CASES = {
    "production refuses to start without a secret": ("config.settings.production", {}, None),
    "production: DEBUG off by default, cookies secure": (
        "config.settings.production",
        {"DJANGO_SECRET_KEY": SECRET},
        "False True True",
    ),
    "production: DJANGO_DEBUG turns DEBUG on": (
        "config.settings.production",
        {"DJANGO_SECRET_KEY": SECRET, "DJANGO_DEBUG": "1"},
        "True True True",
    ),
    "local: DEBUG off unless set": ("config.settings.local", {}, "False False False"),
}


@pytest.mark.slow
@pytest.mark.parametrize("module, extra, printed", CASES.values(), ids=CASES.keys())
def test_settings_by_environment(module, extra, printed, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(module, SKEIN_VAR_DIR=str(tmp_path), **extra),
    )
    if printed is None:
        assert done.returncode != 0
        assert "ImproperlyConfigured" in done.stderr
        assert "DJANGO_SECRET_KEY must be set" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == printed.split(), done.stderr


@pytest.mark.slow
def test_production_settings_pass_check_deploy():
    env = _env(
        "config.settings.production",
        DJANGO_SECRET_KEY="k" * 30 + "Zq8!v#2LmXw4&rT9yB1nC6pE0sU7hJ3d",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
