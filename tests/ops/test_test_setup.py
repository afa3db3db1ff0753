"""`make test` on a machine without Chromium: it says what to install and fails; the browser
tests fail loudly rather than being skipped or erroring obscurely (issue 10.1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MISSING = "/nonexistent/chromium"

pytestmark = pytest.mark.slow  # each test runs a subprocess


def test_test_deps_names_what_to_install_and_fails():
    done = subprocess.run(
        ["sh", "scripts/test-deps.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SKEIN_CHROMIUM": MISSING},
    )
    assert done.returncode == 1
    assert f"SKEIN_CHROMIUM={MISSING} is not an executable Chromium" in done.stderr


def test_browser_tests_fail_with_the_reason_without_chromium(tmp_path):
    # A separate run on its own throwaway database (this run's test database is in use).
    env = {
        **os.environ,
        "SKEIN_CHROMIUM": MISSING,
        "SKEIN_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/ui/test_labeling.py::test_item_markup_renders_literally_everywhere",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "1 error" in out and "skipped" not in out, out
    assert f"The browser tests need Chromium at {MISSING}" in out, out
    assert "sudo apt-get install chromium fonts-dejavu-core" in out, out
