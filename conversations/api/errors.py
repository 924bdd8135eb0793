"""API errors in the protocol's shape: ``{"code": "…", "message": "…"}`` with the protocol's codes."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import ServiceError

# Protocol error code -> HTTP status.
STATUS = {
    "bad_request": status.HTTP_400_BAD_REQUEST,
    "too_large": status.HTTP_400_BAD_REQUEST,
    "pre_chat_required": status.HTTP_400_BAD_REQUEST,
    "auth_required": status.HTTP_401_UNAUTHORIZED,
    "auth_failed": status.HTTP_401_UNAUTHORIZED,
    "not_allowed": status.HTTP_403_FORBIDDEN,
    "not_found": status.HTTP_404_NOT_FOUND,
    "no_capacity": status.HTTP_409_CONFLICT,
    "already_assigned": status.HTTP_409_CONFLICT,
    "expired": status.HTTP_409_CONFLICT,
    "unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
    "rate_limited": status.HTTP_429_TOO_MANY_REQUESTS,
}


def _code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.NotAuthenticated):
        return "auth_required"
    if isinstance(exc, exceptions.AuthenticationFailed):
        return "auth_failed"
    if isinstance(exc, exceptions.PermissionDenied):
        return "not_allowed"
    if isinstance(exc, exceptions.NotFound):
        return "not_found"
    if isinstance(exc, exceptions.Throttled):
        return "rate_limited"
    return "bad_request"


def _message(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_message(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_message(item) for item in detail)
    return str(detail)


def exception_handler(exc, context):
    """DRF's handler, with every error answered as ``{"code", "message"[, "fields"]}``."""
    if isinstance(exc, ServiceError):
        return Response({"code": exc.code, "message": exc.message}, status=STATUS.get(exc.code, 400))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    body = {"code": _code(exc), "message": _message(exc.detail)}
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        body["fields"] = {key: _message(value) for key, value in exc.detail.items()}
    response.data = body
    return response
