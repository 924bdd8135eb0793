"""A conversation between a customer and alice, with bob in the same queue, for the tests of agents
working together (notes, transfer, consult)."""

from __future__ import annotations

from dataclasses import dataclass

from channels.db import database_sync_to_async

from routing.models import Presence
from tests import factories
from tests.support import sockets
from tests.support.tokens import customer_token, make_key_pair

db = database_sync_to_async


def token_for(sub: str, **extra) -> str:
    return customer_token(make_key_pair()[0], sub, name=sub.title(), extra=extra or None)


@dataclass
class Scene:
    widget: object
    alice: object
    bob: object
    alice_socket: sockets.Client
    bob_socket: sockets.Client
    customer: sockets.Client
    conversation_id: str

    async def close(self) -> None:
        for client in (self.alice_socket, self.bob_socket, self.customer):
            await client.close()


async def scene(*, persistent: bool = True, capacity_units: int = 40, bob_presence=Presence.BUSY, **setup):
    """alice (available) gets the customer's conversation; bob is in the queue, offline for routing
    (``busy`` by default would also keep him from being routed to, but he must exist before)."""
    widget = await db(factories.make_setup)(persistent=persistent, capacity_units=capacity_units, **setup)
    queue = await db(lambda: widget.workstream.queue)()
    alice = await db(factories.make_agent)("alice", presence=Presence.AVAILABLE, queues=[queue])
    bob = await db(factories.make_agent)("bob", presence=Presence.BUSY, queues=[queue])
    alice_socket, _ = await sockets.agent(alice)
    bob_socket, _ = await sockets.agent(bob)
    if bob_presence != Presence.BUSY:
        assert (await bob_socket.request({"type": "presence", "status": bob_presence}))["type"] == "ok"
    customer, _ = await sockets.customer(widget, token=token_for("dana") if persistent else None)
    await customer.request({"type": "send", "client_id": "c1", "text": "My parcel is late"})
    conversation_id = (await alice_socket.expect("assigned"))["conversation"]["id"]
    await customer.expect("state", state="active")
    await customer.expect("notice", code="agent_joined")
    return Scene(widget, alice, bob, alice_socket, bob_socket, customer, conversation_id)
