"""Who is connected and who can work: sockets connecting and leaving (the ``Connection`` registry),
heartbeats, an agent's presence, and the admin center's changes to an agent (presence, capacity, queues),
which announce and route like the agent's own changes."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from admin_center.models import ChatWidget
from routing.models import AgentProfile, Presence, Queue

from .. import events, identity
from ..errors import BAD_REQUEST, ServiceError
from ..models import CURRENT_STATES, Connection, Conversation, Customer, Mode
from . import access
from .assignment import dispatch, dispatch_for_agent
from .changes import announce_capacity

CLOSE_TOO_MANY_SOCKETS = 4409
# The socket's access ended: its user signed out, changed password or was deactivated; its customer was
# erased; its widget was disabled (docs/protocol.md "Close codes").
CLOSE_ACCESS_ENDED = 4403
# The widget's allowed origins or authentication changed: reconnect, and the new settings decide.
CLOSE_RECHECK = 1012


def registered_sockets(ip: str, kind: str = Connection.Kind.CUSTOMER) -> int:
    """Sockets of one kind (widget: ``customer``, workspace: ``agent``) with a Connection row from this
    address, in every process: widget sockets count against ``PARLEY_MAX_SOCKETS_PER_IP``, workspace
    sockets against ``PARLEY_MAX_AGENT_SOCKETS_PER_IP``, so customers never use up the agents' room."""
    return Connection.objects.filter(ip_address=ip, kind=kind).count()


def customer_connected(customer: Customer, widget, *, channel_name: str, ip_address: str = "") -> Conversation | None:
    """A widget socket said hello: remember it, enforce the per-customer
    socket limit (oldest closed with 4409) and tell a waiting conversation's
    agent that the customer is back."""
    now = timezone.now()
    stored = identity.is_stored(customer)  # an anonymous visitor's row waits for their first message
    with transaction.atomic():
        Connection.objects.create(
            channel_name=channel_name,
            kind=Connection.Kind.CUSTOMER,
            customer=customer if stored else None,
            visitor=None if stored else customer.pk,
            widget=widget,
            ip_address=ip_address,
            connected_at=now,
            heartbeat_at=now,
        )
        limit = settings.PARLEY_MAX_SOCKETS_PER_CUSTOMER
        if limit:
            surplus = list(
                Connection.objects.filter(Q(customer_id=customer.pk) | Q(visitor=customer.pk))
                .order_by("-connected_at", "-id")
                .values_list("pk", "channel_name")[limit:]
            )
            for _pk, name in surplus:
                events.close_socket(name, CLOSE_TOO_MANY_SOCKETS)
            Connection.objects.filter(pk__in=[pk for pk, _ in surplus]).delete()
        if not stored:
            return None
        Customer.objects.filter(pk=customer.pk).update(last_seen_at=now, language=customer.language)
        conversation = access.current_conversation(customer, widget.workstream, lock=True)
        # Connecting (loading any page of the site) is not "returning": only a customer's message
        # in a waiting conversation is (PROTOCOL.md, "Routing, additions").
        if conversation is not None and conversation.customer_left_at is not None:
            conversation.customer_left_at = None
            conversation.save(update_fields=["customer_left_at"])
    return conversation


def visitor_stored(customer: Customer, widget, channel_name: str) -> Customer:
    """An anonymous visitor stores their first thing (inside that transaction): their row is stored
    (``identity.stored_visitor``) and the Connection rows of all their sockets (other tabs that said hello
    with the same visitor token too) name them."""
    stored = identity.stored_visitor(customer)
    Connection.objects.filter(visitor=stored.pk, customer__isnull=True).update(customer=stored)
    return stored


def customer_disconnected(channel_name: str) -> None:
    with transaction.atomic():
        connection = Connection.objects.select_related("widget").filter(channel_name=channel_name).first()
        if connection is None:
            return
        connection.delete()
        if (
            connection.widget is None
            or Connection.objects.filter(
                customer_id=connection.customer_id, widget__workstream_id=connection.widget.workstream_id
            ).exists()
        ):
            return
        Conversation.objects.filter(
            customer_id=connection.customer_id,
            workstream_id=connection.widget.workstream_id,
            state__in=CURRENT_STATES,
            mode=Mode.LIVE,
            left_message=False,  # a message left for later waits for its answer however long they are away
        ).update(customer_left_at=timezone.now())


def agent_connected(agent: AgentProfile, *, channel_name: str, ip_address: str = "") -> None:
    now = timezone.now()
    with transaction.atomic():
        Connection.objects.create(
            channel_name=channel_name,
            kind=Connection.Kind.AGENT,
            agent=agent,
            ip_address=ip_address,
            connected_at=now,
            heartbeat_at=now,
        )
        AgentProfile.objects.filter(pk=agent.pk).update(disconnected_at=None)


def agent_disconnected(channel_name: str) -> None:
    with transaction.atomic():
        connection = Connection.objects.filter(channel_name=channel_name).first()
        if connection is None:
            return
        connection.delete()
        if not Connection.objects.filter(agent_id=connection.agent_id).exists():
            AgentProfile.objects.filter(pk=connection.agent_id).update(disconnected_at=timezone.now())


def agent_queue_ids(agent: AgentProfile) -> list[int]:
    """The queues whose pick-list news the agent's sockets follow."""
    return list(Queue.objects.filter(members=agent).values_list("id", flat=True))


def heartbeat(channel_names: Iterable[str]) -> None:
    names = list(channel_names)
    if names:
        Connection.objects.filter(channel_name__in=names).update(heartbeat_at=timezone.now())


def check_presence(status) -> str:
    if status not in Presence.values:
        raise ServiceError(BAD_REQUEST, f"'status' must be one of {', '.join(Presence.values)}.")
    return status


def set_presence(agent: AgentProfile, status: str, *, origin: str | None = None, by: str | None = None) -> AgentProfile:
    """The agent (or an admin or a supervisor ``by`` name for them) changes presence: every workspace
    socket of the agent hears it (but ``origin``, which asked), and an available agent gets work."""
    status = check_presence(status)
    with transaction.atomic():
        AgentProfile.objects.filter(pk=agent.pk).update(presence=status, presence_changed_at=timezone.now())
        frame = {"type": "presence", "status": status}
        if by is not None:
            frame["by"] = {"name": by}
        events.to_agent(agent.id, frame, exclude=origin)
        events.stats_changed()
    agent.presence = status
    if status == Presence.AVAILABLE:
        dispatch_for_agent(agent.id)
    return agent


def set_capacity(agent: AgentProfile, capacity: int) -> AgentProfile:
    """Admin center: the agent's total capacity. The workspace hears it; more room means more work."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 0:
        raise ServiceError(BAD_REQUEST, "'capacity' must be a whole number of 0 or more.")
    with transaction.atomic():
        before = AgentProfile.objects.select_for_update().values_list("capacity", flat=True).get(pk=agent.pk)
        if before == capacity:
            return agent
        AgentProfile.objects.filter(pk=agent.pk).update(capacity=capacity)
        announce_capacity(agent.pk)
    agent.capacity = capacity
    if capacity > before:
        dispatch_for_agent(agent.pk)
    return agent


def set_agent_queues(agent: AgentProfile, queue_ids: Iterable[int]) -> None:
    """Admin center: the queues the agent works in. Their sockets rejoin the queue groups and get the new
    pick queue; the queues they joined are routed."""
    wanted = set(queue_ids)
    with transaction.atomic():
        before = set(agent_queue_ids(agent))
        if before == wanted:
            return
        agent.queues.set(Queue.objects.filter(pk__in=wanted))
        events.memberships_changed(agent.pk)
    if wanted - before:
        dispatch(wanted - before)


def set_queue_members(queue: Queue, agent_ids: Iterable[int]) -> None:
    """Admin center: the members of a queue. Agents who joined or left rejoin their queue groups; the
    queue is routed when someone joined."""
    wanted = set(agent_ids)
    with transaction.atomic():
        before = set(queue.members.values_list("id", flat=True))
        if before == wanted:
            return
        queue.members.set(AgentProfile.objects.filter(pk__in=wanted))
        for agent_id in before ^ wanted:
            events.memberships_changed(agent_id)
    if wanted - before:
        dispatch([queue.pk])


def change_agent(agent: AgentProfile, *, presence: str, capacity: int, queue_ids: Iterable[int]) -> AgentProfile:
    """Admin center's agent form: each change that differs goes through its action."""
    set_capacity(agent, capacity)
    set_agent_queues(agent, queue_ids)
    current = AgentProfile.objects.values_list("presence", flat=True).get(pk=agent.pk)
    if current != presence:
        set_presence(agent, presence)
    return agent


def end_user_access(user_id) -> None:
    """The user signed out, changed password, was deactivated or deleted: their open workspace and
    supervisor sockets close (4403) after the change commits; a new socket needs a valid session of an
    active user (the consumers' ``connect``)."""
    events.close_user_sockets(user_id, CLOSE_ACCESS_ENDED)


def widget_changed(widget_id, *, disabled: bool) -> int:
    """The admin disabled a widget (its sockets close with 4403) or changed what it admits, its allowed
    origins or its authentication (its sockets close with 1012: the client reconnects and the socket is
    checked again against the new settings). Returns how many sockets are closed."""
    code = CLOSE_ACCESS_ENDED if disabled else CLOSE_RECHECK
    names = list(Connection.objects.filter(widget_id=widget_id).values_list("channel_name", flat=True))
    for name in names:
        events.close_socket(name, code)
    return len(names)


def authentication_changed(setting_id) -> int:
    """The keys, issuer, audience or maximum token age of an authentication setting changed: the sockets
    of its widgets reconnect (1012) so that their tokens are verified again."""
    return sum(
        widget_changed(widget_id, disabled=False)
        for widget_id in ChatWidget.objects.filter(authentication_id=setting_id).values_list("pk", flat=True)
    )
