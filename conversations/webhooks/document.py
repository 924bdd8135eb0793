"""The delivered document: ``{"id", "type", "created_at", "data"}``, encoded once when the event is written."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from ..serializers import iso


def encode(event_id: uuid.UUID, event_type: str, created_at: datetime, data: dict) -> str:
    document = {"id": str(event_id), "type": event_type, "created_at": iso(created_at), "data": data}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
