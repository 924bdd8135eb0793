"""The admin center's "Test this widget" page: the widget embedded on a page of the server itself.

A page of Parley's own origin may always open a widget's socket (``conversations.origins``), so any
widget can be tried here whatever its allowed origins are.

A widget with an authentication setting needs a token signed by the website's private key, which Parley
never holds. The page therefore signs test tokens only with a key the server already holds for this
purpose: the test key pair (``admin_center.demo_keys``, the pair ``setup_demo`` generates into
PARLEY_DEMO_KEY_DIR), and only when the setting trusts that pair's public key (as its key without kid or
under a kid). No private key is ever pasted into, sent to or shown by the admin center. For any other
setting the page says how to add the test public key (its PEM is shown) or to test on the website.
"""

from __future__ import annotations

import time
from pathlib import Path

import jwt
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from admin_center.demo_keys import PRIVATE_NAME, PUBLIC_NAME, signing_key
from admin_center.models import ChatAuthenticationSetting, ChatWidget
from admin_center.signing_keys import pem_fingerprint

# Test tokens live this long and name this test customer (``sub``), one per administrator.
TEST_TOKEN_SECONDS = 600
TEST_SUBJECT_PREFIX = "admin-test-"


def held_test_key() -> tuple[str, str] | None:
    """``(private_pem, public_pem)`` of the server's test key pair if it exists; never generated here."""
    directory = Path(settings.PARLEY_DEMO_KEY_DIR)
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    if not (private_path.is_file() and public_path.is_file()):
        return None
    return private_path.read_text(), public_path.read_text()


def test_signer(setting: ChatAuthenticationSetting | None) -> tuple[str, str | None] | None:
    """``(private_pem, kid)`` when ``setting`` trusts the server's test public key, else None."""
    if setting is None:
        return None
    pair = held_test_key()
    if pair is None:
        return None
    private_pem, public_pem = pair
    fingerprint = pem_fingerprint(public_pem)
    if not fingerprint:
        return None
    if setting.public_key_pem.strip() and pem_fingerprint(setting.public_key_pem) == fingerprint:
        return private_pem, None
    for key in setting.keys.all():
        if key.fingerprint == fingerprint:
            return private_pem, key.kid
    return None


def test_token(setting: ChatAuthenticationSetting, signer: tuple[str, str | None], user) -> str:
    """A short-lived token for the administrator's test customer, with the claims ``setting`` requires."""
    private_pem, kid = signer
    now = int(time.time())
    lifetime = min(TEST_TOKEN_SECONDS, setting.max_token_age_seconds or TEST_TOKEN_SECONDS)
    claims: dict = {
        "sub": f"{TEST_SUBJECT_PREFIX}{user.pk}",
        "name": _("Test customer (%(user)s)") % {"user": user.get_username()},
        "iat": now,
        "exp": now + lifetime,
    }
    if setting.issuer:
        claims["iss"] = setting.issuer
    if setting.audience:
        claims["aud"] = setting.audience
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, signing_key(private_pem), algorithm="RS256", headers=headers)


def page_context(request, widget: ChatWidget) -> dict:
    setting = widget.authentication
    signer = test_signer(setting)
    pair = held_test_key()
    return {
        "widget": widget,
        "setting": setting,
        "can_sign": signer is not None,
        "test_public_pem": pair[1] if pair and setting is not None and signer is None else "",
        "token_function": "parleyAdminTestToken" if signer is not None else "",
        "token_url": request.path.rstrip("/").rsplit("/", 1)[0] + "/test-token/",
        "own_origin": request.build_absolute_uri("/").rstrip("/"),
    }


def _widget_for(request, object_id):
    model_admin = _admin_of(request)
    widget = get_object_or_404(ChatWidget.objects.select_related("authentication", "workstream"), pk=object_id)
    if not model_admin.has_view_permission(request, widget):
        raise PermissionDenied
    return model_admin, widget


def _admin_of(request):
    from django.contrib import admin

    model_admin = admin.site._registry.get(ChatWidget)
    if model_admin is None:
        raise Http404
    return model_admin


@never_cache
@staff_member_required
def test_page(request, object_id):
    model_admin, widget = _widget_for(request, object_id)
    context = {
        **model_admin.admin_site.each_context(request),
        **page_context(request, widget),
        "opts": ChatWidget._meta,
        "original": widget,
        "title": _("Test %(widget)s") % {"widget": widget.name},
    }
    return TemplateResponse(request, "admin/admin_center/chatwidget/test_widget.html", context)


@never_cache
@staff_member_required
@require_POST
def test_token_view(request, object_id):
    _model_admin, widget = _widget_for(request, object_id)
    signer = test_signer(widget.authentication)
    if signer is None:
        return JsonResponse(
            {"error": _("This widget's authentication setting does not trust the test key.")}, status=409
        )
    return JsonResponse({"token": test_token(widget.authentication, signer, request.user)})
