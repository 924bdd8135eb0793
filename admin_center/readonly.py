"""A mixin for admin pages of records that only the service layer writes (logs, audits, conversations)."""

from __future__ import annotations


class ReadOnly:
    """Shown in the admin center, never added, edited or deleted there."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
