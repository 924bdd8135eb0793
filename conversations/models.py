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
    # The ``context`` claim of the customer's latest verified token: a new conversation starts with it.
    context = models.JSONField(_("context"), default=dict, blank=True)
    # the language their widget last spoke to them (a widget set to "auto" follows the visitor's page or
    # browser): emails and other texts sent while they are away use it
    language = models.CharField(_("language"), max_length=8, blank=True, default="", editable=False)

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
    # A live customer left a message when nobody was available: the conversation waits for an agent
    # however long the customer is away, and the answer reaches them by email.
    left_message = models.BooleanField(_("message left"), default=False)
    # The client address the customer started it from: new conversations per address and hour are limited
    # (PARLEY_NEW_CONVERSATIONS_PER_IP_HOUR, docs/security.md).
    opened_from = models.CharField(_("opened from (address)"), max_length=64, blank=True, default="", editable=False)
    # The latest verified ``context`` claim of the customer's JWT (signed by the website: order number,
    # plan, tier ...) and the pre-chat survey's answers; shown to agents only, read by routing rules.
    context = models.JSONField(_("customer context"), default=dict, blank=True)
    pre_chat = models.JSONField(_("pre-chat answers"), default=dict, blank=True)

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
            # the limits on new conversations per address and per widget (actions/messages.py)
            models.Index(fields=["opened_from", "created_at"], name="conv_opened_from_idx"),
            models.Index(fields=["widget", "created_at"], name="conv_widget_created_idx"),
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
    # An anonymous visitor's id before their row is stored (with their first message): their sockets are
    # counted (PARLEY_MAX_SOCKETS_PER_CUSTOMER) and take ``customer`` when the row is stored.
    visitor = models.UUIDField(null=True, blank=True, editable=False)
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
            models.Index(fields=["visitor"], name="conn_visitor_idx"),
            models.Index(fields=["agent"], name="conn_agent_idx"),
            models.Index(fields=["ip_address"], name="conn_ip_idx"),
            models.Index(fields=["heartbeat_at"], name="conn_heartbeat_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel_name}"


# --- the customer's journey: files, ratings, survey answers, email to an absent customer (issue 15) ---


def attachment_path(instance: Attachment, filename: str) -> str:
    """Where the storage keeps a file: by upload month and a random name, never the customer's file name."""
    return f"attachments/{timezone.now():%Y/%m}/{instance.id.hex}{instance.extension}"


class Attachment(models.Model):
    """A file uploaded by a customer (widget) or an agent (workspace).

    It is an *upload* until a message takes it (``message`` set in the message's transaction); uploads
    never attached are deleted after ``PARLEY_UPLOAD_TTL`` seconds. The content type is the one found in
    the file's bytes, never the one its name or the browser claimed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size"))
    content_type = models.CharField(_("content type"), max_length=100)
    extension = models.CharField(_("extension"), max_length=10, blank=True, default="")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="uploads", verbose_name=_("customer")
    )
    agent = models.ForeignKey(
        "routing.AgentProfile",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="uploads",
        verbose_name=_("agent"),
    )
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("message"),
    )
    conversation = models.ForeignKey(
        Conversation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("conversation"),
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["message"], name="attachment_message_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.content_type}, {self.size} B)"


class Rating(models.Model):
    """The customer's rating of one conversation (a second rating replaces the first)."""

    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="rating", verbose_name=_("conversation")
    )
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True, default="")
    created_at = models.DateTimeField(_("rated"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="rating_score_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{'★' * self.score}{'☆' * (5 - self.score)}"


class PreChatAnswers(models.Model):
    """A customer's valid survey answers that wait for their next new conversation."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="pre_chat_answers")
    workstream = models.ForeignKey("admin_center.Workstream", on_delete=models.CASCADE, related_name="+")
    answers = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("pre-chat answers")
        verbose_name_plural = _("pre-chat answers")
        constraints = [
            models.UniqueConstraint(fields=["customer", "workstream"], name="pre_chat_answers_once"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.answers}"


class ReadMark(models.Model):
    """The last ``seq`` of a conversation that reached a socket of its customer: what they have seen.

    Set when a socket of theirs says hello (the welcome holds the latest messages) and when their last
    socket closes (every message until then was delivered live). The email to an absent customer covers
    only agent messages after it."""

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="read_mark")
    seen_seq = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("read mark")
        verbose_name_plural = _("read marks")

    def __str__(self) -> str:
        return f"{self.conversation_id} seen up to {self.seen_seq}"


class EmailNotification(models.Model):
    """One email sent to an absent customer: which messages it held, to whom, when."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="email_notifications", verbose_name=_("conversation")
    )
    to = models.CharField(_("to"), max_length=255)
    first_seq = models.PositiveIntegerField(_("first message"))
    last_seq = models.PositiveIntegerField(_("last message"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("email notification")
        verbose_name_plural = _("email notifications")
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["conversation", "sent_at"], name="email_conversation_idx")]

    def __str__(self) -> str:
        return f"{self.to} #{self.first_seq}-{self.last_seq}"


class EmailOptOut(models.Model):
    """A customer who unsubscribed from Parley's emails (one click in an email, or in the widget)."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="email_opt_out")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("email opt-out")
        verbose_name_plural = _("email opt-outs")

    def __str__(self) -> str:
        return str(self.customer_id)


class UnsubscribeLink(models.Model):
    """The one-click unsubscribe link of one email (RFC 8058): signed, and good for one use."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="unsubscribe_links")
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("unsubscribe link")
        verbose_name_plural = _("unsubscribe links")

    def __str__(self) -> str:
        return str(self.id)


class Offer(models.Model):
    """Routing offered a conversation to an agent who must accept it (a workstream without auto-accept).

    While ``pending`` the offer holds ``capacity_units`` on the agent (``AgentProfile.used_capacity``) and
    the conversation stays ``open``; accepting makes it ``active`` and the agent's. Declined, expired and
    withdrawn offers are kept: routing offers a conversation to someone who has not had it before first.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="offers", verbose_name=_("conversation")
    )
    agent = models.ForeignKey(
        "routing.AgentProfile", on_delete=models.CASCADE, related_name="offers", verbose_name=_("agent")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    capacity_units = models.PositiveIntegerField(_("capacity units reserved"), default=0)
    created_at = models.DateTimeField(_("offered"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["-created_at"]
        constraints = [
            # one pending offer per conversation: never offered to two agents at once
            models.UniqueConstraint(
                fields=["conversation"], condition=models.Q(status="pending"), name="one_pending_offer_per_conversation"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="offer_status_idx"),
            models.Index(fields=["agent", "status"], name="offer_agent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} → {self.agent_id} ({self.status})"


# --- agents working together: internal notes and consultations (issue 14) ---


class Note(models.Model):
    """An internal note between agents: stored apart from messages (it takes no ``seq``, so the
    customer's numbering stays gap-free) and never sent to the customer. ``after_seq`` is the last
    message the customer could see when it was written: where the workspace shows it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="notes", verbose_name=_("conversation")
    )
    after_seq = models.PositiveIntegerField(_("after message"))
    author = models.ForeignKey(
        "routing.AgentProfile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notes",
        verbose_name=_("author"),
    )
    author_name = models.CharField(_("author name"), max_length=255)
    text = models.TextField(_("text"))
    client_id = models.CharField(_("client id"), max_length=64)
    created_at = models.DateTimeField(_("written"), default=timezone.now)

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ["conversation", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "client_id"], name="note_unique_client_id"),
        ]
        indexes = [models.Index(fields=["conversation", "created_at"], name="note_conversation_idx")]

    def __str__(self) -> str:
        return f"{self.author_name} after #{self.after_seq}: {self.text[:50]}"


class Consultation(models.Model):
    """An agent invited to help with a conversation that is not theirs: they follow it live and write
    notes, never messages to the customer, and it costs them no capacity. ``ended_at`` is set when
    either side ends it or the conversation closes."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="consultations", verbose_name=_("conversation")
    )
    agent = models.ForeignKey(
        "routing.AgentProfile", on_delete=models.CASCADE, related_name="consultations", verbose_name=_("consultant")
    )
    invited_by = models.ForeignKey(
        "routing.AgentProfile",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("invited by"),
    )
    created_at = models.DateTimeField(_("invited"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("consultation")
        verbose_name_plural = _("consultations")
        ordering = ["conversation", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "agent"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_consultation_per_agent",
            ),
        ]
        indexes = [models.Index(fields=["agent", "ended_at"], name="consultation_agent_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} consults on {self.conversation_id}"
