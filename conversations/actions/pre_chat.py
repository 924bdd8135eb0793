"""The pre-chat survey: the widget's questions, the customer's answers checked field by field.

Valid answers wait in ``PreChatAnswers`` for the customer's next new conversation (or go to the current
one while it is still ``open``); when a conversation is created they move onto it
(``Conversation.pre_chat``), where the agent's panel and the routing rules read them. A widget with a
required field refuses a customer's first message of a new conversation without them
(``pre_chat_required``).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..errors import ServiceError
from ..models import CURRENT_STATES, Conversation, Customer, PreChatAnswers, State

MAX_ANSWER_CHARS = {"text": 200, "email": 254, "textarea": 2000, "choice": 100}


class SurveyRefused(ServiceError):
    """``bad_request`` with the message of each refused field (``fields``), in the widget's language."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("bad_request", "Some answers are missing or not valid.")
        self.fields = fields


def fields(widget) -> list[dict]:
    """The survey as the widget's ``welcome`` shows it (an empty list when the widget has none)."""
    result = []
    for field in widget.pre_chat or []:
        shown = {
            "name": field["name"],
            "label": field["label"],
            "kind": field["kind"],
            "required": bool(field.get("required", False)),
        }
        if field["kind"] == "choice":
            shown["choices"] = list(field.get("choices") or [])
        result.append(shown)
    return result


def welcome_fields(widget, customer: Customer) -> list[dict] | None:
    """``welcome.widget.pre_chat``: the fields, each with the ``value`` already known about a signed-in
    customer (their name for a field called ``name``, their email for an email field); None without a
    survey."""
    shown = fields(widget)
    if not shown:
        return None
    for field in shown:
        if field["kind"] == "email" and customer.email:
            field["value"] = customer.email
        elif field["name"] in ("name", "full_name") and customer.name:
            field["value"] = customer.name
    return shown


def requires_answers(widget) -> bool:
    return any(field.get("required") for field in widget.pre_chat or [])


def check_answers(widget, answers, language: str = "") -> dict[str, str]:
    """The answers, cleaned; ``SurveyRefused`` naming every field that is missing or of the wrong kind.
    Messages are in the widget's language (``language``: the visitor's, for a widget set to "auto")."""
    if not isinstance(answers, dict):
        raise ServiceError("bad_request", "'answers' must be an object of field names and values.")
    with translation.override(widget.language_for(language)):
        problems: dict[str, str] = {}
        clean: dict[str, str] = {}
        known = {field["name"]: field for field in widget.pre_chat or []}
        for name in answers:
            if name not in known:
                problems[str(name)[:40]] = _("There is no such question.")
        for name, field in known.items():
            value = answers.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                if field.get("required"):
                    problems[name] = _("Please fill in this field.")
                continue
            if not isinstance(value, str):
                problems[name] = _("Enter text.")
                continue
            value = value.strip()
            if len(value) > MAX_ANSWER_CHARS[field["kind"]]:
                problems[name] = _("Use at most %(max)s characters.") % {"max": MAX_ANSWER_CHARS[field["kind"]]}
                continue
            if field["kind"] == "email":
                try:
                    validate_email(value)
                except ValidationError:
                    problems[name] = _("Enter a valid email address.")
                    continue
            elif field["kind"] == "choice" and value not in (field.get("choices") or []):
                problems[name] = _("Choose one of the options.")
                continue
            elif field["kind"] == "text" and ("\n" in value or "\r" in value):
                problems[name] = _("Enter a single line.")
                continue
            clean[name] = value
    if problems:
        raise SurveyRefused(problems)
    return clean


def submit(customer: Customer, widget, answers) -> dict[str, str]:
    """Check and keep the customer's answers for their next new conversation; a current conversation still
    ``open`` (not yet with an agent) takes them at once. An email answer and a ``name`` answer fill the
    customer's unknown email address and name (an anonymous visitor's)."""
    clean = check_answers(widget, answers, customer.language)
    now = timezone.now()
    with transaction.atomic():
        current = (
            Conversation.objects.select_for_update()
            .filter(customer=customer, workstream_id=widget.workstream_id, state__in=CURRENT_STATES)
            .first()
        )
        if current is not None and current.state == State.OPEN:
            current.pre_chat = clean
            current.save(update_fields=["pre_chat"])
        else:
            PreChatAnswers.objects.update_or_create(
                customer=customer, workstream_id=widget.workstream_id, defaults={"answers": clean, "updated_at": now}
            )
        # what an anonymous visitor tells about themselves fills their profile (a signed-in customer's
        # comes from their website's token)
        email = _email_answer(widget, clean)
        if email and not customer.email:
            Customer.objects.filter(pk=customer.pk).update(email=email)
            customer.email = email
        name = clean.get("name") or clean.get("full_name")
        if name and not customer.name:
            Customer.objects.filter(pk=customer.pk).update(name=name[:255])
            customer.name = name[:255]
    return clean


def _email_answer(widget, answers: dict[str, str]) -> str:
    for field in widget.pre_chat or []:
        if field["kind"] == "email" and answers.get(field["name"]):
            return answers[field["name"]]
    return ""


def take_for_new_conversation(customer: Customer, widget, *, required: bool = True) -> dict[str, str]:
    """The answers a conversation being created takes (inside its transaction): the waiting answers,
    removed; ``pre_chat_required`` when the widget has a required field and there are none (unless not
    ``required``: a message left when nobody was available needs only the email address)."""
    pending = PreChatAnswers.objects.filter(customer=customer, workstream_id=widget.workstream_id).first()
    if pending is None:
        if required and requires_answers(widget):
            raise ServiceError("pre_chat_required", "Answer the questions before your first message.")
        return {}
    pending.delete()
    return dict(pending.answers)
