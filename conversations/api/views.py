"""The API's views: authenticate, check the caller may use the API, read through ``visibility``, write
through the actions the sockets use."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils.functional import Promise
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from .. import reports
from ..actions import messages, visibility
from ..errors import BAD_REQUEST, NOT_ALLOWED, ServiceError
from ..models import Conversation, Message, Note
from . import serializers as shapes
from .errors import exception_handler

CUSTOMER_CONVERSATIONS = 100
DETAIL_MESSAGES = 50
ERRORS = {
    400: OpenApiResponse(shapes.ErrorSerializer, description="bad_request"),
    401: OpenApiResponse(shapes.ErrorSerializer, description="auth_required (no key) or auth_failed (wrong key)"),
    403: OpenApiResponse(shapes.ErrorSerializer, description="not_allowed: beyond the key's user's permissions"),
    404: OpenApiResponse(shapes.ErrorSerializer, description="not_found"),
    429: OpenApiResponse(shapes.ErrorSerializer, description="rate_limited"),
}


class StaffSessionAuthentication(SessionAuthentication):
    """The browsable API: signed-in staff use it with their admin center session (CSRF-checked)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result


class StaffSessionScheme(SessionScheme):
    """Describes ``StaffSessionAuthentication`` in the schema (the session cookie, as Django's)."""

    target_class = StaffSessionAuthentication


class MayUseApi(permissions.BasePermission):
    message = "This key's user is neither an agent nor staff nor a supervisor."

    def has_permission(self, request, view) -> bool:
        return visibility.may_use_api(request.user)


class SeesEverything(permissions.BasePermission):
    message = "Reports are for staff and supervisors."

    def has_permission(self, request, view) -> bool:
        return visibility.sees_everything(request.user)


class KeyRateThrottle(UserRateThrottle):
    """``PARLEY_API_RATE`` requests per user (key or staff session), counted in this process's cache."""

    def get_rate(self) -> str:
        return settings.PARLEY_API_RATE


class AddressRateThrottle(AnonRateThrottle):
    """``PARLEY_API_ANON_RATE`` requests without a valid key per client address."""

    def get_rate(self) -> str:
        return settings.PARLEY_API_ANON_RATE


class JsonUnlessBrowsable(DefaultContentNegotiation):
    """JSON whatever the client accepts, unless it may have (and asks for) the browsable API."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except exceptions.NotAcceptable:
            return renderers[0], renderers[0].media_type


class ApiPolicy:
    """Keys, permissions, rate limits, renderers and errors of every API view."""

    content_negotiation_class = JsonUnlessBrowsable
    authentication_classes = [TokenAuthentication, StaffSessionAuthentication]
    permission_classes = [permissions.IsAuthenticated, MayUseApi]
    throttle_classes = [KeyRateThrottle, AddressRateThrottle]

    def perform_authentication(self, request) -> None:
        """A wrong key counts against its address's rate limit before it is refused (no key guessing)."""
        try:
            request.user  # noqa: B018 (authenticates)
        except exceptions.AuthenticationFailed:
            self.check_throttles(request)
            raise

    def check_permissions(self, request) -> None:
        if not request.user.is_authenticated:  # refused next: counted first, like a wrong key
            self.check_throttles(request)
        super().check_permissions(request)

    def get_renderers(self):
        renderers = [JSONRenderer()]
        user = getattr(self.request._request, "user", None) if self.request is not None else None
        if user is not None and user.is_authenticated and user.is_staff:
            renderers.append(BrowsableAPIRenderer())
        return renderers

    def get_exception_handler(self):
        return exception_handler


class ApiView(ApiPolicy, GenericAPIView):
    def get_queryset(self):
        """What the key's user may read (the browsable API's forms ask for it too)."""
        return visibility.visible_conversations(self.request.user)


class NewestFirst(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class BySeq(CursorPagination):
    ordering = ("seq",)
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 200


def _state_parameter() -> OpenApiParameter:
    return OpenApiParameter("state", str, description="open, active, waiting, wrap_up, closed; several: a,b")


class ConversationList(ApiView):
    """Conversations the key's user may see, newest first, paginated by cursor."""

    serializer_class = shapes.ConversationSerializer
    pagination_class = NewestFirst

    @extend_schema(
        parameters=[
            _state_parameter(),
            OpenApiParameter("queue", int, description="queue id"),
            OpenApiParameter("agent", int, description="agent id"),
            OpenApiParameter("customer", OpenApiTypes.UUID, description="customer id"),
            OpenApiParameter("updated_after", OpenApiTypes.DATETIME, description="changed after this time"),
            OpenApiParameter("limit", int, description="page size (at most 200)"),
        ],
        responses={200: shapes.ConversationSerializer(many=True), **ERRORS},
    )
    def get(self, request):
        filters = shapes.ConversationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        query = visibility.visible_conversations(request.user)
        wanted = filters.validated_data
        if "state" in wanted:
            query = query.filter(state__in=wanted["state"])
        if "queue" in wanted:
            query = query.filter(queue_id=wanted["queue"])
        if "agent" in wanted:
            query = query.filter(agent_id=wanted["agent"])
        if "customer" in wanted:
            query = query.filter(customer_id=wanted["customer"])
        if "updated_after" in wanted:
            query = query.filter(updated_at__gt=wanted["updated_after"])
        page = self.paginate_queryset(query)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def _notes(conversation: Conversation) -> list[Note]:
    return list(conversation.notes.order_by("created_at", "id"))


class ConversationDetail(ApiView):
    """One conversation with its latest messages and its internal notes."""

    serializer_class = shapes.ConversationDetailSerializer

    @extend_schema(responses={200: shapes.ConversationDetailSerializer, **ERRORS})
    def get(self, request, conversation_id):
        conversation = visibility.conversation_for(request.user, conversation_id)
        rows = list(conversation.messages.order_by("-seq")[: DETAIL_MESSAGES + 1])
        latest = rows[:DETAIL_MESSAGES][::-1]
        data = shapes.conversation_dict(conversation)
        data["messages"] = shapes.MessageSerializer(latest, many=True).data
        data["messages_has_more"] = len(rows) > DETAIL_MESSAGES
        data["notes"] = shapes.NoteSerializer(_notes(conversation), many=True).data
        return Response(data)


class ConversationMessages(ApiView):
    """``GET``: every message of the conversation by ``seq``, paginated by cursor.
    ``POST``: the key's agent writes to the customer, exactly as the socket's ``send``."""

    serializer_class = shapes.MessageSerializer
    pagination_class = BySeq

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description="page size (at most 200)")],
        responses={200: shapes.MessageSerializer(many=True), **ERRORS},
    )
    def get(self, request, conversation_id):
        conversation = visibility.conversation_for(request.user, conversation_id)
        page = self.paginate_queryset(Message.objects.filter(conversation=conversation))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=shapes.AgentMessageSerializer,
        responses={
            201: OpenApiResponse(shapes.MessageSerializer, description="stored"),
            200: OpenApiResponse(shapes.MessageSerializer, description="this client_id was stored before"),
            **ERRORS,
        },
    )
    def post(self, request, conversation_id):
        agent = visibility.agent_of(request.user)
        if agent is None:
            raise ServiceError(NOT_ALLOWED, "Only agents write messages; this key's user is not an agent.")
        body = request.data
        if not isinstance(body, dict):
            raise ServiceError(BAD_REQUEST, "Send a JSON object with client_id and text.")
        message, stored = messages.agent_message(
            agent, conversation_id, client_id=body.get("client_id"), text=body.get("text")
        )
        answer = status.HTTP_201_CREATED if stored else status.HTTP_200_OK
        return Response(shapes.MessageSerializer(message).data, status=answer)


class CustomerDetail(ApiView):
    """A customer with their conversations (those the key's user may see), newest first."""

    serializer_class = shapes.CustomerSerializer

    def get_queryset(self):
        return visibility.visible_customers(self.request.user)

    @extend_schema(responses={200: shapes.CustomerSerializer, **ERRORS})
    def get(self, request, customer_id):
        customer = visibility.customer_for(request.user, customer_id)
        conversations = list(
            visibility.visible_conversations(request.user)
            .filter(customer=customer)
            .order_by("-created_at")[: CUSTOMER_CONVERSATIONS + 1]
        )
        data = shapes.customer_dict(customer)
        data["conversations"] = [shapes.conversation_dict(c) for c in conversations[:CUSTOMER_CONVERSATIONS]]
        data["conversations_has_more"] = len(conversations) > CUSTOMER_CONVERSATIONS
        return Response(data)


def _plain(value):
    """A report as JSON: dates as ISO strings, durations in seconds, translated labels as text."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Promise):
        return str(value)
    return value


class Reports(ApiPolicy, APIView):
    """The reports page's figures (docs/supervisors.md "Reports") for a range of days: staff and supervisors."""

    permission_classes = [permissions.IsAuthenticated, SeesEverything]

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, required=True),
            OpenApiParameter("end", OpenApiTypes.DATE, required=True),
            OpenApiParameter("queue", int, many=True, description="queue ids (repeat the parameter)"),
        ],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request):
        params = {"start": request.query_params.get("start"), "end": request.query_params.get("end")}
        if "queue" in request.query_params:
            params["queue"] = request.query_params.getlist("queue")
        filters = shapes.ReportFilterSerializer(data=params)
        filters.is_valid(raise_exception=True)
        wanted = filters.validated_data
        try:
            chosen = reports.Filters(wanted["start"], wanted["end"], tuple(wanted.get("queue", ())))
        except reports.ReportError as error:
            raise ValidationError({"end": [str(error)]}) from None
        figures = reports.report(chosen)
        figures.pop("filters", None)
        body = {"start": chosen.start.isoformat(), "end": chosen.end.isoformat(), "queues": list(chosen.queue_ids)}
        return Response({**body, **_plain(figures)})


class Root(ApiPolicy, APIView):
    """The API's entry points."""

    @extend_schema(exclude=True)
    def get(self, request):
        base = request.build_absolute_uri("/api/v1/")
        return Response(
            {
                "conversations": f"{base}conversations/",
                "customers": f"{base}customers/<id>/",
                "reports": f"{base}reports/?start=YYYY-MM-DD&end=YYYY-MM-DD",
                "schema": f"{base}schema/",
            }
        )
