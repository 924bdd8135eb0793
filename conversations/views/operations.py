"""For load balancers and monitoring (docs/operations.md): ``/healthz`` (liveness), ``/readyz`` (the
database and the channel layer answer) and ``/metrics`` (Prometheus).

``/metrics`` answers with ``PARLEY_METRICS_TOKEN`` set only a request carrying
``Authorization: Bearer <token>``; without a token only clients on the loopback address that did not come
through a proxy (a request with ``X-Forwarded-For``, ``Forwarded`` or ``X-Real-IP`` did), so that nothing
outside the machine reads it by default.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .. import metrics

READY_TIMEOUT = 2.0
PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


@never_cache
def healthz(request):
    """Liveness: the process answers. Touches neither the database nor the channel layer."""
    return HttpResponse("ok", content_type="text/plain")


def _ping_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # a failed or idle connection is not kept for the next request


# One probe channel per process and event loop, and one probe at a time: concurrent readiness checks
# share the probe in flight (each new channel would stay subscribed on the Redis pub/sub layer).
_probe: dict = {"loop": None, "channel": None, "task": None}


async def _probe_layer(layer) -> None:
    try:
        if _probe["channel"] is None:
            _probe["channel"] = await layer.new_channel("parley-ready.")
        channel, nonce = _probe["channel"], uuid.uuid4().hex
        await layer.send(channel, {"type": "parley.ready", "nonce": nonce})
        async with asyncio.timeout(READY_TIMEOUT):
            while (await layer.receive(channel)).get("nonce") != nonce:
                pass
    except BaseException:
        _probe["channel"] = None  # a failed receive may have dropped the channel's subscription
        raise


async def _layer_round_trip() -> None:
    """One message through the channel layer to this process's probe channel and back."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = asyncio.get_running_loop()
    if _probe["loop"] is not loop:
        _probe.update(loop=loop, channel=None, task=None)
    if _probe["task"] is None or _probe["task"].done():
        _probe["task"] = loop.create_task(_probe_layer(layer))
    await asyncio.shield(_probe["task"])


async def _check(name: str, call) -> tuple[str, str | None]:
    try:
        await asyncio.wait_for(call(), READY_TIMEOUT + 1)
    except TimeoutError:
        return name, f"no answer within {READY_TIMEOUT:g} s"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason goes to the caller
        return name, f"{type(exc).__name__}: {exc}".strip()[:300]
    return name, None


@never_cache
async def readyz(request):
    """Readiness: 200 when the database and the channel layer answer, else 503 with the reasons."""
    results = await asyncio.gather(
        _check("database", sync_to_async(_ping_database, thread_sensitive=False)),
        _check("channel_layer", _layer_round_trip),
    )
    failed = {name: reason for name, reason in results if reason is not None}
    checks = {name: "ok" if reason is None else "failed" for name, reason in results}
    if failed:
        reason = "; ".join(f"{name}: {why}" for name, why in failed.items())
        return JsonResponse({"status": "unavailable", "reason": reason, "checks": checks}, status=503)
    return JsonResponse({"status": "ready", "checks": checks})


def _is_loopback(request) -> bool:
    if any(request.META.get(header) for header in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _allowed(request) -> HttpResponse | None:
    """None when the request may read the metrics, else the refusal."""
    token = settings.PARLEY_METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given and hmac.compare_digest(given.strip().encode(), token.encode()):
            return None
        response = HttpResponse("A valid bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if _is_loopback(request):
        return None
    return HttpResponse(
        "Metrics are served to loopback clients only (set PARLEY_METRICS_TOKEN to read them from elsewhere).\n",
        status=403,
        content_type="text/plain",
    )


@never_cache
def metrics_view(request):
    refused = _allowed(request)
    if refused is not None:
        return refused
    return HttpResponse(generate_latest(metrics.registry()), content_type=CONTENT_TYPE_LATEST)
