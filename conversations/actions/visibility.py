"""What a REST API key's user may read (docs/api.md "Permissions"): the one rule, written once.

- Staff users and supervisors (``routing.supervise``) read every conversation and customer.
- An agent reads the conversations assigned to them and every conversation of the queues they are a
  member of (what they could be given or pick), and the customers of those conversations.
- Anyone else reads nothing: every API call is refused with ``not_allowed``.
Writing is not decided here: an agent's message goes through ``messages.agent_message``, which allows
only the assigned agent of an active conversation, exactly as on the socket.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from routing.models import AgentProfile

from ..errors import NOT_ALLOWED, NOT_FOUND, ServiceError
from ..models import Conversation, Customer
from . import access

SUPERVISE = "routing.supervise"


def sees_everything(user) -> bool:
    return bool(user.is_active and (user.is_staff or user.has_perm(SUPERVISE)))


def agent_of(user) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=user).first() if user.is_authenticated else None


def may_use_api(user) -> bool:
    return bool(user.is_authenticated and user.is_active and (sees_everything(user) or agent_of(user)))


def visible_conversations(user) -> QuerySet[Conversation]:
    query = access.conversations()
    if sees_everything(user):
        return query
    agent = agent_of(user)
    if agent is None:
        return query.none()
    return query.filter(Q(agent=agent) | Q(queue_id__in=agent.queues.values("id")))


def visible_customers(user) -> QuerySet[Customer]:
    if sees_everything(user):
        return Customer.objects.all()
    seen = visible_conversations(user).filter(customer_id=OuterRef("pk"))
    return Customer.objects.filter(Exists(seen))


def conversation_for(user, conversation_id) -> Conversation:
    """The conversation, or ``not_found`` (no such conversation) / ``not_allowed`` (not visible to ``user``)."""
    conversation_id = access.parse_id(conversation_id)
    conversation = visible_conversations(user).filter(pk=conversation_id).first()
    if conversation is not None:
        return conversation
    if Conversation.objects.filter(pk=conversation_id).exists():
        raise ServiceError(NOT_ALLOWED, "This conversation is not one of yours or your queues'.")
    raise ServiceError(NOT_FOUND, "No such conversation.")


def customer_for(user, customer_id) -> Customer:
    try:
        customer_id = access.parse_id(customer_id)
    except ServiceError:
        raise ServiceError(NOT_FOUND, "No such customer.") from None
    customer = visible_customers(user).filter(pk=customer_id).first()
    if customer is not None:
        return customer
    if Customer.objects.filter(pk=customer_id).exists():
        raise ServiceError(NOT_ALLOWED, "This customer has no conversation in your queues.")
    raise ServiceError(NOT_FOUND, "No such customer.")
