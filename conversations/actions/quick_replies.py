"""Quick replies (configured in the admin center, ``admin_center.QuickReply``): the ones an agent is
offered in the workspace's composer, sent in the agent socket's ``welcome``."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, Value, When

from admin_center.models import QuickReply
from routing.models import AgentProfile


def for_agent(agent: AgentProfile) -> list[dict]:
    """The global replies and those of the agent's queues, the agent's language first, then by shortcut."""
    replies = (
        QuickReply.objects.filter(Q(queues__isnull=True) | Q(queues__members=agent))
        .distinct()
        .annotate(
            other_language=Case(
                When(language=agent.language, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("other_language", "shortcut", "title", "pk")
    )
    return [
        {"id": str(r.pk), "title": r.title, "shortcut": r.shortcut, "text": r.text, "language": r.language}
        for r in replies
    ]
