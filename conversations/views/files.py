"""Files, transcripts and the unsubscribe link over HTTP (../PROTOCOL.md "Version 2 additions").

- ``POST /files/widget/<public_id>/``: a customer's upload (``Authorization: Bearer <upload token>``).
- ``POST /files/workspace/``: an agent's upload (session and CSRF token).
- ``GET /files/<id>/``: a file, for the conversation's customer and agents only (signed address, upload
  token or agent session); ``Content-Disposition: attachment`` except safe raster images, never HTML/SVG.
- ``GET /files/widget/<public_id>/transcript/<conversation_id>/?format=txt|html``: the customer's transcript.
- ``GET /workspace/transcript/<conversation_id>/?format=txt|html&notes=1``: an agent's or admin's transcript.
- ``GET|POST /email/unsubscribe/<token>/``: one-click unsubscribe (RFC 8058).

The rules live in ``conversations.actions``; these views authenticate, call one action and answer.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from admin_center.models import ChatWidget
from routing.models import AgentProfile

from ..actions import files, notifications, transcripts
from ..errors import ServiceError

# Multipart framing around the file: a request this much over the limit is refused before it is read.
MULTIPART_ALLOWANCE = 64 * 1024
HTTP_STATUS = {"not_found": 404, "not_allowed": 403, "auth_required": 401, "bad_request": 400}
# A file answer: nothing in it may run or load anything, whatever a browser makes of it.
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def _json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"type": "error", "code": code, "message": message}, status=status)


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def _widget(public_id: str) -> ChatWidget | None:
    return ChatWidget.objects.select_related("workstream").filter(public_id=public_id, enabled=True).first()


def _agent(request: HttpRequest) -> AgentProfile | None:
    if not request.user.is_authenticated:
        return None
    return AgentProfile.objects.select_related("user").filter(user=request.user).first()


def _too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return length > settings.PARLEY_MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE


def _store(request: HttpRequest, **owner) -> JsonResponse:
    if _too_large(request):
        return _json_error(413, "too_large", files.too_large_message())
    upload = request.FILES.get("file")
    if upload is None:
        return _json_error(400, "bad_request", "Send the file as the multipart field 'file'.")
    try:
        attachment = files.store_upload(upload, **owner)
    except files.UploadRefused as refused:
        return _json_error(refused.status, refused.code, refused.message)
    return JsonResponse(files.upload_dict(attachment), status=201)


@csrf_exempt  # authenticated by the upload token in a header, which a cross-site form cannot send
@require_POST
def widget_upload(request: HttpRequest, public_id: str) -> HttpResponse:
    widget = _widget(public_id)
    if widget is None:
        return _json_error(404, "not_found", "No such chat widget.")
    customer = files.customer_from_upload_token(_bearer(request), widget)
    if customer is None:
        return _json_error(401, "auth_required", "Send the upload token from 'welcome' as a Bearer token.")
    with translation.override(widget.language_for(customer.language)):
        return _store(request, customer=customer)


@require_POST
def workspace_upload(request: HttpRequest) -> HttpResponse:
    agent = _agent(request)
    if agent is None:
        return _json_error(403, "not_allowed", "Sign in as an agent to upload files.")
    return _store(request, agent=agent)


@require_GET
def serve(request: HttpRequest, attachment_id: str) -> HttpResponse:
    customer = None
    token = _bearer(request)
    public_id = request.GET.get("widget")
    if token and public_id:
        widget = _widget(public_id)
        customer = files.customer_from_upload_token(token, widget) if widget else None
    user = request.user if request.user.is_authenticated else None
    attachment = files.readable_attachment(
        attachment_id,
        expires=request.GET.get("expires"),
        sig=request.GET.get("sig"),
        customer=customer,
        agent=_agent(request),
        user=user,
    )
    if attachment is None:
        return _json_error(404, "not_found", "No such file, or not yours to read.")
    inline = attachment.content_type in files.INLINE_TYPES
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_POLICY
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _transcript_response(conversation, fmt: str, body: str) -> HttpResponse:
    content_type = "text/plain; charset=utf-8" if fmt == "txt" else "text/html; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{transcripts.filename(conversation, fmt)}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@never_cache
def widget_transcript(request: HttpRequest, public_id: str, conversation_id: str) -> HttpResponse:
    widget = _widget(public_id)
    if widget is None:
        return _json_error(404, "not_found", "No such chat widget.")
    customer = files.customer_from_upload_token(_bearer(request), widget)
    if customer is None:
        return _json_error(401, "auth_required", "Send the upload token from 'welcome' as a Bearer token.")
    fmt = request.GET.get("format", "txt")
    try:
        conversation = transcripts.customer_conversation(customer, widget, conversation_id)
        body = transcripts.render(conversation, fmt)
    except ServiceError as error:
        return _json_error(HTTP_STATUS.get(error.code, 400), error.code, error.message)
    return _transcript_response(conversation, fmt, body)


@require_GET
@never_cache
def staff_transcript(request: HttpRequest, conversation_id: str) -> HttpResponse:
    if not request.user.is_authenticated:
        return _json_error(401, "auth_required", "Sign in first.")
    fmt = request.GET.get("format", "txt")
    try:
        conversation = transcripts.staff_conversation(conversation_id, agent=_agent(request), user=request.user)
        body = transcripts.render(
            conversation, fmt, with_notes=request.GET.get("notes") in ("1", "true"), language=translation.get_language()
        )
    except ServiceError as error:
        return _json_error(HTTP_STATUS.get(error.code, 400), error.code, error.message)
    return _transcript_response(conversation, fmt, body)


@csrf_exempt  # RFC 8058: mail programs post the one-click form without cookies; the signed link is the proof
@require_http_methods(["GET", "POST"])
@never_cache
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners follow links; only a POST unsubscribes); POST unsubscribes."""
    if request.method == "GET":
        try:
            notifications.link_for(token)
        except notifications.UnsubscribeRefused:
            return render(request, "email/unsubscribe.html", {"state": "forged"}, status=400)
        return render(request, "email/unsubscribe.html", {"state": "confirm"})
    try:
        notifications.unsubscribe(token)
    except notifications.UnsubscribeRefused as refused:
        status = 410 if refused.reason == "used" else 400
        return render(request, "email/unsubscribe.html", {"state": refused.reason}, status=status)
    return render(request, "email/unsubscribe.html", {"state": "done"})


urlpatterns = [
    path("files/widget/<slug:public_id>/", widget_upload, name="files-widget-upload"),
    path(
        "files/widget/<slug:public_id>/transcript/<str:conversation_id>/",
        widget_transcript,
        name="files-widget-transcript",
    ),
    path("files/workspace/", workspace_upload, name="files-workspace-upload"),
    path("files/<str:attachment_id>/", serve, name="files-serve"),
    path("workspace/transcript/<str:conversation_id>/", staff_transcript, name="workspace-transcript"),
    path("email/unsubscribe/<str:token>/", unsubscribe, name="email-unsubscribe"),
]
