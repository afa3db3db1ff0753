"""Limits and deployment hardening: upload and row caps, login rate limit, deploy checks."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from annotation.models import Item


def test_an_upload_over_the_size_cap_is_refused_with_413(api, make_project, manager):
    project = make_project()
    body = b"external_id,text\n" + b"".join(b"%d,some text\n" % i for i in range(200))
    with override_settings(SKEIN_MAX_UPLOAD_BYTES=1000):
        response = api(manager).post(
            f"/api/v1/projects/{project.pk}/items/import/",
            {"file": SimpleUploadedFile("big.csv", body, content_type="text/csv")},
            format="multipart",
        )
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
            format="multipart",
        )
    assert response.status_code == 400
    assert response.json()["errors"][-1]["message"] == "more than 20 rows; split the file"
    assert Item.objects.filter(project=project).count() == 0


def test_login_attempts_are_rate_limited(api, make_user):
    cache.clear()  # the file cache outlives a run: an earlier run's failures still count
    make_user("guesser", password="right-password-1")
    client = api()
    with override_settings(SKEIN_LOGIN_RATE="3/min"):
        codes = [
            client.post(
                "/api/v1/auth/token/",
                {"username": "guesser", "password": "no"},
                format="json",
                REMOTE_ADDR="10.9.8.7",
            ).status_code
            for _ in range(4)
        ]
        other = client.post(
            "/api/v1/auth/token/",
            {"username": "guesser", "password": "right-password-1"},
            format="json",
            REMOTE_ADDR="10.9.8.8",
        )
    assert codes == [400, 400, 400, 429]
    assert other.status_code == 200  # another address is not blocked


def test_the_browser_login_is_rate_limited_too(make_user):
    from django.test import Client

    cache.clear()
    make_user("walker", password="right-password-1")
    browser = Client()
    with override_settings(SKEIN_LOGIN_RATE="2/min"):
        codes = [
            browser.post(
                "/login/", {"username": "walker", "password": "nope"}, REMOTE_ADDR="10.5.5.5"
            ).status_code
            for _ in range(3)
        ]
        blocked = browser.post(
            "/login/",
            {"username": "walker", "password": "right-password-1"},
            REMOTE_ADDR="10.5.5.5",
        )
    assert codes == [200, 200, 429]  # the form re-shown with an error, then refused
    assert blocked.status_code == 429
    assert b"Too many login attempts" in blocked.content


# --- bad requests are 4xx, never 500, alike on both databases (issue 10, point 14) -------

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a": ' * 100_000 + "1" + "}" * 100_000


def _raw(client, method: str, url: str, body: str):
    return getattr(client, method)(url, body, content_type="application/json")


def test_json_nested_100000_levels_is_a_400_on_every_json_endpoint(
    api, project, manager, labeler, add_member
):
    add_member(project, labeler)
    calls = [
        (api(), "post", "/api/v1/auth/token/"),
        (api(manager), "post", "/api/v1/projects/"),
        (api(manager), "patch", f"/api/v1/projects/{project.pk}/"),
        (api(manager), "post", f"/api/v1/projects/{project.pk}/items/import/"),
        (api(manager), "post", f"/api/v1/projects/{project.pk}/members/"),
        (api(manager), "post", f"/api/v1/projects/{project.pk}/guidelines/"),
        (api(manager), "post", f"/api/v1/projects/{project.pk}/review/1/"),
        (api(labeler), "post", "/api/v1/assignments/1/submit/"),
    ]
    for client, method, url in calls:
        for body in (DEEP, DEEP_OBJECT, "[" * 70 + "]" * 70):
            response = _raw(client, method, url, body)
            assert response.status_code == 400, (url, response.status_code, body[:5])
    from django.test import Client

    browser = Client()
    browser.force_login(manager)
    response = browser.post(
        f"/projects/{project.pk}/guideline/preview/", DEEP, content_type="application/json"
    )
    assert response.status_code == 400


SURROGATE = "contains a lone UTF-16 surrogate (not valid Unicode), which cannot be stored"
NUL = "contains a NUL character, which cannot be stored"


@pytest.mark.parametrize(
    "method, path, body, field",
    [
        ("post", "/api/v1/projects/", '{"name": "x\\ud800", "labels": ["a"]}', "name"),
        (
            "post",
            "/api/v1/projects/",
            '{"name": "x", "labels": [{"name": "\\udc00"}]}',
            "labels.name",
        ),
        ("patch", "/api/v1/projects/{p}/", '{"description": "ok \\ud83d"}', "description"),
        ("patch", "/api/v1/projects/{p}/", '{"private_fields": ["a\\u0000"]}', "private_fields"),
        ("post", "/api/v1/projects/{p}/guidelines/", '{"body": "# Hi \\udfff"}', "body"),
        (
            "post",
            "/api/v1/projects/{p}/members/",
            '{"username": "\\ud800", "role": "labeler"}',
            "username",
        ),
        (
            "post",
            "/api/v1/users/",
            '{"username": "bob", "password": "pw\\u0000xxxxxxxx"}',
            "password",
        ),
        ("post", "/api/v1/users/", '{"username": "bob", "\\ud800": 1}', "\\ud800"),
    ],
)
def test_text_neither_database_can_store_is_a_400_naming_the_field(
    api, project, manager, method, path, body, field
):
    from annotation.models import AuditEvent, Project

    before = (Project.objects.count(), AuditEvent.objects.count())
    response = _raw(api(manager), method, path.format(p=project.pk), body)
    assert response.status_code == 400, response.content
    assert response.json() == {
        field: [SURROGATE if "\\ud" in body or "\\udc" in body or "\\udf" in body else NUL]
    }
    assert (Project.objects.count(), AuditEvent.objects.count()) == before


def test_token_submit_and_skip_refuse_unstorable_text(api, project, labeler, add_member):
    add_member(project, labeler)
    response = _raw(
        api(), "post", "/api/v1/auth/token/", '{"username": "labeler\\ud800", "password": "x"}'
    )
    assert (response.status_code, response.json()) == (400, {"username": [SURROGATE]})
    client = api(labeler)
    claim = client.post(f"/api/v1/projects/{project.pk}/next/")
    assignment = claim.json()["assignment"]["id"]
    for body, field in [
        ('{"labels": ["pos"], "client_id": "c\\u0000"}', "client_id"),
        ('{"labels": ["p\\udc80"]}', "labels"),
    ]:
        response = _raw(client, "post", f"/api/v1/assignments/{assignment}/submit/", body)
        assert response.status_code == 400, response.content
        assert list(response.json()) == [field]
    response = _raw(
        client, "post", f"/api/v1/assignments/{assignment}/skip/", '{"reason": "\\ud800"}'
    )
    assert (response.status_code, response.json()) == (400, {"reason": [SURROGATE]})
    # A form body (the browser's kind) is held to the same rule.
    response = client.post(
        f"/api/v1/assignments/{assignment}/skip/",
        "reason=a%00b",
        content_type="application/x-www-form-urlencoded",
    )
    assert (response.status_code, response.json()) == (400, {"reason": [NUL]})
    from annotation.models import Annotation, Assignment

    assert not Annotation.objects.filter(project=project).exists()
    assert Assignment.objects.get(pk=assignment).state == "active"


HUGE = "99999999999999999999"  # above 2**63


def test_ids_beyond_64_bits_are_404_not_500(api, project, manager, make_user):
    staff = make_user("root", staff=True)
    client = api(manager)
    for url in [
        f"/api/v1/projects/{HUGE}/",
        f"/api/v1/projects/{HUGE}/items/",
        f"/api/v1/projects/{project.pk}/guidelines/{HUGE}/ack/",
        f"/api/v1/labelsets/{HUGE}/",
        f"/api/v1/models/{HUGE}/activate/",
        f"/api/v1/projects/{project.pk}/review/{HUGE}/",
        f"/api/v1/projects/{2**63}/",
        f"/api/v1/annotations/{HUGE}/",
    ]:
        method = "post" if url.endswith(("ack/", "activate/", "review/" + HUGE + "/")) else "get"
        assert getattr(client, method)(url).status_code == 404, url
    assert (
        client.post(
            f"/api/v1/assignments/{HUGE}/submit/", {"labels": ["pos"]}, format="json"
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/projects/{2**63 - 1}/").status_code == 404
    from django.test import Client

    browser = Client()
    browser.force_login(manager)
    assert browser.get(f"/projects/{HUGE}/label/").status_code == 404
    # Query parameters: a clear 400, or an empty page past the end.
    assert client.post(f"/api/v1/projects/{project.pk}/next/?ahead_of={HUGE}").status_code == 400
    assert api(staff).get(f"/api/v1/audit/?project={HUGE}").status_code == 400
    page = client.get(f"/api/v1/projects/{project.pk}/items/?offset={HUGE}&limit=5")
    assert page.status_code == 200 and page.json()["results"] == []


def test_over_long_values_are_refused_by_the_app_on_both_databases(api, project, manager):
    from annotation.services.projects import MAX_DESCRIPTION_CHARS

    client = api(manager)
    url = f"/api/v1/projects/{project.pk}/"
    big = client.patch(url, {"description": "d" * (9 * 1024 * 1024)}, format="json")
    assert big.status_code == 400 and list(big.json()) == ["description"]
    assert (
        client.patch(url, {"description": "d" * MAX_DESCRIPTION_CHARS}, format="json").status_code
        == 200
    )
    email = client.post(
        "/api/v1/users/",
        {"username": "eve", "password": "long-enough-pw-1", "email": "e" * 250 + "@x.org"},
        format="json",
    )
    assert email.status_code == 400 and list(email.json()) == ["email"]
    from django.contrib.auth import get_user_model

    assert not get_user_model().objects.filter(username="eve").exists()


def test_a_json_body_over_the_memory_limit_is_refused_before_it_is_parsed(api, manager):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        response = api(manager).post(
            "/api/v1/projects/", {"name": "x" * 2000, "labels": ["a"]}, format="json"
        )
    assert response.status_code == 413


def test_an_upload_declared_over_the_cap_is_refused_before_its_body_is_read(api, project, manager):
    """The test client's payload raises if more is read than was sent: a 413 here means the
    server refused on the declared length alone."""
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\nexternal_id,text\r\n1,x\r\n--B--\r\n"
    )
    with override_settings(SKEIN_MAX_UPLOAD_BYTES=1000):
        response = api(manager).generic(
            "POST",
            f"/api/v1/projects/{project.pk}/items/import/",
            body,
            content_type="multipart/form-data; boundary=B",
            CONTENT_LENGTH=str(300 * 2**20),
        )
    assert response.status_code == 413
    assert "limit is 1000" in response.json()["file"][0]


def test_no_file_part_of_an_upload_is_spooled_past_the_cap(api, make_project, manager):
    """An extra file field (not 'file') is counted too: it cannot fill the disk unchecked."""
    project = make_project()
    small = SimpleUploadedFile("items.csv", b"external_id,text\n1,x\n", content_type="text/csv")
    other = SimpleUploadedFile("junk.bin", b"\0" * 5000)
    with override_settings(SKEIN_MAX_UPLOAD_BYTES=1000):
        response = api(manager).post(
            f"/api/v1/projects/{project.pk}/items/import/",
            {"file": small, "extra": other},
            format="multipart",
        )
    assert response.status_code == 413
    assert Item.objects.filter(project=project).count() == 0
    from django.test import Client  # outside the API too: a 4xx, not a 500

    with override_settings(SKEIN_MAX_UPLOAD_BYTES=1000):
        response = Client().post(
            "/login/",
            {"username": "x", "password": "y", "f": SimpleUploadedFile("j.bin", b"\0" * 5000)},
        )
    assert response.status_code == 400
