"""The roles matrix: what an agent, a supervisor and an administrator may open (docs/security.md "Roles").
One data structure that both the test (tests/security/test_roles.py) and the table in docs/security.md
are made from; ``python -m tests.security.roles_matrix`` prints the table.

Roles: an *agent* has an agent profile and no other right; a *supervisor* holds ``routing.supervise``
(through a group) and has no agent profile; an *administrator* is a superuser (staff) without an agent
profile. A user who is both agent and supervisor gets both columns' rights.
"""

from __future__ import annotations

ROLES = ("agent", "supervisor", "administrator")

# (what, how it is reached) -> one answer per role: "yes", or how it is refused
MATRIX: dict[tuple[str, str], tuple[str, ...]] = {
    ("agent workspace", "GET /workspace/"): ("yes", "403", "403"),
    ("agent socket", "/ws/agent/"): ("yes", "refused (403)", "refused (403)"),
    ("live dashboard", "GET /workspace/supervisor/"): ("403", "yes", "yes"),
    ("supervisor socket: statistics, watch, transfer, set presence", "/ws/supervisor/"): (
        "refused (403)",
        "yes",
        "yes",
    ),
    ("a queue's or an agent's conversations", "GET /workspace/supervisor/api/conversations/"): ("403", "yes", "yes"),
    ("reports", "GET /workspace/reports/"): ("403", "yes", "yes"),
    ("reports as CSV", "GET /workspace/reports/?format=csv"): ("403", "yes", "yes"),
    ("admin center", "GET /admin/"): ("sign-in page", "sign-in page", "yes"),
}

assert all(len(answers) == len(ROLES) for answers in MATRIX.values())


def markdown_table() -> str:
    head = "| what | where | " + " | ".join(ROLES) + " |"
    rule = "|" + "---|" * (2 + len(ROLES))
    rows = [f"| {what} | `{where}` | " + " | ".join(answers) + " |" for (what, where), answers in MATRIX.items()]
    return "\n".join([head, rule, *rows])


if __name__ == "__main__":
    print(markdown_table())
