import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conversations.actions import messages
from conversations.models import Conversation, Customer
from routing.models import Presence
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # the throttles count in the cache
    yield
    cache.clear()


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def write(widget, name: str) -> Conversation:
    customer = Customer.objects.create(name=name)
    _message, conversation, _ = messages.customer_message(customer, widget, client_id=uuid.uuid4().hex, text="Hello")
    return Conversation.objects.get(pk=conversation.pk)


class World:
    """Two queues: alice works Support (carol's conversation), bob works Sales (dave's). ada is staff,
    sam a supervisor without an agent profile, mallory a user who is neither."""

    def __init__(self) -> None:
        self.support = factories.make_setup()
        self.sales = factories.make_setup()
        self.alice = factories.make_agent("alice", presence=Presence.AVAILABLE, queues=[self.support.workstream.queue])
        self.bob = factories.make_agent("bob", presence=Presence.AVAILABLE, queues=[self.sales.workstream.queue])
        self.carols = write(self.support, "Carol")
        self.daves = write(self.sales, "Dave")
        users = get_user_model().objects
        self.ada = users.create_user("ada", password="pw-ada", is_staff=True)
        self.sam = users.create_user("sam", password="pw-sam")
        self.sam.user_permissions.add(Permission.objects.get(codename="supervise", content_type__app_label="routing"))
        self.mallory = users.create_user("mallory", password="pw-mallory")


@pytest.fixture
def world() -> World:
    return World()
