"""The HTTP step of a delivery (``webhooks.sender``): kept-alive connections, and what a receiver answers."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading

import pytest

from conversations.webhooks import sender
from tests.webhooks.receiver import Receiver


@pytest.fixture(autouse=True)
def _fresh_connections():
    sender.forget_connections()
    yield
    sender.forget_connections()


def post(url: str, body: bytes = b'{"n":1}') -> sender.Outcome:
    return sender.post(url, body, "secret", {"Parley-Event": "message.created", "Parley-Event-Id": "e1"})


def test_deliveries_to_one_receiver_share_one_kept_alive_connection():
    with Receiver(keep_alive=True) as receiver:
        outcomes = [post(receiver.url, f'{{"n":{n}}}'.encode()) for n in range(5)]
    assert all(outcome.ok and outcome.status_code == 200 for outcome in outcomes)
    assert len(receiver.requests) == 5
    assert receiver.connections == 1


def test_a_receiver_that_closes_after_each_answer_gets_a_new_connection_each_time():
    with Receiver(keep_alive=False) as receiver:
        assert all(post(receiver.url).ok for _ in range(3))
    assert receiver.connections == 3


def test_a_kept_connection_the_receiver_dropped_is_replaced_without_a_failed_delivery():
    with Receiver(keep_alive=True) as first:
        port = first.server.server_address[1]
        assert post(first.url).ok
    # The receiver restarted on the same port: the kept connection is dead, the delivery is not.
    with Receiver(keep_alive=True, port=port) as second:
        outcome = post(second.url)
    assert outcome.ok
    assert len(second.requests) == 1


def test_the_request_is_signed_and_carries_the_event_headers():
    with Receiver(keep_alive=True) as receiver:
        assert post(receiver.url, b'{"n":7}').ok
    headers = receiver.requests[0]["headers"]
    timestamp, v1 = (part.split("=", 1)[1] for part in headers["Parley-Signature"].split(","))
    expected = hmac.new(b"secret", f"{timestamp}.".encode() + b'{"n":7}', hashlib.sha256).hexdigest()
    assert v1 == expected
    assert headers["Parley-Event"] == "message.created"
    assert headers["Parley-Event-Id"] == "e1"
    assert headers["Content-Type"] == "application/json"


def test_a_redirect_is_an_answer_not_followed():
    with Receiver(keep_alive=True, default_status=302) as receiver:
        outcome = post(receiver.url)
    assert (outcome.ok, outcome.status_code, outcome.error) == (False, 302, "HTTP 302")
    assert len(receiver.requests) == 1


def test_a_refused_connection_is_a_failed_outcome_with_the_reason():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = post(f"http://127.0.0.1:{port}/hooks")
    assert not outcome.ok
    assert outcome.status_code is None
    assert "ConnectionRefusedError" in outcome.error


def test_each_delivery_thread_keeps_its_own_connection():
    with Receiver(keep_alive=True) as receiver:
        threads = [threading.Thread(target=lambda: [post(receiver.url) for _ in range(3)]) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(receiver.requests) == 6
    assert receiver.connections == 2
