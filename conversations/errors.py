"""The protocol's error codes (../PROTOCOL.md "Error") and ``ServiceError``, the refusal an action raises.

Every layer raises these: the actions when a rule refuses, ``protocol`` when a frame is malformed,
``identity`` when a token does not verify. The sockets turn them into error frames, the views into
JSON answers; nothing else is needed to speak the protocol's error language.
"""

from __future__ import annotations

BAD_REQUEST = "bad_request"
TOO_LARGE = "too_large"
AUTH_REQUIRED = "auth_required"
AUTH_FAILED = "auth_failed"
NOT_ALLOWED = "not_allowed"
NOT_FOUND = "not_found"
NO_CAPACITY = "no_capacity"
ALREADY_ASSIGNED = "already_assigned"
UNAVAILABLE = "unavailable"
RATE_LIMITED = "rate_limited"
# Version 2 additions
PRE_CHAT_REQUIRED = "pre_chat_required"
EXPIRED = "expired"

CODES = frozenset(
    {
        BAD_REQUEST,
        TOO_LARGE,
        AUTH_REQUIRED,
        AUTH_FAILED,
        NOT_ALLOWED,
        NOT_FOUND,
        NO_CAPACITY,
        ALREADY_ASSIGNED,
        UNAVAILABLE,
        RATE_LIMITED,
        PRE_CHAT_REQUIRED,
        EXPIRED,
    }
)


class ServiceError(Exception):
    """A refused action, carrying the protocol error code."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code
        self.message = message or code.replace("_", " ")
