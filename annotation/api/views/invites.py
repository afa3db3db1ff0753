"""The v1 API views of invite links: a project's managers make, list and revoke them; whoever
holds a link reads what it offers and uses it (no login needed)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import serializers as s
from annotation.api.pagination import paginate, paginated
from annotation.selectors import MANAGING_ROLES, project_for
from annotation.services import invites


class ProjectInviteListView(APIView):
    @extend_schema(responses={200: paginated(s.InviteSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        return paginate(request, selectors.invites_of(project=project), s.InviteSerializer)

    @extend_schema(request=s.InviteCreateInput, responses={201: s.InviteCreatedSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        body = s.InviteCreateInput.validated(request)
        invite, token = invites.invite_create(
            project=project, actor=request.user, role=body["role"], days=body["expires_in_days"]
        )
        data: dict[str, Any] = dict(s.InviteSerializer(invite).data)
        data["url"] = request.build_absolute_uri(f"/invite/{token}/")
        return Response(data, status=status.HTTP_201_CREATED)


class ProjectInviteDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, invite_id: int) -> Response:
        """Revoke an invite that was not used yet."""
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        invites.invite_revoke(project=project, actor=request.user, invite_id=invite_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InviteView(APIView):
    """What an invite link offers: the project's name and the role (404 forged, 409 used,
    revoked or expired)."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: s.InvitePreviewSerializer})
    def get(self, request: Request, token: str) -> Response:
        invite = invites.invite_by_token(token)
        return Response(
            {"project": invite.project.name, "role": invite.role, "expires_at": invite.expires_at}
        )


class InviteAcceptView(APIView):
    """Use an invite: a new account (username, password) joins the project with the invite's
    role; a logged-in caller joins with their own account and sends an empty body."""

    permission_classes = [AllowAny]

    @extend_schema(request=s.InviteAcceptInput, responses={201: s.MembershipSerializer})
    def post(self, request: Request, token: str) -> Response:
        body = s.InviteAcceptInput.validated(request)
        _, membership = invites.invite_accept(
            token=token,
            user=request.user if request.user.is_authenticated else None,
            username=body["username"],
            password=body["password"],
            email=body.get("email") or "",
        )
        data = dict(s.MembershipSerializer(membership).data)
        data["project"] = membership.project_id
        return Response(data, status=status.HTTP_201_CREATED)
