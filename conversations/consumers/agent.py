"""The agent socket: ``/ws/agent/`` (../PROTOCOL.md), authenticated by the
Django session cookie."""

from __future__ import annotations

from django.conf import settings

from routing import router
from routing.models import AgentProfile

from .. import services
from ..serializers import message_dict
from .base import FrameConsumer, client_ip, db, db_grouped, events, field_bool, field_int, field_str, page_frame


def _load_agent(user) -> AgentProfile | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return AgentProfile.objects.select_related("user").filter(user=user).first()


class AgentConsumer(FrameConsumer):
    commands = frozenset(
        {"presence", "open", "send", "set_waiting", "resume", "end", "close", "pick", "typing", "sync", "history"}
    )

    agent: AgentProfile | None = None

    async def connect(self) -> None:
        self.agent = await db(_load_agent)(self.scope.get("user"))
        if self.agent is None or not self.origin_allowed(settings.CSRF_TRUSTED_ORIGINS):
            await self.close()  # before accept: HTTP 403
            return
        if not await self.claim_ip_slot():  # PARLEY_MAX_SOCKETS_PER_IP counts workspace sockets too
            await self.close()
            return
        await self.accept()
        await self.join(events.agent_group(self.agent.id))
        welcome, queue_ids = await db(self._welcome_sync)()
        self.release_ip_slot()  # counted by its Connection row from now on
        for queue_id in queue_ids:
            await self.join(events.queue_group(queue_id))
        await self.register()
        await self.send_json(welcome)

    def _welcome_sync(self) -> tuple[dict, list[int]]:
        services.agent_connected(self.agent, channel_name=self.channel_name, ip_address=client_ip(self.scope))
        agent = AgentProfile.objects.select_related("user").get(pk=self.agent.pk)
        self.agent = agent
        welcome = {
            "type": "welcome",
            "agent": {
                "id": str(agent.id),
                "username": agent.user.get_username(),
                "name": agent.display_name,
                "presence": agent.presence,
                "capacity": {"total": agent.capacity, "used": agent.used_capacity},
            },
            "conversations": [services.agent_summary(c) for c in services.agent_conversations(agent)],
            "queue": self._queue_items(),
        }
        return welcome, list(agent.queues.values_list("id", flat=True))

    def _queue_items(self) -> list[dict]:
        return [services.agent_summary(c) for c in router.pick_queue_for(self.agent)]

    async def disconnect(self, code) -> None:
        await self.unregister()
        if self.agent is not None:
            await db(services.agent_disconnected)(self.channel_name)

    def _conversation_id(self, frame: dict) -> str:
        return field_str(frame, "conversation_id")

    # --- commands ------------------------------------------------------------------

    async def on_presence(self, frame: dict):
        status = field_str(frame, "status")
        self.agent = await db(services.set_presence)(self.agent, status, origin=self.channel_name)
        return {"type": "ok"}

    async def on_open(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        return await db(self._open_sync)(conversation_id)

    def _open_sync(self, conversation_id) -> dict:
        conversation = services.access_conversation_for_agent(self.agent, conversation_id)
        messages, has_more = services.latest_messages(conversation)
        summary = services.agent_summary(conversation)
        summary["messages"] = [message_dict(m) for m in messages]
        summary["has_more"] = has_more
        return {"type": "conversation", "conversation": summary}

    async def on_send(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        self.take_send_token()
        message, _stored = await db_grouped(services.agent_message)(
            self.agent,
            conversation_id,
            client_id=frame.get("client_id"),
            text=frame.get("text"),
            origin=self.channel_name,
        )
        return {"type": "ack", "client_id": message.client_id, "message": message_dict(message)}

    async def on_set_waiting(self, frame: dict):
        await db(services.set_waiting)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_resume(self, frame: dict):
        await db(services.resume)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_end(self, frame: dict):
        await db(services.end)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_close(self, frame: dict):
        await db(services.close)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_pick(self, frame: dict):
        await db(services.pick)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_typing(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        active = field_bool(frame, "active")
        await db(services.agent_typing)(self.agent, conversation_id, active)
        return None

    async def on_sync(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        after = field_int(frame, "after_seq", low=0)
        return await db(self._page_sync)("sync", conversation_id, after, settings.PARLEY_SYNC_PAGE_MAX)

    async def on_history(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        before = field_int(frame, "before_seq", low=1)
        page_max = settings.PARLEY_HISTORY_PAGE_MAX
        limit = field_int(frame, "limit", low=1, high=page_max, default=min(50, page_max))
        return await db(self._page_sync)("history", conversation_id, before, limit)

    def _page_sync(self, kind: str, conversation_id, cursor: int, limit: int) -> dict:
        conversation = services.access_conversation_for_agent(self.agent, conversation_id)
        return page_frame(kind, conversation, cursor, limit)

    # --- news ------------------------------------------------------------------------

    async def parley_queue_changed(self, event) -> None:
        items = await db(self._queue_items)()
        await self.send_json({"type": "queue", "items": items})
