"""The demo website (only with ``settings.PARLEY_DEMO``): a small coffee shop
that embeds the chat widget exactly as a customer's website would.

- ``/demo/`` and ``/demo/orders/``: the shop, with a signed-in demo customer and
  the persistent-chat widget ``demo-persistent``;
- ``/demo/live/``: a support page with the live-chat widget ``demo-live``
  (anonymous visitors);
- ``/demo/token/``: the shop's own token endpoint. It signs the demo
  customer's JWT (RS256, 15 minutes) with the demo private key, as a real
  website signs its customers' tokens on its server.

``?customer=demo-customer-2`` (any ``demo-…`` id) picks another demo customer,
so that two customers, or one customer on two devices, can be shown.
"""

from __future__ import annotations

import hashlib
import re
import time

import jwt
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from admin_center.models import ChatWidget

PERSISTENT_WIDGET = "demo-persistent"
LIVE_WIDGET = "demo-live"
TOKEN_LIFETIME_SECONDS = 15 * 60
DEFAULT_CUSTOMER = "demo-customer-1"
DEMO_CUSTOMERS = {
    "demo-customer-1": ("Dana Demo", "dana.demo@example.com"),
    "demo-customer-2": ("Max Miller", "max.miller@example.com"),
    "demo-customer-3": ("Olga Orlova", "olga.orlova@example.com"),
}
CUSTOMER_RE = re.compile(r"^demo-[a-z0-9-]{1,48}$")

PRODUCTS = [
    ("Ethiopia Yirgacheffe", "Floral, bergamot, lemon zest", "14.90", "#f59e0b"),
    ("Colombia Huila", "Caramel, red apple, cocoa", "12.50", "#b45309"),
    ("Kenya Nyeri AA", "Blackcurrant, grapefruit, syrupy", "16.20", "#7c2d12"),
    ("House Espresso", "Dark chocolate, hazelnut, crema", "11.00", "#78350f"),
]


def demo_only(view):
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.PARLEY_DEMO:
            raise Http404("The demo website is off (PARLEY_DEMO).")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def demo_customer(request: HttpRequest) -> tuple[str, str, str]:
    """(sub, name, email) of the demo customer the request asks for."""
    sub = request.GET.get("customer", DEFAULT_CUSTOMER)
    if not CUSTOMER_RE.match(sub):
        sub = DEFAULT_CUSTOMER
    if sub in DEMO_CUSTOMERS:
        name, email = DEMO_CUSTOMERS[sub]
    else:
        name, email = sub.removeprefix("demo-").replace("-", " ").title(), f"{sub}@example.com"
    return sub, name, email


def demo_context(sub: str) -> dict:
    """What the demo shop signs about its customer in the token's ``context`` claim (agents see it in the
    customer panel; routing rules may read it): a tier, an order count and the latest order, made up
    from the customer id so that they stay the same on every visit."""
    digest = hashlib.sha256(sub.encode()).digest()
    return {
        "tier": ("standard", "silver", "gold")[digest[0] % 3],
        "orders": 1 + digest[1] % 20,
        "last_order": f"A-{1000 + int.from_bytes(digest[2:4], 'big') % 9000}",
    }


def _widget(public_id: str) -> ChatWidget | None:
    return ChatWidget.objects.select_related("authentication").filter(public_id=public_id).first()


def _page(request: HttpRequest, template: str, public_id: str, section: str) -> HttpResponse:
    sub, name, _email = demo_customer(request)
    widget = _widget(public_id)
    auth = widget.authentication if widget else None
    context = {
        "widget": widget,
        "public_id": public_id,
        "origin": f"{request.scheme}://{request.get_host()}",
        "customer_sub": sub,
        "customer_name": name,
        "customers": [(key, value[0]) for key, value in DEMO_CUSTOMERS.items()],
        "auth_function": auth.javascript_function if auth else "",
        "section": section,
        "products": PRODUCTS,
    }
    return render(request, template, context)


@require_GET
@never_cache
@demo_only
def shop(request: HttpRequest) -> HttpResponse:
    return _page(request, "demo/shop.html", PERSISTENT_WIDGET, "shop")


@require_GET
@never_cache
@demo_only
def orders(request: HttpRequest) -> HttpResponse:
    return _page(request, "demo/shop.html", PERSISTENT_WIDGET, "orders")


@require_GET
@never_cache
@demo_only
def live(request: HttpRequest) -> HttpResponse:
    return _page(request, "demo/live.html", LIVE_WIDGET, "live")


@require_GET
@never_cache
@demo_only
def token(request: HttpRequest) -> JsonResponse:
    """The demo shop's token endpoint: a JWT for its signed-in demo customer."""
    from admin_center.demo_keys import ensure_demo_keys, signing_key

    sub, name, email = demo_customer(request)
    widget = _widget(PERSISTENT_WIDGET)
    issuer = widget.authentication.issuer if widget and widget.authentication else ""
    now = int(time.time())
    claims = {"sub": sub, "name": name, "email": email, "iat": now, "exp": now + TOKEN_LIFETIME_SECONDS}
    claims["context"] = demo_context(sub)
    if issuer:
        claims["iss"] = issuer
    private_pem, _public_pem = ensure_demo_keys()
    signed = jwt.encode(claims, signing_key(private_pem), algorithm="RS256")
    response = JsonResponse({"token": signed, "expires_in": TOKEN_LIFETIME_SECONDS, "customer": name})
    return response


urlpatterns = [
    path("demo/", shop, name="demo-shop"),
    path("demo/orders/", orders, name="demo-orders"),
    path("demo/live/", live, name="demo-live"),
    path("demo/token/", token, name="demo-token"),
]
