"""Times on the wire: ISO 8601 in UTC, milliseconds, a ``Z`` suffix (../PROTOCOL.md "Shared objects")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from conversations.serializers import iso


def test_times_are_utc_with_milliseconds_and_z():
    assert iso(datetime(2026, 11, 29, 12, 0, 5, 123456, tzinfo=UTC)) == "2026-11-29T12:00:05.123Z"
    assert iso(datetime(2026, 11, 29, 12, 0, 5, tzinfo=UTC)) == "2026-11-29T12:00:05.000Z"
    moscow = timezone(timedelta(hours=3))
    assert iso(datetime(2026, 11, 29, 1, 30, 0, 999999, tzinfo=moscow)) == "2026-11-28T22:30:00.999Z"
    assert iso(None) is None
