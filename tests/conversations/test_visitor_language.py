"""A widget set to "auto" speaks the visitor's language on its socket too: the page's ``lang`` (the frame
passes it in the socket's URL), else the browser's Accept-Language; notices, refusals and the welcome follow
it, and the customer's row remembers it for what is sent while they are away."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from conversations.models import Customer, Message
from tests import factories
from tests.support import sockets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]
db = database_sync_to_async


async def hello(widget, query: str = "", headers=()) -> tuple[sockets.Client, dict]:
    connected, client = await sockets.connect(f"/ws/widget/{widget.public_id}/{query}", headers=list(headers))
    assert connected
    await client.send({"type": "hello", "token": None, "visitor": None})
    return client, await client.expect("welcome")


async def first_notice(client) -> dict:
    await client.request({"type": "send", "client_id": "c1", "text": "Hello"})
    return await client.expect("notice", code="queue_position")


async def test_the_page_language_words_the_queue_notice_and_the_welcome():
    widget = await db(factories.make_setup)(language="auto")
    client, welcome = await hello(widget, "?lang=ru")
    assert welcome["widget"]["language"] == "ru"
    notice = await first_notice(client)
    assert notice["text"] == "Ваш номер в очереди: 1."
    assert await db(lambda: list(Customer.objects.values_list("language", flat=True)))() == ["ru"]
    await client.close()


async def test_without_a_page_language_the_browser_language_counts_and_english_is_the_last_resort():
    widget = await db(factories.make_setup)(language="auto")
    client, welcome = await hello(widget, headers=[(b"accept-language", b"de-DE,de;q=0.9,ru;q=0.8")])
    assert welcome["widget"]["language"] == "ru"
    assert (await first_notice(client))["text"] == "Ваш номер в очереди: 1."
    await client.close()
    other, welcome = await hello(widget, "?lang=de", headers=[(b"accept-language", b"fr")])
    assert welcome["widget"]["language"] == "en"
    await other.close()


async def test_two_visitors_of_one_auto_widget_each_read_their_own_language():
    widget = await db(factories.make_setup)(language="auto")
    russian, _ = await hello(widget, "?lang=ru")
    english, _ = await hello(widget, "?lang=en")
    assert (await first_notice(russian))["text"] == "Ваш номер в очереди: 1."
    assert (await first_notice(english))["text"] == "You are number 2 in line."
    await russian.close()
    await english.close()


async def test_a_widget_with_a_fixed_language_ignores_the_visitors():
    widget = await db(factories.make_setup)(language="en")
    client, welcome = await hello(widget, "?lang=ru", headers=[(b"accept-language", b"ru")])
    assert welcome["widget"]["language"] == "en"
    assert (await first_notice(client))["text"] == "You are number 1 in line."
    await client.close()


async def test_a_refused_email_is_explained_in_the_visitors_language_and_stores_nothing():
    widget = await db(factories.make_setup)(language="auto")
    client, _ = await hello(widget, "?lang=ru")
    error = await client.request({"type": "leave_message", "client_id": "m1", "text": "Hi", "email": "nope"})
    assert error["code"] == "bad_request"
    assert error["fields"]["email"] == "Введите корректный адрес электронной почты."
    assert await db(Message.objects.count)() == 0
    await client.close()
