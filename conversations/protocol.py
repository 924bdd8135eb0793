"""The frames of ../PROTOCOL.md as both sockets read and answer them.

``parse`` turns one WebSocket text frame into a frame dict or raises ``BadFrame`` (with what of the frame
the error may echo); the field readers check one field each; ``error_frame`` builds the answer to a bad
or refused frame. The consumers (``conversations/consumers``) only call these.
"""

from __future__ import annotations

import json
import re

from django.conf import settings

from .errors import BAD_REQUEST, RATE_LIMITED, TOO_LARGE, ServiceError


class BadFrame(ServiceError):
    """A frame the protocol does not accept. ``echo`` is the frame whose ``req`` / ``client_id`` the error
    echoes (None: echo nothing)."""

    def __init__(self, code: str, message: str, echo: dict | None = None) -> None:
        super().__init__(code, message)
        self.echo = echo


def error_frame(code: str, message: str, frame: dict | None = None) -> dict:
    """``{"type": "error", ...}``, echoing the ``req`` and ``client_id`` of ``frame`` when they are usable."""
    error = {"type": "error", "code": code, "message": message}
    if isinstance(frame, dict):
        for key in ("req", "client_id"):
            if isinstance(frame.get(key), str | int) and not isinstance(frame.get(key), bool):
                error[key] = frame[key]
    return error


def parse(text_data: str | None, commands: frozenset[str]) -> dict:
    """One text frame as a dict whose ``type`` is one of ``commands``; ``BadFrame`` otherwise."""
    if text_data is None:
        raise BadFrame(BAD_REQUEST, "Frames must be JSON text frames.")
    limit = settings.PARLEY_MAX_FRAME_BYTES
    if len(text_data) > limit or (
        len(text_data) * 4 > limit and len(text_data.encode("utf-8", "surrogatepass")) > limit
    ):
        raise BadFrame(TOO_LARGE, f"A frame may be at most {limit} bytes.", _peek(text_data))
    try:
        frame = json.loads(text_data)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python allows
        raise BadFrame(BAD_REQUEST, "The frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise BadFrame(BAD_REQUEST, "A frame must be a JSON object.")
    if ("\\u" in text_data and _has_lone_surrogate(frame)) or not _encodable(text_data):
        # JSON may spell a lone surrogate (\ud800); it is no character, cannot be stored, and echoing it
        # back would break the socket's UTF-8 encoding (found by tests/security/test_fuzz.py).
        raise BadFrame(BAD_REQUEST, "The frame contains an invalid Unicode escape (a lone surrogate).")
    kind = frame.get("type")
    if not isinstance(kind, str) or kind not in commands:
        raise BadFrame(BAD_REQUEST, f"Unknown frame type {kind!r}.", frame)
    for key in ("req", "client_id"):
        value = frame.get(key)
        if key in frame and value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
            raise BadFrame(BAD_REQUEST, f"'{key}' must be a string.")
    return frame


def rate_limited() -> BadFrame:
    return BadFrame(RATE_LIMITED, "You are sending too fast; nothing was stored. Wait a moment and resend.")


# Field readers: each raises BadFrame with a message that names the field.


def field_str(frame: dict, name: str) -> str:
    value = frame.get(name)
    if not isinstance(value, str):
        raise BadFrame(BAD_REQUEST, f"'{name}' must be a string.")
    return value


def field_bool(frame: dict, name: str) -> bool:
    value = frame.get(name)
    if not isinstance(value, bool):
        raise BadFrame(BAD_REQUEST, f"'{name}' must be true or false.")
    return value


def field_int(frame: dict, name: str, *, low: int, high: int | None = None, default: int | None = None) -> int:
    value = frame.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadFrame(BAD_REQUEST, f"'{name}' must be an integer.")
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise BadFrame(BAD_REQUEST, f"'{name}' must be in {bounds}.")
    return value


def _encodable(text: str) -> bool:
    """False when the text itself holds a lone surrogate (possible inside one process, never on the wire)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_lone_surrogate(frame: dict) -> bool:
    try:
        json.dumps(frame, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# An oversized frame is never parsed (tests/security/test_hardening.py): only its leading top-level members of
# the simplest form, within the first PEEK_CHARS characters, are read to echo ``req`` / ``client_id``.
PEEK_CHARS = 512
_OBJECT_START = re.compile(r"\s*\{")
_SIMPLE_MEMBER = re.compile(
    r'\s*"([A-Za-z_]{1,32})"\s*:\s*(?:"([^"\\\x00-\x1f]{0,128})"|(-?\d{1,18})|true|false|null)\s*,'
)


def _peek(text: str) -> dict | None:
    """The ``req``/``client_id`` of an oversized frame, without parsing it: read from the members that open
    the object (``{"type": "send", "req": "r1", ...``) as long as each is a plain string, integer, boolean or
    null, within the first ``PEEK_CHARS`` characters; None when neither is found there."""
    head = text[:PEEK_CHARS]
    start = _OBJECT_START.match(head)
    if start is None:
        return None
    found: dict = {}
    position = start.end()
    while (member := _SIMPLE_MEMBER.match(head, position)) is not None:
        key, string, number = member.groups()
        if key in ("req", "client_id") and key not in found:
            if string is not None and _encodable(string):
                found[key] = string
            elif number is not None:
                found[key] = int(number)
        position = member.end()
    return found or None
