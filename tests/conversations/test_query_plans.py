"""The hello's lookup of a customer's current conversation reads through the (customer, workstream, state)
index, whatever the size of the workstream's history (docs/performance.md, "Measured on 2026-12-01, 15:40
to 17:00 UTC")."""

import pytest
from django.db import connection

from conversations.actions import access
from conversations.models import Customer
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner (PostgreSQL plans by statistics)"),
]


def _plans(statements) -> list[str]:
    """SQLite's plan of each statement with its parameters bound, as it runs (with the values written
    into the text instead, the planner may use a partial index it cannot use for the real statement)."""
    plans = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plans.append(" / ".join(row[-1] for row in cursor.fetchall()))
    return plans


def test_the_current_conversation_is_found_through_the_customer_index():
    widget = factories.make_setup(distribution="pick")
    customer = Customer.objects.create(name="N", subject="n")
    statements = []

    def keep(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        assert access.current_conversation(customer, widget.workstream) is None
    plans = _plans(statements)
    assert plans, "no query ran"
    for plan in plans:
        if "conversations_conversation" in plan:
            assert "conversations_conversation USING INDEX conv_customer_idx" in plan, plan
