"""The API's shapes: the protocol's objects (../shared/PROTOCOL.md "Shared objects"), built by the same
functions the sockets use; the declared fields describe them in the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from ..models import State
from ..serializers import integration_summary, iso, message_dict


class RefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class WorkstreamRefSerializer(RefSerializer):
    distribution = serializers.ChoiceField(choices=["push", "pick"])


class MessageSerializer(serializers.Serializer):
    """A Message of the protocol."""

    id = serializers.CharField()
    conversation_id = serializers.CharField()
    seq = serializers.IntegerField()
    sender = RefSerializer(help_text="role (customer, agent, system) and name")
    text = serializers.CharField()
    sent_at = serializers.DateTimeField()
    client_id = serializers.CharField(allow_null=True)
    attachments = serializers.ListField(child=serializers.DictField())

    def to_representation(self, message):
        return message_dict(message)


class NoteSerializer(serializers.Serializer):
    """An internal note (agents only; never part of anything the customer sees)."""

    id = serializers.CharField()
    conversation_id = serializers.CharField()
    after_seq = serializers.IntegerField()
    author = RefSerializer(allow_null=True)
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    client_id = serializers.CharField()

    def to_representation(self, note):
        return {
            "id": str(note.id),
            "conversation_id": str(note.conversation_id),
            "after_seq": note.after_seq,
            "author": {"id": str(note.author_id), "name": note.author_name} if note.author_id else None,
            "text": note.text,
            "created_at": iso(note.created_at),
            "client_id": note.client_id,
        }


def conversation_dict(conversation) -> dict:
    """The agents' conversation summary (``serializers.integration_summary``, as webhooks send it)."""
    return integration_summary(conversation)


class ConversationSerializer(serializers.Serializer):
    """A conversation summary as agents see it."""

    id = serializers.CharField()
    state = serializers.ChoiceField(choices=State.values)
    mode = serializers.ChoiceField(choices=["live", "persistent"])
    workstream = WorkstreamRefSerializer()
    customer = RefSerializer()
    agent = RefSerializer(allow_null=True)
    queue = RefSerializer()
    context = serializers.DictField()
    pre_chat = serializers.DictField()
    last_seq = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, conversation):
        return conversation_dict(conversation)


class ConversationDetailSerializer(ConversationSerializer):
    """A conversation with its latest messages (all of them: ``/messages/``) and its internal notes."""

    messages = MessageSerializer(many=True)
    messages_has_more = serializers.BooleanField()
    notes = NoteSerializer(many=True)


class CustomerSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    username = serializers.CharField()
    subject = serializers.CharField(allow_null=True, help_text="the JWT sub of a signed-in customer")
    authenticated = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    conversations = ConversationSerializer(many=True)
    conversations_has_more = serializers.BooleanField()


def customer_dict(customer) -> dict:
    return {
        "id": str(customer.id),
        "name": customer.display_name,
        "email": customer.email,
        "username": customer.username,
        "subject": customer.subject,
        "authenticated": customer.subject is not None,
        "created_at": iso(customer.created_at),
        "last_seen_at": iso(customer.last_seen_at),
    }


class ConversationFilterSerializer(serializers.Serializer):
    """The list's query parameters."""

    state = serializers.CharField(required=False, help_text="a state, or several separated by commas")
    queue = serializers.IntegerField(required=False, min_value=1, help_text="queue id")
    agent = serializers.IntegerField(required=False, min_value=1, help_text="agent id")
    customer = serializers.UUIDField(required=False, help_text="customer id")
    updated_after = serializers.DateTimeField(required=False, help_text="ISO 8601; conversations changed later")

    def validate_state(self, value: str) -> list[str]:
        states = [state.strip() for state in value.split(",") if state.strip()]
        unknown = [state for state in states if state not in State.values]
        if unknown or not states:
            raise serializers.ValidationError(f"Use one or more of {', '.join(State.values)}.")
        return states


class AgentMessageSerializer(serializers.Serializer):
    """``POST`` an agent's message: the socket's ``send`` frame without ``type``."""

    client_id = serializers.CharField(help_text="1-64 characters; a repeated client_id stores nothing again")
    text = serializers.CharField(help_text="1-4000 characters after trimming", trim_whitespace=False)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(required=False)


class ReportFilterSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="first day (YYYY-MM-DD)")
    end = serializers.DateField(help_text="last day, inclusive (at most 366 days)")
    queue = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)
