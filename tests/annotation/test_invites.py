"""Invite links (projects/{id}/invites/, invites/{token}/ and accept/) and labeler accounts
made by managers (POST users/ with a project): signed, expiring, used once, revocable;
field-named 400s, nothing half-written."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import AuditEvent, Invite, Membership

User = get_user_model()


def _invite(api: Any, user: Any, project: Any, **body: Any) -> Any:
    return api(user).post(f"/api/v1/projects/{project.pk}/invites/", body, format="json")


def _token(response: Any) -> str:
    return response.json()["url"].rstrip("/").rsplit("/", 1)[1]


def _accept(token: str, client: Any = None, **body: Any) -> Any:
    return (client or APIClient()).post(f"/api/v1/invites/{token}/accept/", body, format="json")


def test_an_invite_makes_an_account_that_joins_with_the_role_once(api, make_project, manager):
    project = make_project()
    created = _invite(api, manager, project, role="reviewer", expires_in_days=3)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["role"], body["state"]) == ("reviewer", "open")
    assert "/invite/" in body["url"]
    token = _token(created)
    # Nothing of the key is stored in the clear.
    assert token.split(":")[0] not in Invite.objects.get().key_hash

    preview = APIClient().get(f"/api/v1/invites/{token}/")
    assert preview.status_code == 200
    assert preview.json()["project"] == project.name and preview.json()["role"] == "reviewer"

    accepted = _accept(token, username="newbie", password="a-long-pass-phrase-9")
    assert accepted.status_code == 201, accepted.content
    user = User.objects.get(username="newbie")
    assert user.check_password("a-long-pass-phrase-9")
    assert Membership.objects.get(project=project, user=user).role == "reviewer"
    invite = Invite.objects.get()
    assert (invite.state, invite.used_by) == ("used", user)
    assert {"invite.created", "invite.used", "user.created", "member.added"} <= set(
        AuditEvent.objects.values_list("action", flat=True)
    )

    again = _accept(token, username="second", password="a-long-pass-phrase-9")
    assert again.status_code == 409 and "used" in again.json()["detail"]
    assert not User.objects.filter(username="second").exists()
    listed = api(manager).get(f"/api/v1/projects/{project.pk}/invites/").json()["results"]
    assert [(i["state"], i["used_by"]) for i in listed] == [("used", "newbie")]
    assert "url" not in listed[0]


def test_a_logged_in_user_joins_with_their_own_account(api, make_project, manager, make_user):
    project = make_project()
    token = _token(_invite(api, manager, project))
    paula = make_user("paula")
    assert _accept(token, api(paula)).status_code == 201
    assert Membership.objects.get(project=project, user=paula).role == "labeler"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "", "password": "a-long-pass-phrase-9"}, "username"),
        ({"username": "manager", "password": "a-long-pass-phrase-9"}, "username"),  # taken
        ({"username": "newbie", "password": "short"}, "password"),
        ({"username": "newbie", "password": "a-long-pass-phrase-9", "role": "manager"}, "role"),
    ],
)
def test_a_bad_account_is_a_field_named_400_and_the_invite_stays_open(
    api, make_project, manager, body, field
):
    project = make_project()
    token = _token(_invite(api, manager, project))
    response = _accept(token, **body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Invite.objects.get().state == "open"
    assert Membership.objects.filter(project=project).count() == 1
    assert not User.objects.filter(username="newbie").exists()


def test_forged_expired_and_revoked_links_are_refused(api, make_project, manager):
    project = make_project()
    token = _token(_invite(api, manager, project))
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert APIClient().get(f"/api/v1/invites/{forged}/").status_code == 404
    assert _accept(forged, username="x1", password="a-long-pass-phrase-9").status_code == 404

    Invite.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = _accept(token, username="x2", password="a-long-pass-phrase-9")
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]

    Invite.objects.update(expires_at=timezone.now() + timedelta(days=1))
    invite = Invite.objects.get()
    revoke = api(manager).delete(f"/api/v1/projects/{project.pk}/invites/{invite.pk}/")
    assert revoke.status_code == 204
    revoked = _accept(token, username="x3", password="a-long-pass-phrase-9")
    assert revoked.status_code == 409 and "revoked" in revoked.json()["detail"]
    assert not User.objects.filter(username__in=["x1", "x2", "x3"]).exists()
    assert AuditEvent.objects.filter(action="invite.revoked").count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({"role": "boss"}, "role"), ({"expires_in_days": 0}, "expires_in_days"), ({"x": 1}, "x")],
)
def test_a_bad_invite_is_a_field_named_400(api, make_project, manager, body, field):
    project = make_project()
    response = _invite(api, manager, project, **body)
    assert response.status_code == 400 and field in response.json()
    assert not Invite.objects.exists()


def test_only_managers_make_list_and_revoke_invites(
    api, make_project, manager, labeler, add_member, make_user
):
    project = make_project()
    add_member(project, labeler)
    invite = Invite.objects.get(pk=_invite(api, manager, project).json()["id"])
    for user, status in ((labeler, 403), (make_user("olga"), 404)):
        assert _invite(api, user, project).status_code == status
        assert api(user).get(f"/api/v1/projects/{project.pk}/invites/").status_code == status
        url = f"/api/v1/projects/{project.pk}/invites/{invite.pk}/"
        assert api(user).delete(url).status_code == status
    assert Invite.objects.get().state == "open"
    # Another project's manager cannot revoke it either.
    other = make_project(creator=make_user("boss", can_create=True))
    url = f"/api/v1/projects/{other.pk}/invites/{invite.pk}/"
    assert api(other.created_by).delete(url).status_code == 404


def test_a_manager_creates_a_labeler_account_in_their_project(
    api, make_project, manager, make_user
):
    project = make_project()
    response = api(manager).post(
        "/api/v1/users/",
        {"username": "lena", "password": "a-long-pass-phrase-9", "project": project.pk},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert Membership.objects.get(project=project, user__username="lena").role == "labeler"

    other = make_project(creator=make_user("boss", can_create=True))
    refused = api(manager).post(
        "/api/v1/users/",
        {"username": "max", "password": "a-long-pass-phrase-9", "project": other.pk},
        format="json",
    )
    assert refused.status_code == 400 and "project" in refused.json()
    assert not User.objects.filter(username="max").exists()
