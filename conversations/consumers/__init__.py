"""The two WebSocket endpoints of ../PROTOCOL.md: the customer widget socket
and the agent workspace socket. They parse frames, call the service layer and
relay channel-layer news; every rule lives in ``conversations.actions``."""

from .agent import AgentConsumer
from .customer import CustomerConsumer

__all__ = ["AgentConsumer", "CustomerConsumer"]
