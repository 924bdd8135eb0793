"""What the website tells about its customer: the signed JWT ``context`` claim (order number, plan,
tier ...), kept on the customer and their current conversation for the agents, and the routing rules that
send a new conversation to a queue by it or by the pre-chat answers (../shared/PROTOCOL.md
"Authentication, additions" and "Routing, additions"). The context never comes from an unsigned source:
only a verified token's claim reaches ``remember``."""

from __future__ import annotations

import logging

from routing import rules
from routing.models import Queue

from ..models import CURRENT_STATES, Conversation, Customer

logger = logging.getLogger("parley.routing")


def remember(customer: Customer, workstream, claims) -> None:
    """A verified token of ``customer`` arrived: its ``context`` claim becomes the customer's latest
    context and that of their current conversation of ``workstream``. A token without the claim changes
    nothing; an unchanged context costs no query."""
    if "context" not in claims:
        return
    context = dict(getattr(claims, "context", None) or {})
    if customer.context == context:
        return
    Customer.objects.filter(pk=customer.pk).update(context=context)
    customer.context = context
    Conversation.objects.filter(customer=customer, workstream=workstream, state__in=CURRENT_STATES).exclude(
        context=context
    ).update(context=context)


def queue_for(workstream, *, context: dict, pre_chat: dict) -> int:
    """The queue of a new conversation: the first matching routing rule's, else the workstream's. Costs a
    query only when a rule matches; a rule naming a queue that was deleted since is skipped (logged)."""
    name = rules.chosen_queue(workstream.routing_rules, context=context, pre_chat=pre_chat)
    if name is None:
        return workstream.queue_id
    queue_id = Queue.objects.filter(name=name).values_list("id", flat=True).first()
    if queue_id is None:
        logger.warning("workstream %s: routing rule names the unknown queue %r", workstream.pk, name)
        return workstream.queue_id
    return queue_id
