"""The agent authorization matrix: one data structure that both the test
(tests/security/test_authorization.py) and the table in docs/security.md are
made from. ``python -m tests.security.authorization_matrix`` prints the table.

Rows: whose conversation it is (from agent alice's point of view), its mode
and its state. Columns: every agent command that names a conversation.
Cells: the answer alice gets: the success frame's type (``ok``, ``ack``,
``conversation``, ``sync``, ``history``), ``-`` for a command that succeeds
without an answer (typing), or the error code.
"""

from __future__ import annotations

COMMANDS = ("open", "send", "typing", "sync", "history", "set_waiting", "resume", "end", "close", "pick")

# What a successful command does to the conversation (state afterwards).
EFFECTS = {"set_waiting": "waiting", "resume": "active", "end": "wrap_up", "close": "closed", "pick": "active"}

NA = "not_allowed"
AA = "already_assigned"
NF = "not_found"

_READ = ("conversation",)
_MINE_CLOSED = (*_READ, NA, "-", "sync", "history", NA, NA, NA, NA, AA)
_MINE_WRAP_UP = (*_READ, NA, "-", "sync", "history", NA, NA, NA, "ok", AA)
_NOT_MINE = (NA,) * 9 + (AA,)

MATRIX: dict[tuple[str, str, str], tuple[str, ...]] = {
    ("mine", "persistent", "active"): (*_READ, "ack", "-", "sync", "history", "ok", NA, "ok", NA, AA),
    ("mine", "persistent", "waiting"): (*_READ, NA, "-", "sync", "history", NA, "ok", "ok", NA, AA),
    ("mine", "persistent", "wrap_up"): _MINE_WRAP_UP,
    ("mine", "persistent", "closed"): _MINE_CLOSED,
    ("mine", "live", "active"): (*_READ, "ack", "-", "sync", "history", NA, NA, "ok", NA, AA),
    ("mine", "live", "wrap_up"): _MINE_WRAP_UP,
    ("mine", "live", "closed"): _MINE_CLOSED,
    ("another agent's", "persistent", "active"): _NOT_MINE,
    ("another agent's", "persistent", "waiting"): _NOT_MINE,
    ("another agent's", "persistent", "wrap_up"): _NOT_MINE,
    ("another agent's", "persistent", "closed"): _NOT_MINE,
    ("another agent's", "live", "active"): _NOT_MINE,
    ("another agent's", "live", "wrap_up"): _NOT_MINE,
    ("another agent's", "live", "closed"): _NOT_MINE,
    ("unassigned", "persistent", "open"): (NA,) * 9 + ("ok",),
    ("unassigned", "live", "open"): (NA,) * 9 + ("ok",),
    ("unassigned", "persistent", "closed"): _NOT_MINE,
    ("unassigned", "live", "closed"): _NOT_MINE,
    ("nonexistent", "-", "-"): (NF,) * 10,
}

assert all(len(answers) == len(COMMANDS) for answers in MATRIX.values())


def markdown_table() -> str:
    head = "| conversation | mode | state | " + " | ".join(f"`{c}`" for c in COMMANDS) + " |"
    rule = "|" + "---|" * (3 + len(COMMANDS))
    rows = [
        f"| {whose} | {mode} | {state} | " + " | ".join(answers) + " |"
        for (whose, mode, state), answers in MATRIX.items()
    ]
    return "\n".join([head, rule, *rows])


if __name__ == "__main__":
    print(markdown_table())
