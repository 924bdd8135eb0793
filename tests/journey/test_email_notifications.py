"""Email to an absent customer, through a real SMTP server in the test process
(../PROTOCOL.md "Email to an absent customer")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from conversations.actions import assignment, availability, messages, notifications, sessions
from conversations.models import Customer, EmailNotification, EmailOptOut, UnsubscribeLink
from routing.models import Presence
from tests import factories
from tests.journey.smtp_support import start_smtp, text_and_html

pytestmark = pytest.mark.django_db(transaction=True)

DELAY = 300


@pytest.fixture
def inbox(settings):
    controller, inbox = start_smtp()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.PARLEY_EMAIL_DELAY = DELAY
    settings.PARLEY_PUBLIC_URL = "https://chat.example.com"
    yield inbox
    controller.stop()


def persistent_chat(*, language="en", email_notifications=True, email="carol@example.com"):
    """carol wrote in a persistent chat that emails absent customers; alice has it."""
    widget = factories.make_setup(persistent=True, language=language)
    widget.email_notifications = email_notifications
    widget.return_url = "https://shop.example.com/help"
    widget.title = "Shop support"
    widget.save()
    alice = factories.make_agent("alice", name="Alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    carol = Customer.objects.create(authentication=widget.authentication, subject="carol", name="Carol", email=email)
    _m, conversation, _ = messages.customer_message(carol, widget, client_id="c1", text="Where is order 42?")
    notifications.mark_seen(carol.id, widget.workstream_id)  # her socket closed after she wrote
    return widget, alice, carol, conversation


def later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def test_an_unseen_agent_reply_is_emailed_once_after_the_delay_in_text_and_html(inbox):
    widget, alice, carol, conversation = persistent_chat()
    messages.agent_message(alice, conversation.id, client_id="a1", text="It ships <today> & tomorrow")
    assert notifications.sweep(later(DELAY - 5)) == 0
    assert notifications.sweep(later(DELAY + 1)) == 1
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert inbox.recipients[0] == ["carol@example.com"]
    assert "Alice" in message["Subject"] and "Shop support" in message["Subject"]
    text, html = text_and_html(message)
    assert "It ships <today> & tomorrow" in text
    assert "It ships &lt;today&gt; &amp; tomorrow" in html  # the message is text, escaped in HTML
    assert "https://shop.example.com/help" in text and 'href="https://shop.example.com/help"' in html
    assert "Where is order 42?" not in text  # only the agent's unseen messages


def test_the_email_carries_one_click_unsubscribe_headers(inbox):
    _widget, alice, _carol, conversation = persistent_chat()
    messages.agent_message(alice, conversation.id, client_id="a1", text="Answer")
    notifications.sweep(later(DELAY + 1))
    message = inbox.messages[0]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(
        r"<(https://chat\.example\.com/email/unsubscribe/[^>]+/)>", str(message["List-Unsubscribe"]).strip()
    )
    assert url is not None
    assert url.group(1) in text_and_html(message)[0]


def test_at_most_one_email_per_delay_window_and_each_message_once(inbox):
    _widget, alice, _carol, conversation = persistent_chat()
    messages.agent_message(alice, conversation.id, client_id="a1", text="First answer")
    messages.agent_message(alice, conversation.id, client_id="a2", text="Second answer")
    assert notifications.sweep(later(DELAY + 1)) == 1
    assert notifications.sweep(later(DELAY + 2)) == 0
    text, _html = text_and_html(inbox.messages[0])
    assert "First answer" in text and "Second answer" in text
    messages.agent_message(alice, conversation.id, client_id="a3", text="Third answer")
    assert notifications.sweep(later(DELAY + 60)) == 0  # the window of the first email is not over
    assert notifications.sweep(later(2 * DELAY + 2)) == 1
    text, _html = text_and_html(inbox.messages[1])
    assert "Third answer" in text and "First answer" not in text
    assert len(inbox.messages) == 2


def test_no_email_while_a_socket_of_the_customer_is_open(inbox):
    widget, alice, carol, conversation = persistent_chat()
    sessions.customer_connected(carol, widget, channel_name="carol-tab")
    messages.agent_message(alice, conversation.id, client_id="a1", text="Answer")
    assert notifications.sweep(later(DELAY + 1)) == 0
    assert inbox.messages == []


def test_no_email_about_messages_the_customer_has_seen(inbox):
    widget, alice, carol, conversation = persistent_chat()
    messages.agent_message(alice, conversation.id, client_id="a1", text="Answer")
    notifications.mark_seen(carol.id, widget.workstream_id)  # she came back and read it
    assert notifications.sweep(later(DELAY + 1)) == 0
    assert inbox.messages == []


def test_no_email_without_the_widget_setting_an_address_or_after_unsubscribing(inbox):
    for kwargs in ({"email_notifications": False}, {"email": ""}):
        _widget, alice, carol, conversation = persistent_chat(**kwargs)
        messages.agent_message(alice, conversation.id, client_id="a1", text="Answer")
        assert notifications.sweep(later(DELAY + 1)) == 0
        carol.delete()
        alice.user.delete()
    _widget, alice, carol, conversation = persistent_chat()
    EmailOptOut.objects.create(customer=carol)
    messages.agent_message(alice, conversation.id, client_id="a1", text="Answer")
    assert notifications.sweep(later(DELAY + 1)) == 0
    assert inbox.messages == []


def test_the_email_is_in_the_widgets_language(inbox):
    _widget, alice, _carol, conversation = persistent_chat(language="ru")
    messages.agent_message(alice, conversation.id, client_id="a1", text="Ответ")
    notifications.sweep(later(DELAY + 1))
    message = inbox.messages[0]
    text, html = text_and_html(message)
    assert "Ответ" in text
    assert 'lang="ru"' in html


def test_a_widget_in_the_visitors_language_emails_in_the_language_it_last_spoke_to_them(inbox):
    _widget, alice, carol, conversation = persistent_chat(language="auto")
    Customer.objects.filter(pk=carol.pk).update(language="ru")  # her widget's socket was in Russian
    messages.agent_message(alice, conversation.id, client_id="a1", text="Ответ")
    notifications.sweep(later(DELAY + 1))
    text, html = text_and_html(inbox.messages[0])
    assert 'lang="ru"' in html and "Ответ" in text
    assert "answered you" not in inbox.messages[0]["Subject"]


def test_a_failed_delivery_is_tried_again_by_the_next_sweep(inbox, settings):
    _widget, alice, _carol, conversation = persistent_chat()
    messages.agent_message(alice, conversation.id, client_id="a1", text="Answer")
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 1  # nobody listens there
    assert notifications.sweep(later(DELAY + 1)) == 0
    assert EmailNotification.objects.count() == 0
    settings.EMAIL_PORT = port
    assert notifications.sweep(later(DELAY + 2)) == 1


# --- one-click unsubscribe (RFC 8058) --------------------------------------------------------------


def unsubscribe_path(inbox) -> str:
    return re.search(r"https://chat\.example\.com(/email/unsubscribe/[^>]+/)", inbox.messages[0]["List-Unsubscribe"])[1]


def test_the_one_click_post_unsubscribes_and_the_link_works_only_once(inbox):
    _widget, alice, carol, conversation = persistent_chat()
    messages.agent_message(alice, conversation.id, client_id="a1", text="Answer")
    notifications.sweep(later(DELAY + 1))
    path = unsubscribe_path(inbox)
    assert Client().get(path).status_code == 200  # a mail scanner following the link changes nothing
    assert not EmailOptOut.objects.filter(customer=carol).exists()
    answer = Client().post(path, {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert EmailOptOut.objects.filter(customer=carol).exists()
    assert Client().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 410
    messages.agent_message(alice, conversation.id, client_id="a2", text="More")
    assert notifications.sweep(later(3 * DELAY)) == 0


@pytest.mark.parametrize("token", ["forged", "InRlc3Qi:1abcde:Zm9yZ2Vk"])
def test_a_forged_unsubscribe_link_is_refused_and_changes_nothing(inbox, token):
    _widget, _alice, carol, _conversation = persistent_chat()
    assert Client().post(f"/email/unsubscribe/{token}/").status_code == 400
    assert Client().get(f"/email/unsubscribe/{token}/").status_code == 400
    assert not EmailOptOut.objects.exists()


def test_a_signed_link_whose_row_is_gone_is_refused(inbox):
    _widget, _alice, carol, _conversation = persistent_chat()
    link = UnsubscribeLink.objects.create(customer=carol)
    token = notifications.unsubscribe_token(link)
    link.delete()
    assert Client().post(f"/email/unsubscribe/{token}/").status_code == 400
    assert not EmailOptOut.objects.exists()


def test_a_visitor_who_left_a_message_gets_the_answer_by_email(inbox):
    widget = factories.make_setup(persistent=False)
    widget.email_notifications = True
    widget.save()
    visitor = Customer.objects.create(name="")
    _m, conversation, _ = availability.leave_message(
        visitor, widget, client_id="v1", text="Call me back", email="visitor@example.com"
    )
    notifications.mark_seen(visitor.id, widget.workstream_id)  # the visitor closed the tab
    alice = factories.make_agent("alice", name="Alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    assignment.dispatch([widget.workstream.queue_id])
    messages.agent_message(alice, conversation.id, client_id="a1", text="Calling you at noon")
    assert notifications.sweep(later(DELAY + 1)) == 1
    assert inbox.recipients == [["visitor@example.com"]]
    assert "Calling you at noon" in text_and_html(inbox.messages[0])[0]


def test_a_live_conversation_without_a_left_message_is_never_emailed(inbox):
    widget = factories.make_setup(persistent=False)
    widget.email_notifications = True
    widget.save()
    alice = factories.make_agent("alice", name="Alice", presence=Presence.AVAILABLE, queues=[widget.workstream.queue])
    carol = Customer.objects.create(name="Carol", email="carol@example.com")
    _m, conversation, _ = messages.customer_message(carol, widget, client_id="c1", text="Hi")
    notifications.mark_seen(carol.id, widget.workstream_id)
    messages.agent_message(alice, conversation.id, client_id="a1", text="Hello")
    assert notifications.sweep(later(DELAY + 1)) == 0
