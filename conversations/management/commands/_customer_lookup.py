"""Finding the one customer a privacy command is about."""

from __future__ import annotations

import uuid

from django.core.management.base import CommandError, CommandParser

from conversations.models import Customer


def add_lookup_arguments(parser: CommandParser) -> None:
    parser.add_argument("customer_id", nargs="?", help="The customer's id (as shown in the admin center).")
    parser.add_argument("--subject", help="The JWT 'sub' of an authenticated customer.")
    parser.add_argument(
        "--authentication", help="Name of the chat authentication setting (when several issue the same 'sub')."
    )
    parser.add_argument("--email", help="The customer's email address (must match exactly one customer).")


def find_customer(options: dict) -> Customer:
    given = [name for name in ("customer_id", "subject", "email") if options.get(name)]
    if len(given) != 1:
        raise CommandError("Name the customer by exactly one of: customer_id, --subject, --email.")
    customers = Customer.objects.all()
    if options.get("customer_id"):
        try:
            customers = customers.filter(pk=uuid.UUID(options["customer_id"]))
        except ValueError:
            raise CommandError(f"{options['customer_id']!r} is not a customer id.") from None
    elif options.get("subject"):
        customers = customers.filter(subject=options["subject"])
        if options.get("authentication"):
            customers = customers.filter(authentication__name=options["authentication"])
    else:
        customers = customers.filter(email__iexact=options["email"])
    found = list(customers[:2])
    if not found:
        raise CommandError("No such customer.")
    if len(found) > 1:
        raise CommandError("More than one customer matches; name the customer by id or add --authentication.")
    return found[0]
