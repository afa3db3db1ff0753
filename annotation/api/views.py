"""The v1 API views: one view per operation, each a thin call into a service or selector."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation import selectors
from annotation.api import serializers as s
from annotation.api.inputs import request_body
from annotation.api.pagination import paginate, paginated
from annotation.api.parsers import FormParser, ImportJSONParser, MultiPartParser
from annotation.errors import Forbidden, InvalidInput, NotFound
from annotation.models import GuidelineAck, Membership
from annotation.ratelimit import login_wait
from annotation.selectors import LABELING_ROLES, MANAGING_ROLES, project_for
from annotation.services import guidelines, imports, projects, queue, tokens
from config.converters import id_param


class TokenView(APIView):
    """Exchange a username and password for a new API token (one per login or device)."""

    permission_classes = [AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=s.TokenRequestInput,
                   responses={200: s.TokenCreatedSerializer, 429: s.ErrorSerializer})
    def post(self, request: Request) -> Response:
        body = s.TokenRequestInput.validated(request)
        username = body["username"]
        wait = login_wait(request, username=username)
        if wait is not None:
            return Response({"detail": f"Too many login attempts; try again in {wait} s."},
                            status=status.HTTP_429_TOO_MANY_REQUESTS,
                            headers={"Retry-After": str(wait)})
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

    @extend_schema(parameters=[OpenApiParameter("user", str)],
                   responses={200: paginated(s.ApiTokenSerializer)})
    def get(self, request: Request) -> Response:
        assert request.user.is_authenticated  # IsAuthenticated, the default permission, has checked
        rows = selectors.tokens_visible_to(actor=request.user,
                                           username=request.query_params.get("user"))
        return paginate(request, rows.select_related("user"), s.ApiTokenSerializer,
                        context={"current": getattr(request.auth, "pk", None)})


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
        user = projects.user_create(actor=request.user, username=body["username"],
                                    password=body["password"], email=body.get("email") or "")
        return Response(s.UserSerializer(user).data, status=status.HTTP_201_CREATED)


class MeView(APIView):
    @extend_schema(responses={200: s.MeSerializer})
    def get(self, request: Request) -> Response:
        user = request.user
        assert user.is_authenticated  # IsAuthenticated, the default permission, has checked
        memberships = Membership.objects.filter(user=user).values("project_id", "role")
        return Response({
            "id": user.pk, "username": user.username, "is_staff": user.is_staff,
            "can_create_projects": selectors.can_create_projects(user=user),
            "projects": [{"id": m["project_id"], "role": m["role"]} for m in memberships],
        })


class ProjectListView(APIView):
    @extend_schema(operation_id="v1_projects_list", responses={200: paginated(s.ProjectSerializer)})
    def get(self, request: Request) -> Response:
        assert request.user.is_authenticated  # IsAuthenticated, the default permission, has checked
        qs = selectors.projects_for(user=request.user).prefetch_related("labels")
        roles = dict(Membership.objects.filter(user=request.user)
                     .values_list("project_id", "role"))
        return paginate(request, qs, s.ProjectSerializer, context={"roles": roles})

    @extend_schema(request=s.ProjectCreateInput, responses={201: s.ProjectSerializer})
    def post(self, request: Request) -> Response:
        if not selectors.can_create_projects(user=request.user):
            raise Forbidden({"detail": "Ask an admin for permission to create projects."})
        project = projects.project_create(creator=request.user,
                                          **s.ProjectCreateInput.validated(request))
        data = s.ProjectSerializer(project, context={"roles": {project.pk: "manager"}}).data
        return Response(data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(responses={200: s.ProjectSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, role = project_for(user=request.user, project_id=project_id)
        return Response(s.ProjectSerializer(project, context={"roles": {project.pk: role}}).data)

    @extend_schema(request=s.ProjectUpdateInput, responses={200: s.ProjectSerializer})
    def patch(self, request: Request, project_id: int) -> Response:
        project, role = project_for(user=request.user, project_id=project_id,
                                    roles=MANAGING_ROLES)
        project = projects.project_update(project=project, actor=request.user,
                                          **s.ProjectUpdateInput.validated(request))
        return Response(s.ProjectSerializer(project, context={"roles": {project.pk: role}}).data)


class ProgressView(APIView):
    """Counts for the dashboard (managers) or the labeler's own numbers."""

    @extend_schema(responses={200: s.ProgressSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, role = project_for(user=request.user, project_id=project_id)
        assert request.user.is_authenticated  # IsAuthenticated, the default permission, has checked
        data: dict[str, Any] = {"me": selectors.labeler_stats(user=request.user,
                                                             project=project)}
        if role in MANAGING_ROLES:
            data["progress"] = selectors.project_progress(project=project)
        return Response(data)


class MemberListView(APIView):
    @extend_schema(responses={200: paginated(s.MembershipSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        qs = project.memberships.select_related("user").order_by("user__username")
        return paginate(request, qs, s.MembershipSerializer)

    @extend_schema(request=s.MemberInput, responses={201: s.MembershipSerializer})
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        membership = projects.member_set(project=project, actor=request.user,
                                         **s.MemberInput.validated(request))
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, project_id: int, username: str) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        projects.member_remove(project=project, actor=request.user, username=username)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GuidelineListView(APIView):
    @extend_schema(responses={200: paginated(s.GuidelineSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id)
        return paginate(request, project.guidelines.order_by("-version"), s.GuidelineSerializer)

    @extend_schema(request=s.GuidelineInput,
                   responses={201: s.GuidelineSerializer,
                              200: OpenApiResponse(s.GuidelineSerializer,
                                                   "The text is the current version's: "
                                                   "that version, nothing published.")})
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        guideline, created = guidelines.guideline_publish(
            project=project, actor=request.user, **s.GuidelineInput.validated(request))
        return Response(s.GuidelineSerializer(guideline).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class GuidelineCurrentView(APIView):
    @extend_schema(responses={200: s.GuidelineSerializer, 404: s.ErrorSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id)
        guideline = selectors.current_guideline(project=project)
        if guideline is None:
            raise NotFound({"detail": "This project has no guideline yet."})
        assert request.user.is_authenticated  # IsAuthenticated, the default permission, has checked
        acked = selectors.has_acknowledged(user=request.user, guideline=guideline)
        return Response(s.GuidelineSerializer(guideline, context={"acknowledged": acked}).data)


class GuidelineAckListView(APIView):
    """Who acknowledged which version (managers)."""

    @extend_schema(responses={200: s.GuidelineAckListSerializer})
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        acks = (GuidelineAck.objects.filter(guideline__project=project)
                .order_by("-guideline__version", "user__username")
                .values_list("user__username", "guideline__version", "acknowledged_at"))
        return Response({"results": [{"username": u, "version": v, "acknowledged_at": t}
                                     for u, v, t in acks]})


class GuidelineAckView(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, project_id: int, version: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id)
        guidelines.guideline_acknowledge(project=project, user=request.user, version=version)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ItemImportView(APIView):
    # The file's size is capped while it is read (annotation/uploads.py), before this view.
    parser_classes = [MultiPartParser, FormParser, ImportJSONParser]

    @extend_schema(
        request={"multipart/form-data": {"type": "object",
                                         "properties": {"file": {"type": "string",
                                                                 "format": "binary"}}},
                 "application/json": {"type": "array", "items": {"type": "object"}}},
        responses={201: s.ImportResultSerializer, 400: s.ImportRejectedSerializer},
    )
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        upload = request.FILES.get("file") if hasattr(request, "FILES") else None
        if upload is not None:
            fmt = imports.format_from_name(upload.name or "")
            result = imports.items_import(project=project, stream=upload.file, fmt=fmt,
                                          actor=request.user, source=upload.name or "")
        elif isinstance(request.data, list):
            result = imports.items_import_records(project=project, records=request.data,
                                                  actor=request.user)
        else:
            items = request.data.get("items") if isinstance(request.data, dict) else None
            if items is None:
                raise InvalidInput({"file": ["Send a file (multipart field 'file') or a JSON "
                                             "list of items."]})
            result = imports.items_import_records(project=project, records=items,
                                                  actor=request.user)
        return Response({"created": result.created, "duplicates": result.duplicates},
                        status=status.HTTP_201_CREATED)


class ItemListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("state", str), OpenApiParameter("has_gold", bool)],
        responses={200: paginated(s.ItemSerializer)},
    )
    def get(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id, roles=MANAGING_ROLES)
        state = request.query_params.get("state")
        if state and state not in ("open", "leased", "complete"):
            raise InvalidInput({"state": ["Use open, leased or complete."]})
        has_gold_raw = request.query_params.get("has_gold")
        has_gold = None
        if has_gold_raw is not None:
            if has_gold_raw.lower() not in ("true", "false", "1", "0"):
                raise InvalidInput({"has_gold": ["Use true or false."]})
            has_gold = has_gold_raw.lower() in ("true", "1")
        qs = selectors.items_for_manager(project=project, state=state, has_gold=has_gold)
        return paginate(request, qs, s.ItemSerializer)


class NextView(APIView):
    """Claim the next item (a POST: it writes a lease)."""

    @extend_schema(request=None, responses={200: s.NextSerializer, 204: None,
                                            409: s.ConflictSerializer},
                   parameters=[OpenApiParameter(
                       "ahead_of", int, description="Prefetch: the assignment still on "
                       "screen; answer with the item after it (at most two open leases).")])
    def post(self, request: Request, project_id: int) -> Response:
        project, _ = project_for(user=request.user, project_id=project_id,
                                 roles=LABELING_ROLES)
        raw_ahead_of = request.query_params.get("ahead_of")
        ahead_of = id_param(raw_ahead_of)
        if raw_ahead_of is not None and ahead_of is None:
            raise InvalidInput({"ahead_of": ["An assignment id."]})
        claim = queue.assignment_claim_next(project=project, user=request.user,
                                            ahead_of=ahead_of)
        if claim is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        data = selectors.item_data_for(claim.item.data, project=project)
        return Response({
            "assignment": {"id": claim.assignment.pk, "expires_at": claim.assignment.expires_at},
            "item": {"id": claim.item.pk, "external_id": claim.item.external_id, "data": data},
            "guideline_version": claim.guideline_version,
            "suggestion": claim.suggestion,
        })


class SubmitView(APIView):
    @extend_schema(request=s.SubmitSerializer, responses={201: s.AnnotationSerializer,
                                                          200: s.AnnotationSerializer})
    def post(self, request: Request, assignment_id: int) -> Response:
        body = request_body(request)
        annotation, created = queue.annotation_submit(
            assignment_id=assignment_id, user=request.user, labels=body.get("labels"),
            duration_ms=body.get("duration_ms"), client_id=body.get("client_id"),
        )
        data = {
            "id": annotation.pk, "item": annotation.item_id,
            "assignment": annotation.assignment_id, "annotator": request.user.username,
            "labels": annotation.labels, "guideline_version": annotation.guideline_version,
            "duration_ms": annotation.duration_ms, "client_id": annotation.client_id,
            "created_at": annotation.created_at,
        }
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SkipView(APIView):
    @extend_schema(request=s.SkipSerializer, responses={204: None})
    def post(self, request: Request, assignment_id: int) -> Response:
        body = request_body(request) if request.data else {}
        queue.assignment_skip(assignment_id=assignment_id, user=request.user,
                              reason=body.get("reason", ""))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AnnotationListView(APIView):
    @extend_schema(responses={200: paginated(s.AnnotationSerializer)})
    def get(self, request: Request, project_id: int) -> Response:
        project, role = project_for(user=request.user, project_id=project_id)
        assert request.user.is_authenticated  # IsAuthenticated, the default permission, has checked
        qs = selectors.annotations_visible_to(user=request.user, project=project, role=role)
        return paginate(request, qs, s.AnnotationSerializer, context={"role": role})


class AnnotationDetailView(APIView):
    """Change one's own last answer, while the project allows it."""

    @extend_schema(request=s.AnnotationUpdateInput, responses={200: s.AnnotationSerializer})
    def patch(self, request: Request, annotation_id: int) -> Response:
        from annotation.models import Annotation

        assert request.user.is_authenticated  # IsAuthenticated, the default permission, has checked
        project_id = (Annotation.objects.filter(pk=annotation_id, annotator=request.user)
                      .values_list("project_id", flat=True).first())
        if project_id is None:
            raise NotFound({"detail": "Annotation not found."})
        project, role = project_for(user=request.user, project_id=project_id)
        annotation = queue.annotation_update(
            annotation_id=annotation_id, user=request.user,
            labels=s.AnnotationUpdateInput.validated(request)["labels"],
            label_names=selectors.label_names_of(project=project), project=project,
        )
        return Response(s.AnnotationSerializer(annotation, context={"role": role}).data)
