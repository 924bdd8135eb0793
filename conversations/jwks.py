"""The keys of an authentication setting's JWKS URL, fetched and cached per process.

Rules (../PROTOCOL.md "Authentication, additions", docs/widget.md "Key rotation"):

- A document is used for at most ``CACHE_SECONDS`` (10 minutes); after that the
  next token that needs it fetches it again.
- A token naming a kid the cached document lacks fetches the document again,
  at most once per ``UNKNOWN_KID_INTERVAL`` (a minute) per setting: a flood of
  made-up kids costs one request a minute.
- A failed fetch (unreachable, not JSON, not a JWKS, no usable key) keeps the
  keys cached before; it is retried after ``UNKNOWN_KID_INTERVAL`` at the
  earliest, and stored on the setting (``jwks_error``, ``jwks_error_at``) for
  the admin center. A process that starts while the URL is down uses the keys
  of the last good document stored on the setting (``jwks_keys``).
- Only ``https://`` URLs, or ``http://`` on a loopback host; redirects are not
  followed; the answer is read up to ``MAX_DOCUMENT_BYTES``.
- Keys are checked like configured keys (``admin_center.signing_keys``): an
  RSA key under 2048 bits or an EC key off P-256 is left out, with the reason
  in the stored error.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import jwt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from admin_center import validators
from admin_center.models import ChatAuthenticationSetting
from admin_center.signing_keys import UnsafeKey, check_public_key, fingerprint

logger = logging.getLogger("parley.identity")

CACHE_SECONDS = 600
UNKNOWN_KID_INTERVAL = 60
MAX_DOCUMENT_BYTES = 256 * 1024
# Tests replace the clock to move past the cache lifetime and the refetch interval without sleeping.
clock = time.monotonic


@dataclass(frozen=True)
class JwksKey:
    kid: str | None
    key: object
    algorithm: str
    fingerprint: str
    jwk: dict


@dataclass
class _Entry:
    url: str
    keys: list[JwksKey] = field(default_factory=list)
    fetched_at: float | None = None  # clock() of the last good document
    attempted_at: float | None = None  # clock() of the last fetch, good or not
    failed: bool = False


class JwksError(Exception):
    """A fetch that brought no usable document; the message is for the admin center."""


_entries: dict[int, _Entry] = {}
_lock = threading.Lock()


def clear() -> None:
    """Forget every cached document (tests; a changed URL is noticed by itself)."""
    with _lock:
        _entries.clear()


def keys_for(setting: ChatAuthenticationSetting, kid: str | None) -> list[JwksKey]:
    """The setting's JWKS keys a token with header ``kid`` may be checked against.

    With a kid: the key of that kid (refetching an unknown kid at most once a
    minute), or nothing. Without: every cached key."""
    url = setting.jwks_url
    if not url:
        return []
    with _lock:
        entry = _entries.get(setting.pk)
        if entry is None or entry.url != url:
            entry = _entries[setting.pk] = _Entry(url=url)
            entry.keys = _stored_keys(setting)
        now = clock()
        stale = entry.fetched_at is None or now - entry.fetched_at >= CACHE_SECONDS
        unknown = kid is not None and not any(key.kid == kid for key in entry.keys)
        may_retry = entry.attempted_at is None or now - entry.attempted_at >= UNKNOWN_KID_INTERVAL
        if (stale and (not entry.failed or may_retry)) or (unknown and may_retry):
            _refresh(setting, entry)
        if kid is None:
            return list(entry.keys)
        return [key for key in entry.keys if key.kid == kid]


def _refresh(setting: ChatAuthenticationSetting, entry: _Entry) -> None:
    entry.attempted_at = clock()
    try:
        keys, skipped = parse_document(fetch_document(entry.url))
    except JwksError as error:
        entry.failed = True
        logger.warning("JWKS of authentication setting %r (%s) not usable: %s", setting.name, entry.url, error)
        _store_error(setting, str(error))
        return
    entry.keys = keys
    entry.fetched_at = entry.attempted_at
    entry.failed = False
    if skipped:
        logger.warning("JWKS of authentication setting %r: keys left out: %s", setting.name, "; ".join(skipped))
    _store_document(setting, keys, "; ".join(skipped))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise JwksError(f"the URL answered a redirect ({code}) to {newurl}; redirects are not followed")


def fetch_document(url: str) -> object:
    """The parsed JSON at ``url``; ``JwksError`` when it cannot be had."""
    try:
        validators.validate_jwks_url(url)
    except ValidationError:
        raise JwksError("the URL is not https:// (http:// only on loopback)") from None
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - checked above
    try:
        with opener.open(request, timeout=settings.PARLEY_JWKS_TIMEOUT) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise JwksError(f"the URL answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise JwksError(f"the URL could not be fetched: {reason}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise JwksError(f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise JwksError("the document is not JSON") from None


def parse_document(document: object) -> tuple[list[JwksKey], list[str]]:
    """(usable keys, reasons for each key left out); ``JwksError`` when none is usable."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError('the document is not a JWKS: expected an object with a "keys" list')
    keys: list[JwksKey] = []
    skipped: list[str] = []
    for index, jwk in enumerate(document["keys"]):
        name = f"keys[{index}]"
        if not isinstance(jwk, dict):
            skipped.append(f"{name}: not an object")
            continue
        kid = jwk.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid):
            skipped.append(f"{name}: kid is not a string")
            continue
        name = f"kid {kid}" if kid else name
        if jwk.get("use", "sig") != "sig":
            skipped.append(f"{name}: use is not sig")
            continue
        if any(part in jwk for part in ("d", "p", "q")):
            skipped.append(f"{name}: a private key; publish public keys only")
            continue
        try:
            parsed = jwt.PyJWK(jwk)
            algorithm = check_public_key(parsed.key)
        except UnsafeKey as error:
            skipped.append(f"{name}: {error}")
            continue
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError) as error:
            skipped.append(f"{name}: not a usable key ({error})")
            continue
        if jwk.get("alg") not in (None, algorithm):
            skipped.append(f"{name}: alg {jwk.get('alg')} does not fit the key ({algorithm})")
            continue
        keys.append(JwksKey(kid, parsed.key, algorithm, fingerprint(parsed.key), jwk))
    if not keys:
        raise JwksError("the document has no usable key" + (f" ({'; '.join(skipped)})" if skipped else ""))
    return keys, skipped


def _stored_keys(setting: ChatAuthenticationSetting) -> list[JwksKey]:
    """The keys of the last good document as stored on the setting (used until a fetch succeeds)."""
    stored = setting.jwks_keys if isinstance(setting.jwks_keys, list) else []
    try:
        keys, _skipped = parse_document({"keys": [item.get("jwk") for item in stored if isinstance(item, dict)]})
    except JwksError:
        return []
    return keys


def _store_document(setting: ChatAuthenticationSetting, keys: list[JwksKey], problems: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        current = ChatAuthenticationSetting.objects.select_for_update().filter(pk=setting.pk).first()
        if current is None:
            return
        used = {
            item.get("fingerprint"): item.get("last_used_at")
            for item in (current.jwks_keys or [])
            if isinstance(item, dict)
        }
        rows = [
            {"kid": key.kid, "fingerprint": key.fingerprint, "algorithm": key.algorithm,
             "last_used_at": used.get(key.fingerprint), "jwk": key.jwk}
            for key in keys
        ]  # fmt: skip
        changes = {"jwks_keys": rows, "jwks_fetched_at": now, "jwks_error": problems}
        changes["jwks_error_at"] = now if problems else None
        ChatAuthenticationSetting.objects.filter(pk=setting.pk).update(**changes)
    for name, value in changes.items():
        setattr(setting, name, value)


def _store_error(setting: ChatAuthenticationSetting, message: str) -> None:
    now = timezone.now()
    ChatAuthenticationSetting.objects.filter(pk=setting.pk).update(jwks_error=message, jwks_error_at=now)
    setting.jwks_error, setting.jwks_error_at = message, now


def record_use(setting: ChatAuthenticationSetting, key_fingerprint: str) -> None:
    """Store when a JWKS key last verified a token (the admin center shows it)."""
    now = timezone.now().isoformat()
    with transaction.atomic():
        current = ChatAuthenticationSetting.objects.select_for_update().filter(pk=setting.pk).first()
        if current is None or not isinstance(current.jwks_keys, list):
            return
        rows = [dict(item) for item in current.jwks_keys if isinstance(item, dict)]
        for row in rows:
            if row.get("fingerprint") == key_fingerprint:
                row["last_used_at"] = now
        ChatAuthenticationSetting.objects.filter(pk=setting.pk).update(jwks_keys=rows)
