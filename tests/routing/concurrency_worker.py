"""One OS process of the concurrency test (test_concurrency.py).

Run as ``python -m tests.routing.concurrency_worker '<json>'`` with
``DATABASE_URL`` naming the test database. At the agreed start time it
interleaves push dispatch, agents ending their conversations (which frees
capacity and dispatches again) and picks of the shared pick conversations,
then prints what it did as JSON on the last line of stdout.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time


def main(spec: dict) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")
    import django

    django.setup()
    from django.db import connection

    from conversations.actions import assignment, lifecycle
    from conversations.errors import ServiceError
    from conversations.models import Conversation, State
    from routing.models import AgentProfile

    rng = random.Random(spec["seed"])
    push_agents = list(AgentProfile.objects.filter(pk__in=spec["push_agents"]))
    picker = AgentProfile.objects.get(pk=spec["picker"])
    done = {"routed": 0, "ended": 0, "end_refused": 0, "picked": [], "pick_refused": 0, "errors": []}
    connection.close()
    while time.time() < spec["start_at"]:
        time.sleep(0.005)
    pick_ids = list(spec["pick_conversations"])
    for step in range(spec["steps"]):
        try:
            if pick_ids and step % 3 == 2:
                conversation_id = pick_ids.pop(0)
                try:
                    assignment.pick(picker, conversation_id)
                    done["picked"].append(conversation_id)
                except ServiceError:
                    done["pick_refused"] += 1
            elif rng.random() < 0.5:
                done["routed"] += assignment.dispatch([spec["push_queue"]])
            else:
                agent = rng.choice(push_agents)
                mine = list(
                    Conversation.objects.filter(agent=agent, state=State.ACTIVE).values_list("id", flat=True)[:3]
                )
                if mine:
                    try:
                        lifecycle.end(agent, rng.choice(mine))
                        done["ended"] += 1
                    except ServiceError:
                        done["end_refused"] += 1
        except Exception as error:  # reported to the test, which fails on any
            done["errors"].append(f"{type(error).__name__}: {error}")
    connection.close()
    return done


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
