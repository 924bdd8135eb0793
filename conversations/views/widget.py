"""The customer chat widget's frame page: ``/widget/<public_id>/frame/``.

A website embeds the widget with one tag (the admin center shows it)::

    <script src="{origin}/static/widget/loader.js" data-parley-widget="{public_id}" async></script>

``static/widget/loader.js`` adds the launcher button and an iframe of this
page; the page runs ``static/widget/widget.js``, which speaks the customer
socket ``/ws/widget/<public_id>/`` (PROTOCOL.md). Everything live goes over
that socket; this view only serves the page, its settings and its translated
strings, and says which sites may frame it (``Content-Security-Policy:
frame-ancestors``).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from admin_center.models import ChatWidget, visitor_language

from ..origins import normalise_origin
from .journey_strings import journey_strings
from .plurals import plural_forms

# A CSP source expression for one origin: scheme://host[:port], nothing that could break the header.
ORIGIN_RE = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOR = "#2563eb"


def ui_strings() -> dict[str, str]:
    """Every string widget.js and loader.js show, in the active language."""
    return {
        "open_chat": _("Open chat"),
        "close_chat": _("Close chat"),
        "minimize": _("Minimize"),
        "unread": plural_forms(lambda n: ngettext("%(count)s unread message", "%(count)s unread messages", n)),
        "connecting": _("Connecting…"),
        "reconnecting": _("Connection lost. Reconnecting…"),
        "signing_in": _("Signing in…"),
        "signin_needed": _("Sign in on the website to chat with us."),
        "elsewhere": _("This chat is open in too many windows. Close some of them and try again."),
        "online": _("We're online"),
        "offline": _("We're offline"),
        "waiting_agent": _("Waiting for an agent…"),
        "queue_status": _("Number %(position)s in line"),
        "no_agent_status": _("No agent is available right now"),
        "with_agent": _("Chatting with %(name)s"),
        "persistent_status": _("We'll reply here"),
        "persistent_info": _(
            "Your conversation stays open: close this window and come back any time; we'll reply here."
        ),
        "welcome_live": _("Hi! Ask us anything; an agent answers here as soon as one is free."),
        "placeholder": _("Write a message…"),
        "send": _("Send"),
        "sending": _("Sending…"),
        "not_sent": _("Not sent"),
        "retry": _("Retry"),
        "discard": _("Discard"),
        "typing": _("%(name)s is typing…"),
        "agent": _("Agent"),
        "you": _("You"),
        "system": _("System"),
        "load_older": _("Loading earlier messages…"),
        "start_of_history": _("Start of the conversation"),
        "end_chat": _("End chat"),
        "end_confirm_title": _("End this chat?"),
        "end_confirm_body": _("The agent will be told you left, and the chat will close."),
        "cancel": _("Cancel"),
        "ended": _("Chat ended"),
        "ended_panel": _("Thanks for chatting with us! Need anything else? Start a new chat any time."),
        "ended_persistent": _("This conversation was closed. Write a message to start a new one."),
        "download_transcript": _("Download transcript"),
        "new_chat": _("Start a new chat"),
        "offline_title": _("We're offline right now"),
        "offline_body": _("Our agents are away at the moment. Please come back during business hours."),
        "too_long": _("The message is longer than %(max)s characters."),
        "transcript_title": _("Chat transcript: %(title)s"),
        "transcript_saved": _("Saved on %(date)s"),
        "new_message_from": _("New message from %(name)s: %(text)s"),
        "message_log": _("Messages"),
        "message_input": _("Your message"),
    }


def allowed_parent_origins(widget: ChatWidget) -> list[str]:
    """The widget's allowed origins that are valid CSP sources, normalised."""
    origins = []
    for origin in widget.allowed_origins or []:
        if isinstance(origin, str):
            normalised = normalise_origin(origin)
            if ORIGIN_RE.match(normalised) and normalised not in origins:
                origins.append(normalised)
    return origins


def parent_origin(request: HttpRequest, widget: ChatWidget) -> str | None:
    """The embedding page's origin as the loader reports it, if it may embed
    this widget (Parley's own origin always may). The frame talks to its
    parent only with postMessage addressed to this exact origin."""
    claimed = request.GET.get("origin", "")
    if not claimed:
        return None
    claimed = normalise_origin(claimed)
    own = normalise_origin(f"{request.scheme}://{request.get_host()}")
    if claimed == own or claimed in allowed_parent_origins(widget):
        return claimed
    return None


def logo_origin(widget: ChatWidget) -> list[str]:
    """The origin the widget's logo loads from (for img-src), if it is a plain http(s) origin."""
    if not widget.logo_url:
        return []
    origin = normalise_origin(widget.logo_url)
    return [origin] if origin and ORIGIN_RE.match(origin) else []


def frame_policy(request: HttpRequest, widget: ChatWidget) -> str:
    """The frame's Content-Security-Policy: only the allowed sites may frame
    it and it loads nothing from other hosts."""
    host = request.get_host()
    socket_scheme = "wss" if request.is_secure() else "ws"
    ancestors = " ".join(["'self'", *allowed_parent_origins(widget)])
    images = " ".join(["'self'", "data:", *logo_origin(widget)])
    return (
        f"frame-ancestors {ancestors}; default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {images}; connect-src 'self' {socket_scheme}://{host}; "
        "base-uri 'none'; form-action 'none'; object-src 'none'"
    )


def widget_language(request: HttpRequest, widget: ChatWidget) -> str:
    """The widget's language; for "auto" the visitor's: the embedding page's ``lang`` (the loader passes
    it), else the browser's Accept-Language, among the supported ones, else English."""
    return widget.language_for(
        visitor_language(request.GET.get("lang", ""), request.headers.get("Accept-Language", ""))
    )


def readable_on(color: str) -> str:
    """White or near-black text, whichever has the higher WCAG contrast on ``color`` (#rrggbb)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 else "#111827"


@require_GET
@never_cache
@xframe_options_exempt
def frame(request: HttpRequest, public_id: str) -> HttpResponse:
    widget = (
        ChatWidget.objects.select_related("workstream", "authentication")
        .filter(public_id=public_id, enabled=True)
        .first()
    )
    if widget is None:
        raise Http404("No such chat widget.")
    workstream = widget.workstream
    color = widget.color if COLOR_RE.match(widget.color or "") else DEFAULT_COLOR
    language = widget_language(request, widget)
    with translation.override(language):
        config = {
            "publicId": widget.public_id,
            "title": widget.title,
            "color": color,
            "onColor": readable_on(color),
            "logoUrl": widget.logo_url if widget.logo_url.startswith(("https://", "http://")) else "",
            "language": language,
            "mode": workstream.mode,
            "customerCanEnd": not workstream.persistent,
            "auth": widget.authentication is not None,
            "authFunction": widget.authentication.javascript_function if widget.authentication else None,
            "parentOrigin": parent_origin(request, widget),
            # a widget in the visitor's language tells its socket which one, for the server's notices
            "wsPath": f"/ws/widget/{widget.public_id}/"
            + (f"?lang={language}" if widget.language == ChatWidget.Language.AUTO else ""),
            "maxChars": settings.PARLEY_MAX_TEXT_CHARS,
            "maxUploadBytes": settings.PARLEY_MAX_UPLOAD_BYTES,
        }
        response = render(
            request,
            "widget/frame.html",
            {
                "widget": widget,
                "language": language,
                "config": config,
                "strings": {**ui_strings(), **journey_strings()},
                "mode": workstream.mode,
            },
        )
    response["Content-Security-Policy"] = frame_policy(request, widget)
    return response


urlpatterns = [
    path("widget/<slug:public_id>/frame/", frame, name="widget-frame"),
]
