"""Customers, conversations, their messages and their state history."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    OPEN = "open", _("Open")
    ACTIVE = "active", _("Active")
    WAITING = "waiting", _("Waiting")
    WRAP_UP = "wrap_up", _("Wrap-up")
    CLOSED = "closed", _("Closed")


# The states of a customer's current conversation: the one their messages go to. A conversation in
# wrap-up has ended for the customer; their next message starts a new one.
CURRENT_STATES = (State.OPEN, State.ACTIVE, State.WAITING)


class Mode(models.TextChoices):
    LIVE = "live", _("Live chat")
    PERSISTENT = "persistent", _("Persistent chat")


class Role(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    AGENT = "agent", _("Agent")
    SYSTEM = "system", _("System")
    ADMIN = "admin", _("Administrator")


class Customer(models.Model):
    """A person who chats through a widget.

    Authenticated customers are identified by (authentication setting, JWT
    ``sub``); anonymous visitors have neither and are recognised by the
    server-signed visitor token that carries this row's id.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    authentication = models.ForeignKey(
        "admin_center.ChatAuthenticationSetting",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("authentication setting"),
    )
    subject = models.CharField(_("subject (sub)"), max_length=255, null=True, blank=True)
    name = models.CharField(_("name"), max_length=255, blank=True, default="")
    email = models.CharField(_("email"), max_length=255, blank=True, default="")
    username = models.CharField(_("username"), max_length=255, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["authentication", "subject"],
                condition=models.Q(subject__isnull=False),
                name="customer_unique_subject",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_anonymous_visitor(self) -> bool:
        return self.subject is None

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.username:
            return self.username
        if self.email:
            return self.email
        return f"{_('Visitor')} {str(self.id)[:8]}"


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workstream = models.ForeignKey(
        "admin_center.Workstream", on_delete=models.PROTECT, related_name="conversations", verbose_name=_("workstream")
    )
    widget = models.ForeignKey(
        "admin_center.ChatWidget",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("chat widget"),
    )
    queue = models.ForeignKey(
        "routing.Queue", on_delete=models.PROTECT, related_name="conversations", verbose_name=_("queue")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="conversations", verbose_name=_("customer")
    )
    mode = models.CharField(_("mode"), max_length=16, choices=Mode.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    agent = models.ForeignKey(
        "routing.AgentProfile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conversations",
        verbose_name=_("agent"),
    )
    # Units this conversation holds on its agent while active or in wrap-up;
    # fixed when assigned so that later workstream edits cannot unbalance capacity.
    capacity_units = models.PositiveIntegerField(_("capacity units"), default=0)
    last_seq = models.PositiveIntegerField(_("last message number"), default=0)
    customer_returned = models.BooleanField(_("customer returned"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    queued_at = models.DateTimeField(_("queued"), default=timezone.now)
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message"), null=True, blank=True)
    last_customer_message_at = models.DateTimeField(_("last customer message"), null=True, blank=True)
    wrap_up_started_at = models.DateTimeField(_("wrap-up started"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # When the live-chat customer's last socket went away (None while connected).
    customer_left_at = models.DateTimeField(_("customer left"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-updated_at"]
        constraints = [
            # The customer's current conversation. One in wrap-up has ended for the customer: their
            # next message starts a new conversation while the agent finishes the old one.
            models.UniqueConstraint(
                fields=["customer", "workstream"],
                condition=models.Q(state__in=list(CURRENT_STATES)),
                name="one_current_conversation_per_customer_and_workstream",
            ),
            models.CheckConstraint(
                condition=models.Q(state="open") | models.Q(state="closed") | models.Q(agent__isnull=False),
                name="assigned_states_have_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["queue", "state", "queued_at"], name="conv_queue_idx"),
            # a customer's current conversation, looked up for every message they send
            models.Index(fields=["customer", "workstream", "state"], name="conv_customer_idx"),
            models.Index(fields=["agent", "state"], name="conv_agent_idx"),
            models.Index(fields=["state", "updated_at"], name="conv_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} · {self.get_state_display()} · {self.created_at:%Y-%m-%d}"


class Message(models.Model):
    # No index of its own: the unique (conversation, seq) index serves every lookup by conversation,
    # and one index less is one write less per stored message.
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("conversation"),
        db_index=False,
    )
    seq = models.PositiveIntegerField(_("number"))
    client_id = models.CharField(_("client id"), max_length=64, null=True, blank=True)
    sender_role = models.CharField(_("sender role"), max_length=16, choices=Role.choices)
    sender_name = models.CharField(_("sender name"), max_length=255)
    text = models.TextField(_("text"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_unique_seq"),
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=models.Q(client_id__isnull=False),
                name="message_unique_client_id",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.sender_name}: {self.text[:50]}"


class ConversationEvent(models.Model):
    """One state change: from, to, who and when (never edited)."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="events", verbose_name=_("conversation")
    )
    from_state = models.CharField(_("from"), max_length=16, choices=State.choices, blank=True, default="")
    to_state = models.CharField(_("to"), max_length=16, choices=State.choices)
    actor_role = models.CharField(_("actor role"), max_length=16, choices=Role.choices)
    actor_name = models.CharField(_("actor"), max_length=255, blank=True, default="")
    reason = models.CharField(_("reason"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("state change")
        verbose_name_plural = _("state changes")
        ordering = ["conversation", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or '∅'} → {self.to_state} ({self.actor_role} {self.actor_name})"


class Connection(models.Model):
    """One open socket, so that every server process knows who is connected.

    A process refreshes ``heartbeat_at`` of its sockets at each timer sweep;
    rows of a process that died stop being refreshed and are swept as stale.
    """

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Customer widget")
        AGENT = "agent", _("Agent workspace")

    channel_name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="connections")
    widget = models.ForeignKey(
        "admin_center.ChatWidget", on_delete=models.CASCADE, null=True, blank=True, related_name="connections"
    )
    agent = models.ForeignKey(
        "routing.AgentProfile", on_delete=models.CASCADE, null=True, blank=True, related_name="connections"
    )
    ip_address = models.CharField(max_length=64, blank=True, default="")
    connected_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        indexes = [
            models.Index(fields=["customer", "connected_at"], name="conn_customer_idx"),
            models.Index(fields=["agent"], name="conn_agent_idx"),
            models.Index(fields=["ip_address"], name="conn_ip_idx"),
            models.Index(fields=["heartbeat_at"], name="conn_heartbeat_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel_name}"
