"""What ``chat_benchmark`` creates in the server's database, through the ORM.

Everything is named ``Benchmark …`` / ``bench-…`` and updated in place on
every run, so a benchmark can run again and again against the same server.
The customers' JWTs are signed with a key pair made for the run; its public
key replaces the one of the "Benchmark JWT" authentication setting.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from admin_center.models import ChatAuthenticationSetting, ChatWidget, Workstream
from conversations.models import Conversation, Customer, Message, Role, State
from routing.models import AgentProfile, Queue

from . import scale_setup

WIDGET_ID = "benchmark"
AUTH_NAME = "Benchmark JWT"


def agent_username(n: int) -> str:
    return f"bench-agent-{n}"


@transaction.atomic
def prepare(spec: dict) -> dict:
    """Queue, persistent workstream, authenticated widget and ``spec["agents"]``
    agents (all sharing ``spec["password"]``). Returns what the client needs."""
    queue, _ = Queue.objects.update_or_create(
        name="Benchmark queue", defaults={"assignment_method": "highest_capacity", "operating_hours": None}
    )
    workstream, _ = Workstream.objects.update_or_create(
        name="Benchmark persistent chat",
        defaults={
            "persistent": True,
            "same_agent": True,
            "distribution": "push",
            "capacity_units": 1,
            "queue": queue,
            "auto_close_after_inactivity_seconds": 0,
            "wrap_up_seconds": 0,
        },
    )
    auth, _ = ChatAuthenticationSetting.objects.update_or_create(
        name=AUTH_NAME, defaults={"public_key_pem": spec["public_pem"], "issuer": ""}
    )
    ChatWidget.objects.update_or_create(
        public_id=WIDGET_ID,
        defaults={
            "name": "Benchmark widget",
            "workstream": workstream,
            "authentication": auth,
            "allowed_origins": [],
            "title": "Benchmark",
            "enabled": True,
        },
    )
    password_hash = make_password(spec["password"])  # hashed once: PBKDF2 is slow on purpose
    users = get_user_model().objects
    usernames = []
    for n in range(1, spec["agents"] + 1):
        username = agent_username(n)
        user, _ = users.update_or_create(username=username, defaults={"password": password_hash, "is_active": True})
        agent, _ = AgentProfile.objects.update_or_create(
            user=user, defaults={"display_name": f"Bench Agent {n}", "capacity": spec.get("capacity", 100000)}
        )
        queue.members.add(agent)
        usernames.append(username)
    return {"widget": WIDGET_ID, "agents": usernames}


def fill_history(spec: dict) -> dict:
    """Bulk-insert ``spec["count"]`` messages into the current conversation of
    each customer ``spec["subjects"]`` (as if they had been written before),
    keeping ``seq`` gap-free. Returns {subject: last_seq}."""
    count = spec["count"]
    result = {}
    auth = ChatAuthenticationSetting.objects.get(name=AUTH_NAME)
    for subject in spec["subjects"]:
        customer = Customer.objects.get(authentication=auth, subject=subject)
        with transaction.atomic():
            conversation = (
                Conversation.objects.select_for_update()
                .exclude(state=State.CLOSED)
                .get(customer=customer, workstream__name="Benchmark persistent chat")
            )
            first = conversation.last_seq + 1
            now = timezone.now()
            batch: list[Message] = []
            for seq in range(first, first + count):
                customer_turn = seq % 2 == 1
                batch.append(
                    Message(
                        conversation=conversation,
                        seq=seq,
                        sender_role=Role.CUSTOMER if customer_turn else Role.AGENT,
                        sender_name=customer.display_name if customer_turn else "Bench Agent",
                        text=f"Earlier message number {seq}.",
                        sent_at=now,
                    )
                )
                if len(batch) == 5000:
                    Message.objects.bulk_create(batch)
                    batch = []
            if batch:
                Message.objects.bulk_create(batch)
            conversation.last_seq = first + count - 1
            conversation.save(update_fields=["last_seq"])
        result[subject] = conversation.last_seq
    return result


ACTIONS = {"prepare": prepare, "fill_history": fill_history, **scale_setup.ACTIONS}
