"""The customer's journey on the sockets (../PROTOCOL.md "Version 2 additions"): the pre-chat survey,
attachments in ``send``, the post-chat rating, earlier conversations, leaving a message when nobody is
available, transcripts by email and the email switch."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time, timedelta

import pytest
from channels.db import database_sync_to_async
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from admin_center import validators
from conversations.actions import files
from conversations.models import Attachment, Conversation, Customer, EmailOptOut, Message, PreChatAnswers, Rating
from conversations.serializers import iso
from routing.models import Presence, Queue
from tests import factories
from tests.journey.files_support import PNG
from tests.support import sockets
from tests.support.tokens import customer_token, make_key_pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async

SURVEY = [
    {"name": "name", "label": "Your name", "kind": "text", "required": True},
    {"name": "email", "label": "Email", "kind": "email", "required": True},
    {"name": "topic", "label": "Topic", "kind": "choice", "required": True, "choices": ["Billing", "Delivery"]},
    {"name": "details", "label": "Details", "kind": "textarea", "required": False},
]
ANSWERS = {"name": "Carol", "email": "carol@example.com", "topic": "Billing", "details": "Order 42"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def token_for(sub="carol", **claims):
    return customer_token(make_key_pair()[0], sub, **claims)


def widget_with(**fields):
    def make():
        widget = factories.make_setup(persistent=fields.pop("persistent", True), language=fields.pop("language", "en"))
        for name, value in fields.items():
            setattr(widget, name, value)
        widget.save()
        return widget

    return db(make)()


def agent_for(widget, name="alice"):
    return db(factories.make_agent)(name, presence=Presence.AVAILABLE, queues=[widget.workstream.queue])


# --- the pre-chat survey --------------------------------------------------------------------------


async def test_welcome_shows_the_survey_with_the_signed_in_customers_name_and_email_filled_in():
    widget = await widget_with(pre_chat=SURVEY, post_chat_survey=True)
    client, welcome = await sockets.customer(widget, token=token_for(name="Carol Smith", email="carol@example.com"))
    fields = {field["name"]: field for field in welcome["widget"]["pre_chat"]}
    assert list(fields) == ["name", "email", "topic", "details"]
    assert fields["name"]["value"] == "Carol Smith" and fields["email"]["value"] == "carol@example.com"
    assert fields["topic"]["choices"] == ["Billing", "Delivery"] and "value" not in fields["topic"]
    assert welcome["widget"]["post_chat_survey"] is True
    assert isinstance(welcome["upload_token"], str) and welcome["upload_token"]
    await client.close()


async def test_a_widget_without_a_survey_says_null():
    widget = await widget_with()
    client, welcome = await sockets.customer(widget, token=token_for())
    assert welcome["widget"]["pre_chat"] is None
    await client.close()


async def test_a_first_message_without_the_required_answers_is_refused_and_stores_nothing():
    widget = await widget_with(pre_chat=SURVEY)
    client, _ = await sockets.customer(widget, token=token_for())
    await client.send({"type": "send", "client_id": "m1", "text": "Hello"})
    error = await client.expect("error", client_id="m1")
    assert error["code"] == "pre_chat_required"
    assert await db(Message.objects.count)() == 0 and await db(Conversation.objects.count)() == 0
    await client.close()


async def test_valid_answers_go_to_the_next_new_conversation_and_the_agents_summary():
    widget = await widget_with(pre_chat=SURVEY)
    alice = await agent_for(widget)
    agent, _ = await sockets.agent(alice)
    client, _ = await sockets.customer(widget, token=token_for())
    assert (await client.request({"type": "pre_chat", "answers": ANSWERS}))["type"] == "ok"
    ack = await client.request({"type": "send", "client_id": "m1", "text": "Hello"})
    assert ack["type"] == "ack"
    conversation = await db(Conversation.objects.get)()
    assert conversation.pre_chat == ANSWERS
    assert await db(PreChatAnswers.objects.count)() == 0  # taken by the conversation
    assigned = await agent.expect("assigned")
    assert assigned["conversation"].get("pre_chat", ANSWERS) == ANSWERS
    # not asked again while the persistent conversation goes on
    again, welcome = await sockets.customer(widget, token=token_for())
    assert welcome["conversation"]["id"] == str(conversation.id)
    assert (await again.request({"type": "send", "client_id": "m2", "text": "More"}))["type"] == "ack"
    for socket in (client, again, agent):
        await socket.close()


async def test_answers_given_while_the_conversation_is_open_go_to_it():
    widget = await widget_with(persistent=False, pre_chat=[SURVEY[2]])
    client, _ = await sockets.customer(widget)
    await client.request({"type": "pre_chat", "answers": {"topic": "Delivery"}})
    await client.request({"type": "send", "client_id": "m1", "text": "Hi"})
    assert (await client.request({"type": "pre_chat", "answers": {"topic": "Billing"}}))["type"] == "ok"
    assert (await db(Conversation.objects.get)()).pre_chat == {"topic": "Billing"}
    await client.close()


@pytest.mark.parametrize(
    ("answers", "fields"),
    [
        ({**ANSWERS, "email": "not-an-email"}, {"email": "Enter a valid email address."}),
        ({**ANSWERS, "topic": "Refunds"}, {"topic": "Choose one of the options."}),
        ({**ANSWERS, "name": 42}, {"name": "Enter text."}),
        ({**ANSWERS, "name": ["Carol"]}, {"name": "Enter text."}),
        ({**ANSWERS, "name": "   "}, {"name": "Please fill in this field."}),
        ({"details": "only this"}, {"name": "", "email": "", "topic": ""}),
        ({**ANSWERS, "shoe_size": "42"}, {"shoe_size": "There is no such question."}),
        ({**ANSWERS, "name": "Carol\nSmith"}, {"name": "Enter a single line."}),
    ],
)
async def test_a_wrong_answer_gets_bad_request_with_the_message_of_each_field_and_changes_nothing(answers, fields):
    widget = await widget_with(pre_chat=SURVEY)
    client, _ = await sockets.customer(widget, token=token_for())
    error = await client.request({"type": "pre_chat", "answers": answers})
    assert error["type"] == "error" and error["code"] == "bad_request"
    assert set(error["fields"]) == set(fields)
    for name, message in fields.items():
        assert error["fields"][name] == message or (not message and error["fields"][name])
    assert await db(PreChatAnswers.objects.count)() == 0
    await client.close()


async def test_answers_that_are_not_an_object_are_a_bad_request():
    widget = await widget_with(pre_chat=SURVEY)
    client, _ = await sockets.customer(widget, token=token_for())
    for frame in ({"type": "pre_chat"}, {"type": "pre_chat", "answers": ["Carol"]}):
        assert (await client.request(frame))["code"] == "bad_request"
    await client.close()


async def test_the_field_errors_are_in_the_widgets_language():
    widget = await widget_with(pre_chat=SURVEY, language="ru")
    client, _ = await sockets.customer(widget, token=token_for())
    error = await client.request({"type": "pre_chat", "answers": {**ANSWERS, "email": "nope"}})
    from django.utils import translation

    with translation.override("ru"):
        expected = translation.gettext("Enter a valid email address.")
    assert error["fields"]["email"] == expected
    await client.close()


# --- attachments in send -------------------------------------------------------------------------------


def store_png(customer_id=None, agent=None):
    customer = Customer.objects.get(pk=customer_id) if customer_id else None
    return files.store_upload(SimpleUploadedFile("shot.png", PNG), customer=customer, agent=agent)


async def test_a_customer_message_with_an_image_reaches_the_agent_with_its_attachment():
    widget = await widget_with()
    alice = await agent_for(widget)
    agent, _ = await sockets.agent(alice)
    client, welcome = await sockets.customer(widget, token=token_for())
    upload = await db(store_png)(welcome["customer"]["id"])
    ack = await client.request({"type": "send", "client_id": "m1", "text": "", "attachments": [str(upload.id)]})
    assert ack["type"] == "ack", ack
    [attachment] = ack["message"]["attachments"]
    assert attachment["id"] == str(upload.id) and attachment["content_type"] == "image/png"
    assert attachment["url"].startswith(f"/files/{upload.id}/?expires=")
    conversation_id = (await agent.expect("assigned"))["conversation"]["id"]
    opened = await agent.request({"type": "open", "conversation_id": conversation_id})
    assert opened["conversation"]["messages"][0]["attachments"][0]["name"] == "shot.png"
    # the agent answers with a file of their own
    agent_upload = await db(store_png)(agent=alice)
    reply = await agent.request(
        {
            "type": "send",
            "conversation_id": conversation_id,
            "client_id": "a1",
            "text": "Here is ours",
            "attachments": [str(agent_upload.id)],
        }
    )
    assert reply["message"]["attachments"][0]["id"] == str(agent_upload.id)
    news = await client.expect("message")
    assert news["message"]["attachments"][0]["id"] == str(agent_upload.id)
    synced = await client.request({"type": "sync", "after_seq": 0})
    assert [len(m["attachments"]) for m in synced["messages"]] == [1, 1]
    for socket in (client, agent):
        await socket.close()


async def test_a_plain_message_has_an_empty_attachment_list():
    widget = await widget_with()
    client, _ = await sockets.customer(widget, token=token_for())
    ack = await client.request({"type": "send", "client_id": "m1", "text": "Plain"})
    assert ack["message"]["attachments"] == []
    await client.close()


async def test_someone_elses_upload_an_attached_one_or_too_many_are_refused_and_nothing_is_stored():
    widget = await widget_with()
    client, welcome = await sockets.customer(widget, token=token_for("carol"))
    other, other_welcome = await sockets.customer(widget, token=token_for("dave"))
    daves = await db(store_png)(other_welcome["customer"]["id"])
    mine = await db(store_png)(welcome["customer"]["id"])
    cases = [
        ([str(daves.id)], "not_found"),
        (["not-a-uuid"], "not_found"),
        ("one", "bad_request"),
        ([str(mine.id)] * 6, "bad_request"),
    ]
    for attachments, code in cases:
        error = await client.request({"type": "send", "client_id": "x", "text": "", "attachments": attachments})
        assert error["code"] == code, attachments
    assert await db(Message.objects.count)() == 0
    await client.request({"type": "send", "client_id": "m1", "text": "", "attachments": [str(mine.id)]})
    error = await client.request({"type": "send", "client_id": "m2", "text": "", "attachments": [str(mine.id)]})
    assert error["code"] == "not_found"  # attached already
    assert await db(Attachment.objects.filter(message__isnull=False).count)() == 1
    for socket in (client, other):
        await socket.close()


async def test_a_message_without_text_and_without_attachments_is_still_refused():
    widget = await widget_with()
    client, _ = await sockets.customer(widget, token=token_for())
    assert (await client.request({"type": "send", "client_id": "m1", "text": "", "attachments": []}))[
        "code"
    ] == "bad_request"
    await client.close()


# --- the post-chat rating ------------------------------------------------------------------------------


async def chat_ended_by_agent(widget, sub="carol"):
    alice = await agent_for(widget)
    agent, _ = await sockets.agent(alice)
    client, _ = await sockets.customer(widget, token=token_for(sub))
    await client.request({"type": "send", "client_id": "m1", "text": "Help"})
    conversation_id = (await agent.expect("assigned"))["conversation"]["id"]
    assert (await agent.request({"type": "end", "conversation_id": conversation_id}))["type"] == "ok"
    return agent, client, conversation_id


async def test_after_the_agent_ends_the_customer_is_asked_to_rate_and_the_agent_sees_the_rating():
    widget = await widget_with(post_chat_survey=True)
    agent, client, conversation_id = await chat_ended_by_agent(widget)
    notice = await client.expect("notice", code="rate_conversation")
    assert notice["data"]["conversation_id"] == conversation_id and notice["text"]
    answer = await client.request({"type": "rate", "conversation_id": conversation_id, "score": 4, "comment": "Quick"})
    assert answer["type"] == "ok"
    rating = await agent.expect("rating")
    assert rating["conversation_id"] == conversation_id and rating["rating"]["score"] == 4
    # rating again replaces the first
    await client.request({"type": "rate", "conversation_id": conversation_id, "score": 5})
    stored = await db(Rating.objects.get)()
    assert (stored.score, stored.comment) == (5, "")
    for socket in (client, agent):
        await socket.close()


async def test_no_rating_request_without_post_chat_survey():
    widget = await widget_with(post_chat_survey=False)
    agent, client, _conversation_id = await chat_ended_by_agent(widget)
    await client.expect("notice", code="conversation_ended")
    await client.nothing(timeout=0.3)
    assert not [f for f in client.buffer if f.get("code") == "rate_conversation"]
    for socket in (client, agent):
        await socket.close()


async def test_a_persistent_customer_rates_each_conversation():
    widget = await widget_with(post_chat_survey=True)
    agent, client, first = await chat_ended_by_agent(widget)
    await client.request({"type": "send", "client_id": "m2", "text": "Another question"})
    second = (await agent.expect("assigned"))["conversation"]["id"]
    await agent.request({"type": "end", "conversation_id": second})
    for conversation_id, score in ((first, 2), (second, 5)):
        assert (await client.request({"type": "rate", "conversation_id": conversation_id, "score": score}))[
            "type"
        ] == "ok"
    scores = await db(lambda: dict(Rating.objects.values_list("conversation_id", "score")))()
    assert {str(k): v for k, v in scores.items()} == {first: 2, second: 5}
    for socket in (client, agent):
        await socket.close()


@pytest.mark.parametrize("score", [0, 6, 3.5, "5", True, None])
async def test_a_score_out_of_range_or_of_the_wrong_kind_is_a_bad_request(score):
    widget = await widget_with(post_chat_survey=True)
    agent, client, conversation_id = await chat_ended_by_agent(widget)
    error = await client.request({"type": "rate", "conversation_id": conversation_id, "score": score})
    assert error["code"] == "bad_request"
    assert await db(Rating.objects.count)() == 0
    for socket in (client, agent):
        await socket.close()


async def test_rating_someone_elses_or_a_running_conversation_is_refused():
    widget = await widget_with(post_chat_survey=True)
    agent, carol, conversation_id = await chat_ended_by_agent(widget)
    mallory, _ = await sockets.customer(widget, token=token_for("mallory"))
    assert (await mallory.request({"type": "rate", "conversation_id": conversation_id, "score": 1}))[
        "code"
    ] == "not_found"
    await carol.request({"type": "send", "client_id": "m2", "text": "again"})
    running = (await agent.expect("assigned"))["conversation"]["id"]
    assert (await carol.request({"type": "rate", "conversation_id": running, "score": 3}))["code"] == "not_allowed"
    assert (await carol.request({"type": "rate", "conversation_id": "nope", "score": 3}))["code"] == "not_found"
    assert await db(Rating.objects.count)() == 0
    for socket in (carol, mallory, agent):
        await socket.close()


async def test_a_rating_more_than_seven_days_after_the_end_is_expired():
    widget = await widget_with(post_chat_survey=True)
    agent, client, conversation_id = await chat_ended_by_agent(widget)
    long_ago = timezone.now() - timedelta(days=7, minutes=1)
    await db(Conversation.objects.filter(pk=conversation_id).update)(closed_at=long_ago, wrap_up_started_at=None)
    error = await client.request({"type": "rate", "conversation_id": conversation_id, "score": 5})
    assert error["code"] == "expired"
    assert await db(Rating.objects.count)() == 0
    for socket in (client, agent):
        await socket.close()


# --- earlier conversations -------------------------------------------------------------------------------


async def test_earlier_conversations_come_newest_first_with_their_messages():
    widget = await widget_with(post_chat_survey=True)
    agent, client, first = await chat_ended_by_agent(widget)
    await client.request({"type": "send", "client_id": "m2", "text": "Second chat"})
    second = (await agent.expect("assigned"))["conversation"]["id"]
    await agent.request({"type": "end", "conversation_id": second})
    await client.request({"type": "send", "client_id": "m3", "text": "Current chat"})
    answer = await client.request({"type": "earlier_conversations"})
    assert [c["id"] for c in answer["conversations"]] == [second, first]
    assert answer["conversations"][0]["messages"][0]["text"] == "Second chat"
    assert answer["has_more"] is False
    older = await client.request({"type": "earlier_conversations", "before": second})
    assert [c["id"] for c in older["conversations"]] == [first]
    stranger, _ = await sockets.customer(widget, token=token_for("mallory"))
    assert (await stranger.request({"type": "earlier_conversations"}))["conversations"] == []
    for socket in (client, agent, stranger):
        await socket.close()


# --- never left alone -----------------------------------------------------------------------------------


async def test_a_live_customer_writing_with_no_agent_available_hears_so_at_once_and_leaves_a_message():
    widget = await widget_with(persistent=False, email_notifications=True)
    client, welcome = await sockets.customer(widget)
    assert welcome["widget"]["agents_available"] is False
    await client.request({"type": "send", "client_id": "m1", "text": "Anyone there?"})
    notice = await client.expect("notice", code="no_agent_available")
    assert notice["text"] and notice["data"]["next_opening"] is None
    ack = await client.request(
        {"type": "leave_message", "client_id": "m2", "text": "Call me back", "email": "visitor@example.com"}
    )
    assert ack["type"] == "ack" and ack["message"]["text"] == "Call me back"
    conversation = await db(Conversation.objects.select_related("customer").get)()
    assert conversation.left_message and conversation.customer.email == "visitor@example.com"
    await client.close()
    # the customer went away: the conversation waits for an agent instead of ending after the grace period
    conversation = await db(Conversation.objects.get)()
    assert conversation.customer_left_at is None and conversation.state == "open"


async def test_leaving_a_message_outside_operating_hours_opens_a_conversation_anyway():
    hours = await db(factories.make_hours)({})
    widget = await db(factories.make_setup)(hours=hours)
    client, welcome = await sockets.customer(widget)
    assert welcome["widget"]["online"] is False and welcome["widget"]["next_opening"] is None  # never opens
    refused = await client.request({"type": "send", "client_id": "m1", "text": "Hello?"})
    assert refused["code"] == "unavailable"
    ack = await client.request(
        {"type": "leave_message", "client_id": "m1", "text": "Hello?", "email": "visitor@example.com"}
    )
    assert ack["type"] == "ack"
    assert (await db(Conversation.objects.get)()).state == "open"
    await client.close()


async def test_the_out_of_hours_notice_says_when_the_team_is_back():
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    opening_day = timezone.now().astimezone(tokyo).date() + timedelta(days=2)
    weekly = {validators.DAYS[opening_day.weekday()]: [["09:00", "10:00"]]}  # closed until then
    hours = await db(factories.make_hours)(weekly, timezone="Asia/Tokyo")
    widget = await widget_with()
    await db(Queue.objects.filter(pk=widget.workstream.queue_id).update)(operating_hours=hours)
    client, welcome = await sockets.customer(widget, token=token_for())
    expected = datetime.combine(opening_day, time(9, 0), tzinfo=tokyo).astimezone(UTC)
    assert welcome["widget"]["next_opening"] == iso(expected)
    await client.request({"type": "send", "client_id": "m1", "text": "Hello"})
    notice = await client.expect("notice", code="out_of_hours")
    assert notice["data"]["next_opening"] == iso(expected)
    await client.close()


async def test_leaving_a_message_with_a_bad_email_is_refused_with_the_field_and_stores_nothing():
    widget = await widget_with(persistent=False)
    client, _ = await sockets.customer(widget)
    for email in ("not-an-email", "", None, 7):
        error = await client.request({"type": "leave_message", "client_id": "m1", "text": "Hi", "email": email})
        assert error["code"] == "bad_request" and "email" in error["fields"]
        assert error["client_id"] == "m1"
    assert await db(Message.objects.count)() == 0
    await client.close()


# --- transcripts by email, the email switch ------------------------------------------------------------------


async def test_the_customer_gets_the_transcript_by_email_when_their_address_is_known(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    widget = await widget_with()
    client, _ = await sockets.customer(widget, token=token_for(email="carol@example.com"))
    ack = await client.request({"type": "send", "client_id": "m1", "text": "Keep this <b>safe</b>"})
    conversation_id = ack["message"]["conversation_id"]
    answer = await client.request({"type": "email_transcript", "conversation_id": conversation_id})
    assert answer == {"type": "ok", "email": "carol@example.com", "req": answer["req"]}
    [email] = mail.outbox
    assert email.to == ["carol@example.com"] and "Keep this <b>safe</b>" in email.body
    html = email.alternatives[0][0]
    assert "Keep this &lt;b&gt;safe&lt;/b&gt;" in html
    await client.close()


async def test_no_transcript_email_without_a_known_address_or_for_someone_elses_conversation(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    widget = await widget_with()
    carol, _ = await sockets.customer(widget, token=token_for("carol"))
    ack = await carol.request({"type": "send", "client_id": "m1", "text": "Hi"})
    conversation_id = ack["message"]["conversation_id"]
    answer = await carol.request({"type": "email_transcript", "conversation_id": conversation_id})
    assert answer["code"] == "not_allowed"
    mallory, _ = await sockets.customer(widget, token=token_for("mallory", email="m@example.com"))
    assert (await mallory.request({"type": "email_transcript", "conversation_id": conversation_id}))[
        "code"
    ] == "not_found"
    assert mail.outbox == []
    for socket in (carol, mallory):
        await socket.close()


async def test_the_widget_turns_the_emails_off_and_on():
    widget = await widget_with(email_notifications=True)
    client, welcome = await sockets.customer(widget, token=token_for(email="carol@example.com"))
    assert welcome["customer"]["email_notifications"] is True and welcome["customer"]["email_known"] is True
    assert (await client.request({"type": "email_notifications", "enabled": False}))["type"] == "ok"
    assert await db(EmailOptOut.objects.count)() == 1
    assert (await client.request({"type": "email_notifications", "enabled": "no"}))["code"] == "bad_request"
    await client.request({"type": "email_notifications", "enabled": True})
    assert await db(EmailOptOut.objects.count)() == 0
    await client.close()
