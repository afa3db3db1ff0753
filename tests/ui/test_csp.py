"""The Content-Security-Policy: on every response, and no page of the app breaks it.

Every browser test runs under the policy: the `new_page` fixture fails a test on any violation
(tests/conftest.py). This file visits every page once, the API docs and the admin included.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from annotation.services.guidelines import guideline_publish
from config.csp import policy

pytestmark = pytest.mark.django_db(transaction=True)


def _directives(header: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_every_response_carries_the_policy(make_project, manager):
    project = make_project(items=1)
    client = Client()
    anonymous = [
        "/login/",
        "/api/docs/",
        "/api/docs/?script=",
        "/admin/login/",
        "/no-such-page/",
        "/api/v1/projects/",
    ]
    client.force_login(manager)
    member = [
        "/",
        f"/projects/{project.pk}/label/",
        f"/projects/{project.pk}/dashboard/",
        f"/projects/{project.pk}/settings/",
        "/static/labeling_ui/js/label.js",
    ]
    for path in anonymous + member:
        response = client.get(path)
        csp = _directives(response.headers["Content-Security-Policy"])
        assert csp["script-src"] == ["'self'"], path
        assert csp["style-src"] == ["'self'"], path
        assert csp["img-src"] == ["'self'", "data:"], path
        assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"], path


def test_image_hosts_come_from_the_setting():
    with override_settings(SKEIN_CSP_IMG_HOSTS=["https://img.example.org", "https://*.cdn.net"]):
        assert _directives(policy())["img-src"] == [
            "'self'",
            "data:",
            "https://img.example.org",
            "https://*.cdn.net",
        ]
    # A value that would end the directive and write another one is refused at start-up.
    with (
        override_settings(SKEIN_CSP_IMG_HOSTS=["https://x.org; script-src *"]),
        pytest.raises(ImproperlyConfigured, match="SKEIN_CSP_IMG_HOSTS"),
    ):
        policy()


def test_every_page_works_under_the_policy(new_page, make_project, manager, make_user, add_member):
    project = make_project(items=3, labels=("pos", "neg"))
    guideline_publish(project=project, actor=manager, body="# Rules\n\n![x](/static/none.png)")
    page = new_page(manager.username)
    base = f"/projects/{project.pk}"
    for path, ready in (
        ("/", ".project-card"),
        (f"{base}/label/", "#guideline-ack"),
        (f"{base}/dashboard/", "#kpi-items:not(:text('–'))"),
        (f"{base}/data/", "#item-counts:not(:text('–'))"),
        (f"{base}/guideline/", "#guideline-preview h1"),
        (f"{base}/members/", "#members tbody tr"),
        (f"{base}/settings/", "#label-rows input"),
        (f"{base}/review/", "#review-count:not(:text('…'))"),
        ("/projects/new/", "#project-form"),
    ):
        page.goto(path)
        page.locator(ready).first.wait_for()
    # The label buttons keep their colours (set through the CSSOM, not a style attribute).
    page.goto(f"{base}/label/")
    colour = page.locator(".label-btn").first.evaluate(
        "b => getComputedStyle(b).getPropertyValue('--label-color').trim()"
    )
    assert colour == "#4e79a7"
    assert page.page_errors == []


def test_api_docs_and_admin_work_under_the_policy(new_page, make_user, new_context):
    admin = make_user("root", staff=True)
    admin.is_superuser = True
    admin.save()
    page = new_page(admin.username)
    page.goto("/api/docs/")
    page.locator(".swagger-ui .info .title").filter(has_text="Skein API").wait_for()
    page.locator(".opblock").first.wait_for()
    page.goto("/admin/")
    page.locator("#site-name").wait_for()
    page.goto("/admin/annotation/project/add/")
    page.locator("#project_form").wait_for()
    assert page.page_errors == []


def test_a_violation_is_caught(new_page, manager, csp_violations):
    """The check itself: an inline script added to a page is blocked and reported."""
    page = new_page(manager.username)
    page.evaluate("""() => { const s = document.createElement("script");
        s.textContent = "window.ranInline = true"; document.body.append(s); }""")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.ranInline") is None
    assert any("script-src" in v for v in csp_violations), csp_violations
    csp_violations.clear()  # expected here; any other test would fail on it
