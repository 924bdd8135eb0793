import time
import pytest
from conversations.actions import payloads
from conversations import events
from tests.conversations.test_agent_lists import make_conversations, pick_setup
pytestmark = pytest.mark.django_db(transaction=True)

def test_prof():
    widget, _ = pick_setup()
    q = str(widget.workstream.queue_id)
    make_conversations(widget, 2000)
    t = time.perf_counter(); pages = payloads.pick_queue_pages([q]); t1 = time.perf_counter() - t
    make_conversations(widget, 1)
    t = time.perf_counter(); pages = payloads.pick_queue_pages([q]); t2 = time.perf_counter() - t
    t = time.perf_counter(); frame = payloads.merge_pick_pages(list(pages.values())); text = events.encode({"type": "queue", **frame}); t3 = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(50): text.encode("utf8")
    t4 = (time.perf_counter() - t) / 50
    print(f"PROF cold {t1*1000:.1f} ms warm {t2*1000:.1f} ms merge+encode {t3*1000:.1f} ms utf8 {t4*1e6:.0f} us items {len(frame['items'])} bytes {len(text)}")
