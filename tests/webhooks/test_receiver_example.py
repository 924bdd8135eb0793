"""The receiver example in docs/webhooks.md verifies real deliveries (and refuses forged ones)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from admin_center.models import WebhookEndpoint
from conversations import webhooks
from conversations.webhooks import signing
from conversations.webhooks.dispatcher import Dispatcher

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def example() -> dict:
    """The documented receiver's code, loaded as its module would be (the server is not started)."""
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL).group(1)
    namespace: dict = {"__name__": "receiver_example"}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 (our own documentation)
    return namespace


@pytest.mark.django_db(transaction=True)
async def test_the_documented_receiver_accepts_a_real_delivery(receiver):
    verify = example()["verify_signature"]
    hook = await database_sync_to_async(WebhookEndpoint.objects.create)(
        name="CRM", url=receiver.url, events=["conversation.rated"]
    )

    def rate() -> None:
        with transaction.atomic():
            webhooks.emit("conversation.rated", None, {"rating": {"score": 5}})

    await database_sync_to_async(rate)()
    await Dispatcher().drain()
    (request,) = receiver.wait_for(1)
    assert verify(hook.secret, request["headers"]["Parley-Signature"], request["body"])
    assert not verify("another secret", request["headers"]["Parley-Signature"], request["body"])
    assert not verify(hook.secret, request["headers"]["Parley-Signature"], request["body"] + b" ")


def test_the_documented_receiver_refuses_old_and_malformed_signatures():
    verify = example()["verify_signature"]
    body = b'{"id":"1"}'
    now = time.time()
    assert verify("s3cret", signing.header("s3cret", body, int(now)), body, now=now)
    assert not verify("s3cret", signing.header("s3cret", body, int(now) - 600), body, now=now)
    assert not verify("s3cret", "t=abc,v1=00", body, now=now)
    assert not verify("s3cret", "", body, now=now)
