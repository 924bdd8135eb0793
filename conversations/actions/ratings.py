"""Post-chat rating: the customer's 1-5 stars and comment for each conversation an agent ended.

The widget is asked for it by the notice ``rate_conversation`` when an agent ends a conversation of a
widget with ``post_chat_survey``; the customer may rate their own ended (wrap-up or closed) conversations
within ``RATING_WINDOW`` of the end, each once: rating again replaces the rating.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .. import events, notices, webhooks
from ..errors import ServiceError
from ..models import Conversation, Customer, Rating, State
from ..serializers import iso
from .access import parse_id as _parse_id

RATING_WINDOW = timedelta(days=7)
MAX_COMMENT_CHARS = 2000


def check_score(score) -> int:
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ServiceError("bad_request", "'score' must be a whole number from 1 to 5.")
    return score


def check_comment(comment) -> str:
    if comment is None:
        return ""
    if not isinstance(comment, str):
        raise ServiceError("bad_request", "'comment' must be a string.")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise ServiceError("too_large", f"'comment' is longer than {MAX_COMMENT_CHARS} characters.")
    return comment


def ended_at(conversation: Conversation):
    """When the conversation ended for the customer: wrap-up started, else closed."""
    return conversation.wrap_up_started_at or conversation.closed_at


def rate(customer: Customer, widget, conversation_id, score, comment=None) -> Rating:
    """Store (or replace) the customer's rating of one of their own ended conversations."""
    score = check_score(score)
    comment = check_comment(comment)
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("agent")
            .filter(pk=_parse_id(conversation_id), customer=customer, workstream_id=widget.workstream_id)
            .first()
        )
        if conversation is None:
            raise ServiceError("not_found", "No such conversation.")
        if conversation.state not in (State.WRAP_UP, State.CLOSED):
            raise ServiceError("not_allowed", "A conversation can be rated once it has ended.")
        end = ended_at(conversation)
        if end is None or end < timezone.now() - RATING_WINDOW:
            raise ServiceError("expired", "A conversation can be rated within 7 days of its end.")
        now = timezone.now()
        values = {"score": score, "comment": comment, "created_at": now, "updated_at": now}
        rating, created = Rating.objects.get_or_create(conversation=conversation, defaults=values)
        if not created:
            rating.score = score
            rating.comment = comment
            rating.updated_at = now
            rating.save(update_fields=["score", "comment", "updated_at"])
        frame = {"type": "rating", "conversation_id": str(conversation.id), "rating": rating_dict(rating)}
        if conversation.agent_id:
            events.to_agent(conversation.agent_id, frame)
        events.to_watchers(conversation.id, frame)  # supervisors watching it
        webhooks.emit(
            "conversation.rated", conversation, {"conversation_id": str(conversation.id), **rating_dict(rating)}
        )
    return rating


def rating_dict(rating: Rating | None) -> dict | None:
    if rating is None:
        return None
    return {
        "score": rating.score,
        "comment": rating.comment,
        "created_at": iso(rating.created_at),
        "updated_at": iso(rating.updated_at),
    }


def rating_of(conversation: Conversation) -> Rating | None:
    return Rating.objects.filter(conversation=conversation).first()


def ask_for_rating(conversation: Conversation) -> None:
    """An agent ended ``conversation`` (call inside that transaction): with ``post_chat_survey`` on its
    widget, the customer's sockets are asked to rate it."""
    widget = conversation.widget
    if widget is None or not widget.post_chat_survey:
        return
    events.to_customer(
        conversation.customer_id,
        conversation.workstream_id,
        notices.notice(widget, "rate_conversation", conversation_id=str(conversation.id)),
    )
