"""The agent workspace: the page at /workspace/ and its read-only JSON
endpoints. Everything live (conversations, queue, presence, capacity) goes
over the agent socket ``/ws/agent/`` (PROTOCOL.md); these views only serve the
page, its translated strings and the customer panel.

Rules live in ``conversations.actions``: the views authenticate, look up the
agent profile and translate ``ServiceError`` codes into HTTP answers.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import get_language, ngettext, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from routing.models import AgentProfile, Presence

from ..actions import reading
from ..errors import ServiceError
from .journey_strings import journey_strings
from .plurals import plural_forms
from .together_strings import together_strings

HTTP_STATUS = {"not_found": 404, "not_allowed": 403, "auth_required": 401, "bad_request": 400}


def _agent_profile(user) -> AgentProfile | None:
    return AgentProfile.objects.filter(user=user).first() if user.is_authenticated else None


def agent_required(view):
    """Signed-in agents only: anonymous users go to the sign-in page, users
    without an agent profile get a 403 page that says why."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        agent = _agent_profile(request.user)
        if agent is None:
            return render(request, "workspace/no_agent.html", status=403)
        return view(request, agent, *args, **kwargs)

    return wrapper


def api_agent_required(view):
    """As ``agent_required`` for JSON endpoints: errors are protocol-style JSON."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return _error("auth_required", _("Sign in to use the workspace."))
        agent = _agent_profile(request.user)
        if agent is None:
            return _error("not_allowed", _("Your account has no agent profile."))
        return view(request, agent, *args, **kwargs)

    return wrapper


def _error(code: str, message: str) -> JsonResponse:
    return JsonResponse({"type": "error", "code": code, "message": message}, status=HTTP_STATUS.get(code, 400))


def ui_strings() -> dict[str, str]:
    """Every string the workspace's modules (static/workspace/) show, translated into the request's language."""
    return {
        # one conversation's state badge (singular; the list's group headings are plural in Russian)
        "state_open": pgettext("a conversation's state", "Open"),
        "state_active": pgettext("a conversation's state", "Active"),
        "state_waiting": pgettext("a conversation's state", "Waiting"),
        "state_wrap_up": pgettext("a conversation's state", "Wrap-up"),
        "state_closed": pgettext("a conversation's state", "Closed"),
        "connected": _("Connected"),
        "connecting": _("Connecting…"),
        "reconnecting": _("Reconnecting…"),
        "active": _("Active"),
        "waiting": _("Waiting"),
        "wrap_up": _("Wrap-up"),
        "open": _("Open"),
        "closed": _("Closed"),
        "live": _("Live"),
        "persistent": _("Persistent"),
        "pick": _("Pick"),
        "no_capacity": _("No free capacity"),
        "no_capacity_detail": _("Needs %(units)s capacity units; you have %(free)s free."),
        "queue_empty": _("Nobody is waiting in your queues."),
        "group_empty": _("None"),
        "load_more": _("Show more"),
        "loading_more": _("Loading…"),
        "queue_more": _("The %(shown)s oldest of %(total)s are shown."),
        "no_messages": _("No messages yet."),
        "you": _("You"),
        "sending": _("Sending…"),
        "not_sent": _("Not sent"),
        "retry": _("Retry"),
        "discard": _("Discard"),
        "typing": _("%(name)s is typing…"),
        "load_older": _("Loading earlier messages…"),
        "start_of_history": _("Start of the conversation"),
        "new_assignment": _("New conversation assigned"),
        "new_assignment_body": _("%(name)s is waiting for your answer."),
        "customer_returned": _("Customer returned"),
        "customer_returned_body": _("%(name)s is back in a waiting conversation."),
        "customer_ended": _("The customer ended the chat"),
        "customer_ended_body": _("%(name)s ended the chat."),
        "end_confirm_body": _("%(name)s will be told that the conversation has ended."),
        "returned_badge": _("Returned"),
        "open_conversation": _("Open"),
        "dismiss": _("Dismiss"),
        "closed_readonly": _("This conversation is closed and read-only."),
        "reply_waiting": _("This conversation is waiting. Resume it to reply."),
        "reply_wrap_up": _("The conversation has ended. Close the wrap-up when you are done."),
        "set_aside_live": _("Live chat has no waiting state: end the conversation instead."),
        "set_aside_state": _("Only an active conversation can be set aside."),
        "resume_state": _("Only a waiting conversation can be resumed."),
        "end_state": _("Only an active or waiting conversation can be ended."),
        "close_state": _("Only a conversation in wrap-up can be closed."),
        "too_long": _("The message is longer than %(max)s characters."),
        "capacity": _("%(used)s of %(total)s used"),
        "last_customer": _("Customer wrote %(when)s"),
        "no_customer_message": _("No customer message yet"),
        "never": _("never"),
        "panel_loading": _("Loading customer…"),
        "panel_failed": _("The customer details could not be loaded."),
        "authenticated": _("Authenticated"),
        "anonymous": _("Anonymous visitor"),
        "no_earlier": _("No earlier conversations."),
        "messages_count": plural_forms(lambda n: ngettext("%(count)s message", "%(count)s messages", n)),
        "error": _("Error"),
        "picked": _("Conversation picked"),
        "sound_on": _("Sound on"),
        "sound_off": _("Sound off"),
        "notifications_enabled": _("Desktop notifications are on."),
        "notifications_denied": _("Desktop notifications are blocked in your browser settings."),
        "unassigned": _("This conversation was reassigned to another agent."),
        "set_aside_tip": _(
            "Set aside: moves the conversation to Waiting and frees your capacity. "
            "The customer keeps the conversation and comes back to you."
        ),
        "resume_tip": _("Resume: back to Active. Always allowed, even past your capacity."),
        "end_tip": _("End the conversation for the customer."),
        "close_tip": _("Close the wrap-up: the conversation becomes read-only."),
        "not_connected": _("Not connected. The action is possible again once the workspace reconnects."),
        "composer_disabled_offline": _("Not connected: your reply is kept and sent on reconnect."),
        "just_now": _("just now"),
        "minutes_ago": _("%(n)s min ago"),
        "hours_ago": _("%(n)s h ago"),
        "days_ago": _("%(n)s d ago"),
        "unread": plural_forms(lambda n: ngettext("%(count)s unread message", "%(count)s unread messages", n)),
        "older_failed": _("Earlier messages could not be loaded."),
        "customer_role": _("Customer"),
        "picked_elsewhere": _("Another agent picked this conversation first."),
        "offer_title": _("New conversation offered"),
        "offer_body": _("%(name)s is waiting. Accept to take the conversation."),
        "offer_expires_in": _("%(seconds)s s left"),
        "offer_expired": _("The offer expired; the conversation goes to another agent."),
        "offer_withdrawn": _("The offer was withdrawn: the customer left or someone else took it."),
        "accept": _("Accept"),
        "decline": _("Decline"),
        "away_offers_expired": _("You were set to Away"),
        "away_offers_expired_body": plural_forms(
            lambda n: ngettext(
                "%(count)s offer in a row expired without an answer. Set yourself Available when you are back.",
                "%(count)s offers in a row expired without an answer. Set yourself Available when you are back.",
                n,
            )
        ),
        "presence_set_by": _("%(name)s set your presence to %(status)s."),
        "presence_available": _("Available"),
        "presence_busy": _("Busy"),
        "presence_away": _("Away"),
        "presence_offline": _("Offline"),
    }


@require_GET
@never_cache
@agent_required
def workspace(request: HttpRequest, agent: AgentProfile) -> HttpResponse:
    return render(
        request,
        "workspace/index.html",
        {
            "agent": agent,
            "presences": Presence.choices,
            "ui_strings": {**ui_strings(), **journey_strings(), **together_strings()},
            "max_text_chars": settings.PARLEY_MAX_TEXT_CHARS,
            "ws_config": {
                "socket_path": "/ws/agent/",
                "panel_url": reverse("workspace-customer", args=["00000000-0000-0000-0000-000000000000"]),
                "earlier_url": reverse(
                    "workspace-earlier",
                    args=["00000000-0000-0000-0000-000000000000", "11111111-1111-1111-1111-111111111111"],
                ),
                "max_text_chars": settings.PARLEY_MAX_TEXT_CHARS,
                "agent_id": str(agent.id),
                "language": get_language(),
            },
        },
    )


@require_GET
@never_cache
@api_agent_required
def customer_panel(request: HttpRequest, agent: AgentProfile, conversation_id: str) -> HttpResponse:
    try:
        data = reading.customer_panel(agent, conversation_id)
    except ServiceError as error:
        return _error(error.code, error.message)
    return JsonResponse(data)


@require_GET
@never_cache
@api_agent_required
def earlier_conversation(
    request: HttpRequest, agent: AgentProfile, conversation_id: str, other_id: str
) -> HttpResponse:
    """One of the customer's earlier conversations, read-only, opened from the customer panel."""
    try:
        data = reading.earlier_conversation(agent, conversation_id, other_id)
    except ServiceError as error:
        return _error(error.code, error.message)
    return JsonResponse(data)


urlpatterns = [
    path("workspace/", workspace, name="workspace"),
    path("workspace/api/conversations/<str:conversation_id>/customer/", customer_panel, name="workspace-customer"),
    path(
        "workspace/api/conversations/<str:conversation_id>/earlier/<str:other_id>/",
        earlier_conversation,
        name="workspace-earlier",
    ),
]
