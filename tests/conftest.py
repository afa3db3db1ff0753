"""Shared fixtures: users by role, a project, API clients. Tests run on the real database
(PostgreSQL in CI, SQLite locally)."""

from __future__ import annotations

import hashlib
import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from annotation.models import Project
from annotation.services.imports import items_import_records
from annotation.services.projects import member_set, project_create

_counter = itertools.count()
ROOT = Path(__file__).resolve().parents[1]


# With SKEIN_CHECK_CLEAN_TREE set (.ci/run sets it on its clean clone), a run that changes a
# tracked file fails: tests write only under var/ and temporary directories. Not on by
# default, since a developer may edit files while the suite runs.
def _tracked_changes() -> dict[str, str] | None:
    """Tracked files that differ from HEAD, with a hash of their content; None when off or
    outside a git checkout."""
    if not os.environ.get("SKEIN_CHECK_CLEAN_TREE"):
        return None
    try:
        names = subprocess.run(
            ["git", "diff", "--name-only", "-z", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {
        name: hashlib.sha256((ROOT / name).read_bytes()).hexdigest()
        if (ROOT / name).is_file()
        else "deleted"
        for name in names.split("\0")
        if name
    }


_TRACKED_BEFORE = pytest.StashKey[dict[str, str] | None]()


def pytest_sessionstart(session: Any) -> None:
    session.config.stash[_TRACKED_BEFORE] = _tracked_changes()


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    before = session.config.stash.get(_TRACKED_BEFORE, None)
    if before is None:
        return
    after = _tracked_changes() or {}
    changed = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(f"FAILED: the test run changed tracked files: {changed}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Markers by what a test needs (registered in pyproject.toml; `make test-fast` leaves these
# out): `browser` for a test that uses the Chromium fixture (directly or through new_page /
# new_context), `worker` for one that uses the live Celery worker (tests/tasks/conftest.py).
# `slow` is put by hand on the tests that take seconds on their own.
_MARKS_BY_FIXTURE = {"browser": pytest.mark.browser, "_worker": pytest.mark.worker}


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        for fixture in _MARKS_BY_FIXTURE.keys() & set(getattr(item, "fixturenames", ())):
            item.add_marker(_MARKS_BY_FIXTURE[fixture])


@pytest.fixture
def make_user(db: Any):
    def make(
        username: str | None = None,
        *,
        staff: bool = False,
        can_create: bool = False,
        password: str = "correct-horse-9",
    ) -> Any:
        User = get_user_model()
        user = User.objects.create_user(
            username=username or f"user{next(_counter)}", password=password, is_staff=staff
        )
        if can_create:
            user.user_permissions.add(Permission.objects.get(codename="add_project"))
        return user

    return make


@pytest.fixture
def manager(make_user):
    return make_user("manager", can_create=True)


@pytest.fixture
def labeler(make_user):
    return make_user("labeler")


@pytest.fixture
def make_project(manager):
    def make(
        *, labels: Any = ("pos", "neg"), creator: Any = None, items: int = 0, **settings: Any
    ) -> Project:
        project = project_create(
            creator=creator or manager,
            name=f"p{next(_counter)}",
            labels=[{"name": n} for n in labels],
            **settings,
        )
        if items:
            items_import_records(
                project=project,
                records=[
                    {"external_id": f"i{n}", "text": f"item number {n}"} for n in range(items)
                ],
            )
        return project

    return make


@pytest.fixture
def project(make_project):
    return make_project(items=10)


@pytest.fixture
def add_member(manager):
    def add(project: Project, user: Any, role: str = "labeler") -> Any:
        member_set(project=project, actor=manager, username=user.username, role=role)
        return user

    return add


@pytest.fixture
def api():
    """An API client authenticated as the given user (or anonymous)."""

    def client(user: Any = None) -> APIClient:
        c = APIClient()
        if user is not None:
            c.force_authenticate(user)
        return c

    return client


# Browser fixtures: one headless Debian Chromium per test session, a page per test.
# Playwright's sync API runs an event loop in this thread; Django's ORM would refuse to be
# called from the test body next to it. Nothing here is async: the check is a false alarm.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("SKEIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-9"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        # Never skip: a run without its browser tests must not look like a passing run.
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM} (SKEIN_CHROMIUM). "
            "`make test` installs Debian's as root (scripts/test-deps.sh); else "
            "install it, e.g. `sudo apt-get install chromium fonts-dejavu-core`, or "
            "set SKEIN_CHROMIUM to a Chromium binary.",
            pytrace=False,
        )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


# Every page runs under the app's Content-Security-Policy (config/csp.py); the browser reports
# each violation as a `securitypolicyviolation` event and as a console error. Both are caught.
_CSP_LISTENER = """document.addEventListener("securitypolicyviolation", (e) => {
  window.skeinCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
    + ` at ${e.sourceFile || document.URL}:${e.lineNumber}`);
}, true);"""


def _is_csp_message(message: Any) -> bool:
    return message.type == "error" and "Content Security Policy" in message.text


@pytest.fixture
def csp_violations() -> Iterator[list[str]]:
    """Every CSP violation of the test's browser pages; any one fails the test."""
    violations: list[str] = []
    yield violations
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))


@pytest.fixture
def new_context(browser: Any, live_server: Any, csp_violations: list[str]) -> Iterator[Any]:
    """Open a fresh browser context (its own cookies) that reports CSP violations."""
    contexts = []

    def open_context() -> Any:
        context = browser.new_context(
            viewport={"width": 1280, "height": 860}, base_url=live_server.url, accept_downloads=True
        )
        contexts.append(context)
        context.expose_function("skeinCspViolation", lambda text: csp_violations.append(text))
        context.add_init_script(_CSP_LISTENER)
        context.on("console", lambda m: _is_csp_message(m) and csp_violations.append(m.text))
        return context

    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def new_page(new_context: Any, live_server: Any) -> Any:
    """Open a page in a fresh context, logged in as the given user."""

    def open_page(username: str, password: str = PASSWORD) -> Any:
        page = new_context().new_page()
        page.set_default_timeout(10_000)
        page.dialogs = []
        page.page_errors = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: page.page_errors.append(str(e)))
        page.goto("/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.press("#id_password", "Enter")
        page.wait_for_url(f"{live_server.url}/")
        return page

    return open_page
