"""The only road from the service layer to connected clients.

Services call these functions inside their transaction; every send is
deferred with ``transaction.on_commit`` so that nothing is announced that the
database does not hold (the database is the truth, the channel layer only
carries news). Outside a transaction the send happens at once.

Groups:
- ``cust.<customer>.<workstream>``: every widget socket of one customer for
  one workstream (the conversation may not exist yet);
- ``agent.<agent>``: every workspace socket of one agent;
- ``queue.<queue>``: workspace sockets of the queue's members (pick queue news);
- ``watch.<conversation>``: everyone who follows one conversation besides its agent (consultants,
  supervisors watching it): its messages, notes and state frames go there too;
- ``supervisors``: one channel per server process that has supervisor sockets; ``stats_changed``
  tells it that the live statistics may have changed (``conversations/consumers/supervisor.py``).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger("parley.events")

# Channel-layer message types handled by the consumers.
FRAME = "parley.frame"  # frame_event(): {"text": JSON, "exclude": channel_name | None[, "conversation_id"]}
CLOSE = "parley.close"  # {"code": 4409}
QUEUE_CHANGED = "parley.queue_changed"  # to a queue group: each process's pick-queue hub (queue_news)
MEMBERSHIPS_CHANGED = "parley.memberships_changed"  # agent consumers follow their new queues
CONNECTION_CHECK = "parley.customer_connected"  # internal, see consumers
STATS_CHANGED = "parley.stats_changed"  # to SUPERVISORS_GROUP: recompute the live statistics
# to ``agent.<id>``: the agent's sockets start (join ``watch.<conversation>``) or stop following a
# conversation they consult on; {"conversation_id", "text": the frame to send them}
CONSULT_JOINED = "parley.consult_joined"
CONSULT_LEFT = "parley.consult_left"
SUPERVISORS_GROUP = "supervisors"
OFFER_TIMER = "parley.offer_timer"  # to an agent's sockets: expire offer ``offer_id`` at ``expires_at``


def customer_group(customer_id: Any, workstream_id: Any) -> str:
    return f"cust.{customer_id}.{workstream_id}"


def agent_group(agent_id: Any) -> str:
    return f"agent.{agent_id}"


def queue_group(queue_id: Any) -> str:
    return f"queue.{queue_id}"


def watch_group(conversation_id: Any) -> str:
    return f"watch.{conversation_id}"


def user_group(user_id: Any) -> str:
    """Every workspace and supervisor socket signed in as one Django user (closed when their access ends)."""
    return f"user.{user_id}"


_local = threading.local()


def collect(func, *args, **kwargs) -> tuple[Any, list[tuple[str, dict, bool]]]:
    """``func(*args, **kwargs)``, keeping the news of the transactions it commits instead of sending it.

    Returns ``(result, news)``; the caller sends the news with ``asend`` on its own event loop, which
    saves a trip from the database thread to the loop per frame (the consumers' ``db()`` does this).
    If ``func`` raises, the news of what it had committed goes out before the exception. Nested calls
    leave the news to the outermost one."""
    if getattr(_local, "pending", None) is not None:
        return func(*args, **kwargs), []
    _local.pending = News()
    try:
        result = func(*args, **kwargs)
    except BaseException:
        pending, _local.pending = _local.pending, None
        if pending:
            _send_all(pending)
        raise
    pending, _local.pending = _local.pending, None
    return result, pending


async def asend(messages: list[tuple[str, dict, bool]]) -> None:
    """Send ``(target, message, is_group)`` in order, from a coroutine."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return
    try:
        for target, message, is_group in messages:
            if is_group:
                await layer.group_send(target, message)
            else:
                await layer.send(target, message)
        for callback in getattr(messages, "after", ()):  # ``on_sent``
            callback()
    except Exception:  # the news is lost, the data is not: clients resync from the database
        logger.exception("channel layer send of %d message(s) failed", len(messages))


def _send_all(messages: list[tuple[str, dict, bool]]) -> None:
    """``asend`` from synchronous code (a database thread, a management command, a view)."""
    if messages:
        async_to_sync(asend)(messages)


def committed_news(group_messages: list[tuple[str, dict]]) -> None:
    """Group messages about data that is already committed (for an ``on_commit`` hook of its own)."""
    _committed([(target, message, True) for target, message in group_messages])


def _committed(messages: list[tuple[str, dict, bool]]) -> None:
    pending = getattr(_local, "pending", None)
    if pending is None:
        _send_all(messages)
    else:
        pending.extend(messages)


def _deferred(target: str, message: dict, *, group: bool = True) -> None:
    transaction.on_commit(lambda: _committed([(target, message, group)]))


class News(list):
    """The news ``collect`` keeps, and in ``after`` what ``on_sent`` asked to run once it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.after: list = []

    def merge(self, other: list) -> None:
        """``other``'s news after this one's, and its ``after`` callbacks after these."""
        self.extend(other)
        self.after.extend(getattr(other, "after", ()))


def on_sent(callback) -> None:
    """Call ``callback()`` (cheap, no I/O) once the news deferred so far in this transaction has been
    handed to the channel layer after the commit (the delivery-latency metric)."""
    transaction.on_commit(lambda: _after_sent(callback))


def _after_sent(callback) -> None:
    pending = getattr(_local, "pending", None)
    if pending is None:
        callback()  # not collecting: the news committed before it has been sent already
    else:
        pending.after.append(callback)


def encode(frame: dict) -> str:
    """A frame as the JSON text sent on a socket."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def frame_event(frame: dict, exclude: str | None = None) -> dict:
    """The channel-layer message that carries ``frame`` to sockets: encoded once here, sent as it is by
    every socket that receives it (``exclude``: the one socket that must not). A ``state`` frame names
    its conversation for the widget sockets that follow it; a ``notice`` is marked as one."""
    event = {"type": FRAME, "text": encode(frame), "exclude": exclude}
    if frame.get("type") == "state" and frame.get("conversation_id"):
        event["conversation_id"] = frame["conversation_id"]
    elif frame.get("type") == "notice":
        event["notice"] = True  # a widget in the visitor's language words it again in theirs
    return event


def to_customer(customer_id: Any, workstream_id: Any, frame: dict, *, exclude: str | None = None) -> None:
    _deferred(customer_group(customer_id, workstream_id), frame_event(frame, exclude))


def to_customers(frames: list[tuple[Any, Any, dict]]) -> None:
    """Many ``(customer_id, workstream_id, frame)`` in one channel-layer call
    after commit (queue position rounds: one frame per queued customer)."""
    messages = [
        (customer_group(customer_id, workstream_id), frame_event(frame), True)
        for customer_id, workstream_id, frame in frames
    ]
    if messages:
        transaction.on_commit(lambda: _committed(messages))


def to_agent(agent_id: Any, frame: dict, *, exclude: str | None = None) -> None:
    _deferred(agent_group(agent_id), frame_event(frame, exclude))


def to_conversation(conversation, frame: dict, *, exclude: str | None = None) -> None:
    """Every socket of the conversation: the customer's and the assigned agent's (one encoding for both)."""
    event = frame_event(frame, exclude)
    _deferred(customer_group(conversation.customer_id, conversation.workstream_id), event)
    if conversation.agent_id:
        _deferred(agent_group(conversation.agent_id), event)
    _deferred(watch_group(conversation.id), event)


def to_watchers(conversation_id: Any, frame: dict, *, exclude: str | None = None) -> None:
    """The sockets following a conversation besides its agent (consultants, supervisors watching)."""
    _deferred(watch_group(conversation_id), frame_event(frame, exclude))


def offer_timer(agent_id: Any, offer_id: Any, expires_at: float) -> None:
    """After commit, the offered agent's sockets set a timer for the offer's deadline (Unix seconds), so
    that it expires on time rather than at the next timer sweep (``offers.expire`` is idempotent)."""
    _deferred(agent_group(agent_id), {"type": OFFER_TIMER, "offer_id": offer_id, "expires_at": expires_at})


def stats_changed() -> None:
    """After commit, tell every process with supervisor sockets that the live statistics may have
    changed (a state, a presence, a capacity, an offer). They recompute at most once a second. Once per
    transaction however many changes it makes."""
    connection = transaction.get_connection()
    pending = connection.run_on_commit if connection.in_atomic_block else ()
    if any(func is _send_stats_changed for _sids, func, _robust in pending):
        return
    transaction.on_commit(_send_stats_changed)


def _send_stats_changed() -> None:
    _committed([(SUPERVISORS_GROUP, {"type": STATS_CHANGED}, True)])


def queue_changed(queue_id: Any) -> None:
    _deferred(queue_group(queue_id), {"type": QUEUE_CHANGED, "queue_id": str(queue_id)})


def memberships_changed(agent_id: Any) -> None:
    """The agent's queues changed (admin center): their workspace sockets rejoin their queue groups and
    send the new pick queue."""
    _deferred(agent_group(agent_id), {"type": MEMBERSHIPS_CHANGED})


def close_socket(channel_name: str, code: int) -> None:
    _deferred(channel_name, {"type": CLOSE, "code": code}, group=False)


def to_group(group: str, message: dict) -> None:
    """After commit: a channel-layer ``message`` (with its own ``type``) to every socket of ``group``."""
    _deferred(group, message)


def close_user_sockets(user_id: Any, code: int) -> None:
    """After commit: close every workspace and supervisor socket of the user with ``code``."""
    _deferred(user_group(user_id), {"type": CLOSE, "code": code})


def consult_joined(agent_id: Any, conversation_id: Any, frame: dict) -> None:
    """After commit: the agent's sockets follow the conversation (join its watch group), then get ``frame``."""
    _deferred(
        agent_group(agent_id), {"type": CONSULT_JOINED, "conversation_id": str(conversation_id), "text": encode(frame)}
    )


def consult_left(agent_id: Any, conversation_id: Any, frame: dict) -> None:
    """After commit: the agent's sockets stop following the conversation, then get ``frame``."""
    _deferred(
        agent_group(agent_id), {"type": CONSULT_LEFT, "conversation_id": str(conversation_id), "text": encode(frame)}
    )
