"""Every action on conversations, one function each, grouped by area (Zulip's ``zerver/actions``).

Consumers, views, the admin center, the REST API, management commands and timers all call these
functions; nothing else changes a conversation. Each action checks (raising ``errors.ServiceError`` with
a protocol error code), writes in one transaction, and announces through ``conversations.events`` after
commit. The modules, lowest first (each imports only those above it):

- ``transitions``: the one table of which action may run from which state; guards and
  ``allowed_actions`` come from it;
- ``access``: permission-checked lookups (``access_conversation_for_agent``) and the customer's current
  conversation;
- ``payloads``: what the sockets send: summaries, welcome frames, pages of messages;
- ``queueing``: queue position and average wait news for live-chat customers;
- ``changes``: the one writer of a state change (capacity, timestamps, event log, announcements);
- ``assignment``: who gets what: routing's locking entry points, pick, reassignment;
- ``lifecycle``: the agents', customers' and system's transitions after assignment;
- ``messages``: storing and announcing messages, opening conversations, typing;
- ``sessions``: sockets connecting and leaving, heartbeats, presence, and the admin's changes to agents;
- ``privacy``: export and erasure of one customer, retention;
- ``sweep``: the timer jobs, one function each.

New actions of the second wave get modules of their own here.
"""
