"""The agent socket: ``/ws/agent/`` (../PROTOCOL.md), authenticated by the
Django session cookie."""

from __future__ import annotations

import asyncio
import logging
import time

from django.conf import settings

from routing.models import AgentProfile

from ..actions import (
    assignment,
    consult,
    lifecycle,
    listing,
    messages,
    notes,
    offers,
    payloads,
    quick_replies,
    reading,
    sessions,
    transfer,
)
from ..protocol import field_bool, field_int, field_str
from ..serializers import message_dict
from .base import FrameConsumer, db, db_grouped, events
from .queue_news import hub as queue_news

logger = logging.getLogger("parley.sockets")


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("expiring an offer failed; the timer sweep tries again", exc_info=task.exception())


def _load_agent(user) -> AgentProfile | None:
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return AgentProfile.objects.select_related("user").filter(user=user).first()


class AgentConsumer(FrameConsumer):
    commands = (
        frozenset(
            {"presence", "open", "send", "set_waiting", "resume", "end", "close", "pick", "typing", "sync", "history"}
        )
        | {"accept", "decline"}
        | {"note", "transfer", "transfer_targets", "consult", "leave_consult"}
        | {"list"}
    )

    agent: AgentProfile | None = None
    offer_timers: list[asyncio.TimerHandle] = []  # replaced per socket before the first timer is added

    async def connect(self) -> None:
        self.agent = await db(_load_agent)(self.scope.get("user"))
        if self.agent is None or not self.origin_allowed(settings.CSRF_TRUSTED_ORIGINS):
            await self.close()  # before accept: HTTP 403
            return
        if not await self.claim_ip_slot("agent"):  # PARLEY_MAX_AGENT_SOCKETS_PER_IP, apart from widgets
            await self.close()
            return
        await self.accept()
        await self.join(events.agent_group(self.agent.id))
        await self.join(events.user_group(self.agent.user_id))  # closed when the user's access ends
        cached, generations = queue_news().snapshot()
        welcome, queue_ids, pages = await db(self._welcome_sync)(cached)
        queue_news().store(pages, generations)
        self.release_ip_slot()  # counted by its Connection row from now on
        await queue_news().subscribe(queue_ids)  # the process hears the queues' changes (one member each)
        for conversation_id in welcome["consulting_ids"]:  # the conversations the agent consults on
            await self.join(events.watch_group(conversation_id))
        del welcome["consulting_ids"]
        queue_frame = welcome.pop("queue_frame")
        await self.register()
        await self.send_json(welcome)
        if queue_frame is not None:  # the rest of the 200 oldest, apart: a frame stays under 64 KiB
            await self.send_json(queue_frame)
        queue_news().follow(self, queue_ids)

    def _welcome_sync(self, cached: dict) -> tuple[dict, list[int], dict]:
        sessions.agent_connected(self.agent, channel_name=self.channel_name, ip_address=self.client_ip())
        agent = AgentProfile.objects.select_related("user").get(pk=self.agent.pk)
        self.agent = agent
        queue_ids = sessions.agent_queue_ids(agent)
        # the pick queue: the process's cached pages, the others read here (and cached by the caller)
        missing = [queue_id for queue_id in queue_ids if str(queue_id) not in cached]
        pages = payloads.pick_queue_pages([str(queue_id) for queue_id in missing]) if missing else {}
        welcome = payloads.agent_welcome(agent, queue_ids, pages={**cached, **pages})
        welcome["quick_replies"] = quick_replies.for_agent(agent)
        consulting = consult.consulting(agent)
        welcome["consulting"] = [consult.consultant_summary(c, agent) for c in consulting]
        welcome["consulting_ids"] = [str(c.id) for c in consulting]
        return welcome, queue_ids, pages

    async def disconnect(self, code) -> None:
        queue_news().unfollow(self)
        for handle in self.offer_timers:
            handle.cancel()
        await self.unregister()
        if self.agent is not None:
            await db(sessions.agent_disconnected)(self.channel_name)

    def _conversation_id(self, frame: dict) -> str:
        return field_str(frame, "conversation_id")

    # --- commands ------------------------------------------------------------------

    async def on_presence(self, frame: dict):
        status = field_str(frame, "status")
        self.agent = await db(sessions.set_presence)(self.agent, status, origin=self.channel_name)
        return {"type": "ok"}

    async def on_open(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        return await db(self._open_sync)(conversation_id)

    def _open_sync(self, conversation_id) -> dict:
        return reading.open_frame(self.agent, conversation_id)

    async def on_send(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        self.take_send_token()
        message, _stored = await db_grouped(messages.agent_message)(
            self.agent,
            conversation_id,
            client_id=frame.get("client_id"),
            text=frame.get("text"),
            origin=self.channel_name,
            attachments=frame.get("attachments"),
        )
        return {"type": "ack", "client_id": message.client_id, "message": message_dict(message)}

    async def on_set_waiting(self, frame: dict):
        await db(lifecycle.set_waiting)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_resume(self, frame: dict):
        await db(lifecycle.resume)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_end(self, frame: dict):
        await db(lifecycle.end)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_close(self, frame: dict):
        await db(lifecycle.close)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_pick(self, frame: dict):
        await db(assignment.pick)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_accept(self, frame: dict):
        await db(offers.accept)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_decline(self, frame: dict):
        await db(offers.decline)(self.agent, self._conversation_id(frame))
        return {"type": "ok"}

    async def on_typing(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        active = field_bool(frame, "active")
        await db(messages.agent_typing)(self.agent, conversation_id, active)
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
        return reading.page_frame(self.agent, kind, conversation_id, cursor, limit)

    # agents working together (conversations/actions/notes.py, transfer.py, consult.py)

    async def on_note(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        note, _stored = await db(notes.write)(
            self.agent,
            conversation_id,
            client_id=frame.get("client_id"),
            text=frame.get("text"),
            origin=self.channel_name,
        )
        return {"type": "ack", "client_id": note.client_id, "note": notes.note_dict(note)}

    async def on_transfer(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        await db(transfer.transfer)(conversation_id, frame.get("to"), by=self.agent, note=frame.get("note"))
        return {"type": "ok"}

    async def on_transfer_targets(self, frame: dict):
        return await db(transfer.transfer_targets)(self.agent, self._conversation_id(frame))

    async def on_consult(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        await db(consult.invite)(self.agent, conversation_id, frame.get("agent_id"))
        return {"type": "ok"}

    async def on_leave_consult(self, frame: dict):
        conversation_id = self._conversation_id(frame)
        await db(consult.leave)(self.agent, conversation_id, frame.get("agent_id"))
        return {"type": "ok"}

    # --- news ------------------------------------------------------------------------

    async def parley_consult_joined(self, event) -> None:
        """Invited to consult: follow the conversation's messages, notes and states, then say so."""
        group = events.watch_group(event["conversation_id"])
        if group not in self.groups_joined:
            await self.join(group)
        await self.send(text_data=event["text"])

    async def parley_consult_left(self, event) -> None:
        group = events.watch_group(event["conversation_id"])
        if group in self.groups_joined:
            await self.leave(group)
        await self.send(text_data=event["text"])

    async def parley_offer_timer(self, event) -> None:
        """An offer to this agent expires at ``expires_at``: expire it then (every socket of the agent
        sets the timer; the first to fire expires the offer, the others find nothing to do)."""
        loop = asyncio.get_running_loop()
        delay = max(0.0, event["expires_at"] - time.time())
        self.offer_timers = [handle for handle in self.offer_timers if handle.when() > loop.time()]
        self.offer_timers.append(loop.call_later(delay, self._expire_offer, event["offer_id"]))

    def _expire_offer(self, offer_id) -> None:
        task = asyncio.ensure_future(db(offers.expire)(offer_id))
        task.add_done_callback(_log_failure)

    async def parley_memberships_changed(self, event) -> None:
        """The admin changed the agent's queues: follow the new queues' pick-list news, send the new list."""
        queue_ids, queue = await db(self._memberships)()
        await queue_news().subscribe(queue_ids)
        queue_news().follow(self, queue_ids)
        await self.send_json({"type": "queue", **queue})

    def _memberships(self) -> tuple[list[int], dict]:
        queue_ids = sessions.agent_queue_ids(self.agent)
        return queue_ids, payloads.pick_queue(queue_ids)

    # --- lists -----------------------------------------------------------------------

    async def on_list(self, frame: dict):
        state = field_str(frame, "state")
        before = frame.get("before")
        return await db(listing.conversation_list)(self.agent, state, before)
