"""What the scale phases of ``chat_benchmark`` create in the server's database (docs/performance.md):
a big pick queue with its agents, an agent with a long list of waiting conversations, and the second wave
switched on (a webhook endpoint, supervisors).

Agents and supervisors are signed in here by a session made for them in the server's session store (the
cookie the sign-in page would set), so that 200 agents need not each pay PBKDF2 on the sign-in page.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.db import transaction
from django.utils import timezone

from admin_center.models import ChatAuthenticationSetting, ChatWidget, WebhookEndpoint, Workstream
from conversations.models import Conversation, Customer, Message, Mode, Role, State
from routing.models import AgentProfile, Presence, Queue

PICK_WIDGET = "benchmark-pick"
PICK_QUEUE = "Benchmark pick queue"
PICK_WORKSTREAM = "Benchmark pick chat"
AUTH_NAME = "Benchmark JWT"  # bench.setup's, made by ``prepare``
WEBHOOK_NAME = "Benchmark webhook"
LIST_AGENT = "bench-list-agent"


def session_cookie(user) -> str:
    """A signed-in session for ``user`` as the ``Cookie`` header value."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _users(prefix: str, count: int) -> list:
    users = get_user_model().objects
    result = []
    for n in range(1, count + 1):
        user, _ = users.update_or_create(username=f"{prefix}-{n}", defaults={"is_active": True})
        if not user.has_usable_password():
            user.set_unusable_password()
            user.save(update_fields=["password"])
        result.append(user)
    return result


def _pick_workstream() -> tuple[Queue, Workstream, ChatWidget]:
    """The benchmark's pick workstream, its queue and widget (made or brought back to these settings)."""
    queue, _ = Queue.objects.update_or_create(
        name=PICK_QUEUE, defaults={"assignment_method": "highest_capacity", "operating_hours": None}
    )
    workstream, _ = Workstream.objects.update_or_create(
        name=PICK_WORKSTREAM,
        defaults={
            "persistent": True,
            "same_agent": True,
            "distribution": "pick",
            "capacity_units": 1,
            "queue": queue,
            "auto_close_after_inactivity_seconds": 0,
            "wrap_up_seconds": 0,
        },
    )
    auth = ChatAuthenticationSetting.objects.get(name=AUTH_NAME)
    widget, _ = ChatWidget.objects.update_or_create(
        public_id=PICK_WIDGET,
        defaults={
            "name": "Benchmark pick widget",
            "workstream": workstream,
            "authentication": auth,
            "allowed_origins": [],
            "title": "Benchmark pick",
            "enabled": True,
        },
    )
    return queue, workstream, widget


def _conversations(widget, queue, count: int, *, tag: str, name: str, text: str, agent=None) -> list:
    """``count`` persistent conversations of ``widget``'s workstream in ``queue``, a second apart, each with
    one customer message: open in the queue, or waiting for ``agent``."""
    now = timezone.now()
    run = now.strftime("%H%M%S%f")
    customers = Customer.objects.bulk_create(
        [
            Customer(authentication=widget.authentication, subject=f"bench-{tag}-{run}-{i}", name=f"{name} {i}")
            for i in range(count)
        ]
    )
    start = now - timedelta(seconds=count)
    times = [start + timedelta(seconds=i) for i in range(count)]
    conversations = Conversation.objects.bulk_create(
        [
            Conversation(
                workstream=widget.workstream,
                widget=widget,
                queue=queue,
                customer=customer,
                mode=Mode.PERSISTENT,
                state=State.OPEN if agent is None else State.WAITING,
                agent=agent,
                last_seq=1,
                created_at=at,
                queued_at=at,
                assigned_at=None if agent is None else at,
                updated_at=at,
                last_message_at=at,
            )
            for customer, at in zip(customers, times, strict=True)
        ]
    )
    Message.objects.bulk_create(
        [Message(conversation=c, seq=1, sender_role=Role.CUSTOMER, sender_name=name, text=text) for c in conversations],
        batch_size=500,
    )
    return conversations


@transaction.atomic
def pick_queue_prepare(spec: dict) -> dict:
    """A pick workstream whose queue holds ``spec["open"]`` open conversations (the ones of earlier runs
    are closed first) and ``spec["agents"]`` member agents, signed in. Returns the widget and the agents'
    cookies."""
    queue, workstream, widget = _pick_workstream()
    now = timezone.now()
    Conversation.objects.filter(workstream=workstream).exclude(state=State.CLOSED).update(
        state=State.CLOSED, agent=None, closed_at=now
    )
    cookies = []
    for user in _users("bench-pick-agent", spec["agents"]):
        agent, _ = AgentProfile.objects.update_or_create(
            user=user,
            defaults={"display_name": f"Pick Agent {user.pk}", "capacity": 1000, "presence": Presence.AVAILABLE},
        )
        queue.members.add(agent)
        cookies.append(session_cookie(user))
    conversations = _conversations(widget, queue, spec["open"], tag="pick", name="Pick customer", text="Hello?")
    return {"widget": PICK_WIDGET, "cookies": cookies, "open": len(conversations)}


@transaction.atomic
def long_list_prepare(spec: dict) -> dict:
    """One agent, signed in, with ``spec["waiting"]`` waiting persistent conversations of the pick
    workstream, each with one customer message; the agent's earlier ones are closed first. Returns the
    agent's cookie."""
    queue, _, widget = _pick_workstream()
    (user,) = _users(LIST_AGENT, 1)
    agent, _ = AgentProfile.objects.update_or_create(
        user=user, defaults={"display_name": "List Agent", "capacity": 100, "presence": Presence.AVAILABLE}
    )
    now = timezone.now()
    Conversation.objects.filter(agent=agent).exclude(state=State.CLOSED).update(state=State.CLOSED, closed_at=now)
    conversations = _conversations(
        widget, queue, spec["waiting"], tag="list", name="List customer", text="Any news?", agent=agent
    )
    return {"cookie": session_cookie(user), "waiting": len(conversations)}


@transaction.atomic
def second_wave_prepare(spec: dict) -> dict:
    """The second wave switched on: one enabled webhook endpoint subscribed to ``message.created`` at
    ``spec["webhook_url"]``, and ``spec["supervisors"]`` users with the supervisor permission, signed in.
    Returns their cookies and a note author (an agent of ``bench.setup``) for each conversation."""
    WebhookEndpoint.objects.update_or_create(
        name=WEBHOOK_NAME,
        defaults={"url": spec["webhook_url"], "events": ["message.created"], "enabled": True, "secret": "bench"},
    )
    permission = Permission.objects.get(codename="supervise", content_type__app_label="routing")
    cookies = []
    for user in _users("bench-supervisor", spec["supervisors"]):
        user.user_permissions.add(permission)
        cookies.append(session_cookie(user))
    by_agent: dict[str, list[str]] = {}
    for username, conversation_id in Conversation.objects.filter(
        state=State.ACTIVE, agent__user__username__startswith="bench-agent-"
    ).values_list("agent__user__username", "id"):
        by_agent.setdefault(username, []).append(str(conversation_id))
    agents = sorted(by_agent, key=lambda name: int(name.rsplit("-", 1)[1]))
    return {
        "supervisor_cookies": cookies,
        "agent_conversations": [by_agent[name] for name in agents],
        "cache_seconds": settings.PARLEY_WEBHOOK_CACHE_SECONDS,
    }


def second_wave_finish(spec: dict) -> dict:
    """The webhook endpoint off again (the next phases measure without it); the outbox rows it wrote."""
    endpoint = WebhookEndpoint.objects.filter(name=WEBHOOK_NAME).first()
    if endpoint is None:
        return {"deliveries": 0, "delivered": 0, "cache_seconds": settings.PARLEY_WEBHOOK_CACHE_SECONDS}
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    from conversations.webhooks.models import Delivery

    rows = Delivery.objects.filter(endpoint=endpoint)
    return {
        "deliveries": rows.count(),
        "delivered": rows.filter(status=Delivery.Status.DELIVERED).count(),
        "cache_seconds": settings.PARLEY_WEBHOOK_CACHE_SECONDS,
    }


ACTIONS = {
    "pick_queue_prepare": pick_queue_prepare,
    "long_list_prepare": long_list_prepare,
    "second_wave_prepare": second_wave_prepare,
    "second_wave_finish": second_wave_finish,
}
