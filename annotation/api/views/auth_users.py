"""The v1 API views of API tokens and users: log in, list and revoke tokens, create
users, who am I."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import serializers as s
from annotation.api.authentication import request_user
from annotation.api.pagination import paginate, paginated
from annotation.errors import Forbidden, InvalidInput, NotFound
from annotation.ratelimit import login_wait
from annotation.services import projects, tokens


class TokenView(APIView):
    """Exchange a username and password for a new API token (one per login or device)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        request=s.TokenRequestInput,
        responses={200: s.TokenCreatedSerializer, 429: s.ErrorSerializer},
    )
    def post(self, request: Request) -> Response:
        body = s.TokenRequestInput.validated(request)
        username = body["username"]
        wait = login_wait(request, username=username)
        if wait is not None:
            return Response(
                {"detail": f"Too many login attempts; try again in {wait} s."},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(wait)},
            )
        user = authenticate(request, username=username, password=body["password"])
        if user is None:
            raise InvalidInput({"detail": "Wrong username or password."})
        name = body.get("name")
        if not name or not name.strip():
            name = request.headers.get("User-Agent", "")
        token, key = tokens.token_create(user=user, name=name.strip())
        return Response({"token": key, "id": token.pk, "name": token.name})


class TokenListView(APIView):
    """The caller's live API tokens (admins: ``?user=<username>`` for anyone's)."""

    @extend_schema(
        parameters=[OpenApiParameter("user", str)], responses={200: paginated(s.ApiTokenSerializer)}
    )
    def get(self, request: Request) -> Response:
        rows = selectors.tokens_visible_to(
            actor=request_user(request), username=request.query_params.get("user")
        )
        return paginate(
            request,
            rows.select_related("user"),
            s.ApiTokenSerializer,
            context={"current": getattr(request.auth, "pk", None)},
        )


class TokenDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        """Revoke a token: your own, or anyone's as an admin."""
        tokens.token_revoke(actor=request.user, token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserCreateView(APIView):
    @extend_schema(request=s.UserCreateInput, responses={201: s.UserSerializer})
    def post(self, request: Request) -> Response:
        body = s.UserCreateInput.validated(request)
        project = None
        if "project" in body:
            try:
                project, _ = selectors.project_for(
                    user=request.user, project_id=body["project"], roles=selectors.MANAGING_ROLES
                )
            except (NotFound, Forbidden):
                raise InvalidInput({"project": ["You manage no project with this id."]}) from None
        user = projects.user_create(
            actor=request.user,
            username=body["username"],
            password=body["password"],
            email=body.get("email") or "",
            project=project,
            role=body["role"],
        )
        return Response(s.UserSerializer(user).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    @extend_schema(responses={200: s.MeSerializer})
    def get(self, request: Request) -> Response:
        user = request_user(request)
        memberships = selectors.me_memberships(user=user)
        return Response(
            {
                "id": user.pk,
                "username": user.username,
                "is_staff": user.is_staff,
                "can_create_projects": selectors.can_create_projects(user=user),
                "projects": [{"id": m["project_id"], "role": m["role"]} for m in memberships],
            }
        )
