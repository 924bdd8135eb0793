"""Who is the customer on a widget socket.

Signed-in customers: the customer's website signs a JWT on its own server;
we verify it with the public key of the widget's chat authentication setting
(../PROTOCOL.md "Authentication"). Anonymous visitors of live-chat widgets:
the server signs an opaque visitor token carrying the customer's id, so that
a page reload finds the same visitor and their live conversation.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from functools import lru_cache

import jwt
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from admin_center.signing_keys import UnsafeKey, check_public_key, fingerprint, load_public_key_pem

from . import jwks
from .errors import ServiceError
from .models import Customer

logger = logging.getLogger("parley.identity")

ALGORITHMS = ["RS256", "ES256"]
LEEWAY_SECONDS = 60
MAX_TOKEN_CHARS = 8192
VISITOR_SALT = "parley.visitor"
# A visitor token older than this starts a new visitor (live chat has no long memory).
VISITOR_MAX_AGE = 90 * 24 * 3600
PROFILE_CLAIMS = {"name": "name", "email": "email", "preferred_username": "username"}
# The JWT "context" claim (../PROTOCOL.md "Authentication, additions").
CONTEXT_MAX_KEYS = 30
CONTEXT_KEY_MAX_CHARS = 100
CONTEXT_TEXT_MAX_CHARS = 500
CONTEXT_MAX_INTEGER = 2**53 - 1  # what a browser's number holds exactly
# Last use is written at most this often per key and process (it costs a write).
LAST_USE_INTERVAL = 60
# What the client hears about any refused token; the reason goes to the server log only.
REFUSED = "The sign-in token was refused."


class TokenRefused(Exception):
    """Why a token was refused, for the server log."""


class VerifiedClaims(dict):
    """A verified token's claims, with what the caller needs beside them.

    ``context``: the validated ``context`` claim (``{}`` when the token has
    none); ``kid``: the header's kid or None; ``key_fingerprint``: the SHA-256
    fingerprint of the key that verified the signature."""

    def __init__(self, claims: dict, *, context: dict, kid: str | None, key_fingerprint: str) -> None:
        super().__init__(claims)
        self.context = context
        self.kid = kid
        self.key_fingerprint = key_fingerprint


@lru_cache(maxsize=128)
def _configured_key(pem: str):
    """(key object, algorithm, fingerprint) of a configured PEM; UnsafeKey when it is not usable."""
    key = load_public_key_pem(pem)
    return key, check_public_key(key), fingerprint(key)


def verify_customer_token(setting, token) -> VerifiedClaims:
    """The verified claims of ``token`` or ``ServiceError('auth_failed')``; the reason is logged
    (logger ``parley.identity``), never told to the client."""
    try:
        return _verify(setting, token)
    except TokenRefused as refusal:
        logger.warning("customer token refused (authentication setting %r): %s", setting.name, refusal)
        raise ServiceError("auth_failed", REFUSED) from None


def _verify(setting, token) -> VerifiedClaims:
    if not isinstance(token, str) or not token:
        raise TokenRefused("the token is not a string")
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenRefused(f"the token is longer than {MAX_TOKEN_CHARS} characters")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise TokenRefused(f"the token is not a JWT ({error})") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise TokenRefused(f"the token is signed with {algorithm!r}; only {' and '.join(ALGORITHMS)} are accepted")
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise TokenRefused("the token's kid header is not a non-empty string")
    candidates = _candidate_keys(setting, kid)
    fitting = [candidate for candidate in candidates if candidate[1] == algorithm]
    if not fitting:
        if candidates:
            kinds = ", ".join(sorted({candidate[1] for candidate in candidates}))
            raise TokenRefused(f"the token is signed with {algorithm} but the key(s) it may use verify {kinds}")
        if kid is not None:
            raise TokenRefused(f"no key with kid {kid!r} (configured keys or JWKS)")
        raise TokenRefused("the setting has no usable key")
    audience = setting.audience or None
    options = {"require": ["sub", "iat", "exp"], "verify_aud": audience is not None}
    if setting.issuer:
        options["require"].append("iss")
    if audience is not None:
        options["require"].append("aud")
    kwargs = {"issuer": setting.issuer or None, "audience": audience}
    claims = chosen = None
    for candidate in fitting:
        label, key = candidate[0], candidate[2]
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], leeway=LEEWAY_SECONDS, options=options, **kwargs)
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise TokenRefused(f"the token expired (exp) more than {LEEWAY_SECONDS} s ago (key {label})") from None
        except jwt.ImmatureSignatureError as error:
            raise TokenRefused(f"the token is not valid yet: {error} (key {label})") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRefused(f"the token lacks the {error.claim!r} claim (key {label})") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused(f"the token's iss is not {setting.issuer!r} (key {label})") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused(f"the token's aud does not name {audience!r} (key {label})") from None
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise TokenRefused(f"the token's claims are not valid: {error} (key {label})") from None
        chosen = candidate
        break
    if chosen is None:
        tried = ", ".join(candidate[0] for candidate in fitting)
        raise TokenRefused(f"the signature does not verify with the key(s) tried: {tried}")
    _check_age(setting, claims, label)
    if audience is None and "aud" in claims:
        raise TokenRefused(
            f"the token carries aud {claims['aud']!r} but the setting names no audience: set the setting's "
            f"audience to accept it (key {label})"
        )
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 1 <= len(subject) <= 255:
        raise TokenRefused(f"the token's sub must be a string of 1-255 characters (key {label})")
    context = validated_context(claims.get("context"))
    label, _algorithm, _key, key_fingerprint, record_use = chosen
    record_use()
    logger.debug("customer token of sub %r verified with the key %s", subject, label)
    return VerifiedClaims(claims, context=context, kid=kid, key_fingerprint=key_fingerprint)


def _check_age(setting, claims: dict, label: str) -> None:
    """``iat`` at most ``max_token_age_seconds`` ago and a lifetime (``exp - iat``) of at most as long.

    The second rule refuses a token signed to be valid for years (``exp`` in 2200) even while it is
    fresh; the first refuses an old token whatever its ``exp``. Both allow the 60 s leeway for clocks."""
    issued, expires = claims["iat"], claims["exp"]
    if not _is_number(issued) or not _is_number(expires):
        raise TokenRefused(f"the token's iat and exp must be numbers (key {label})")
    max_age = setting.max_token_age_seconds
    age = time.time() - issued
    if age > max_age + LEEWAY_SECONDS:
        raise TokenRefused(f"the token was issued (iat) {int(age)} s ago; the maximum age is {max_age} s (key {label})")
    if expires - issued > max_age + LEEWAY_SECONDS:
        raise TokenRefused(
            f"the token is valid for {int(expires - issued)} s (exp - iat); the maximum is {max_age} s (key {label})"
        )


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validated_context(value) -> dict:
    """The ``context`` claim as stored: an object of at most 30 keys whose values are strings (up to
    500 characters), numbers or booleans; ``TokenRefused`` with the rule it breaks otherwise."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TokenRefused("the context claim is not an object")
    if len(value) > CONTEXT_MAX_KEYS:
        raise TokenRefused(f"the context claim has {len(value)} keys; at most {CONTEXT_MAX_KEYS} are allowed")
    for key, item in value.items():
        if not 1 <= len(key) <= CONTEXT_KEY_MAX_CHARS:
            raise TokenRefused(f"a context key must have 1-{CONTEXT_KEY_MAX_CHARS} characters")
        if isinstance(item, str):
            if len(item) > CONTEXT_TEXT_MAX_CHARS:
                raise TokenRefused(
                    f"context {key!r} has {len(item)} characters; at most {CONTEXT_TEXT_MAX_CHARS} are allowed"
                )
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if abs(item) > CONTEXT_MAX_INTEGER:
                raise TokenRefused(f"context {key!r} is a number beyond +-{CONTEXT_MAX_INTEGER}")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise TokenRefused(f"context {key!r} is not a finite number")
        else:
            raise TokenRefused(f"context {key!r} is {type(item).__name__}; only strings, numbers and booleans")
    return dict(value)


# --- which keys a token may be checked against ----------------------------------------------------------


def _candidate_keys(setting, kid: str | None) -> list[tuple]:
    """(label, algorithm, key, fingerprint, record_use) of the keys a token with header ``kid`` may use.

    - The setting has keys with a kid or a JWKS URL: a token naming a kid is checked against that key only
      (a configured key first, else the JWKS key of that kid); a token without kid against every key.
    - The setting has only the key without kid (version 1): every token is checked against it, kid or not.
    """
    named = list(setting.keys.all()) if setting.pk else []
    plain = setting.public_key_pem if setting.public_key_pem.strip() else ""
    candidates: list[tuple] = []
    if kid is not None and (named or setting.jwks_url):
        for row in named:
            if row.kid == kid:
                candidates.extend(_configured(setting, f"kid {kid}", row.public_key_pem, ("key", row.pk)))
        if not candidates:
            for key in jwks.keys_for(setting, kid):
                candidates.append(_from_jwks(setting, key))
        return candidates
    if plain:
        candidates.extend(_configured(setting, "without kid", plain, ("setting", setting.pk)))
    for row in named:
        candidates.extend(_configured(setting, f"kid {row.kid}", row.public_key_pem, ("key", row.pk)))
    if kid is None and setting.jwks_url:
        for key in jwks.keys_for(setting, None):
            candidates.append(_from_jwks(setting, key))
    return candidates


def _configured(setting, label: str, pem: str, owner: tuple) -> list[tuple]:
    try:
        key, algorithm, key_fingerprint = _configured_key(pem)
    except UnsafeKey as error:
        logger.error("authentication setting %r: the key %s is not usable: %s", setting.name, label, error)
        return []
    return [(label, algorithm, key, key_fingerprint, lambda: _record_configured_use(owner))]


def _from_jwks(setting, key: jwks.JwksKey) -> tuple:
    label = f"JWKS kid {key.kid}" if key.kid else f"JWKS key {key.fingerprint[:16]}"
    return (label, key.algorithm, key.key, key.fingerprint, lambda: _throttled(("jwks", setting.pk, key.fingerprint),
            lambda: jwks.record_use(setting, key.fingerprint)))  # fmt: skip


_last_written: dict[tuple, float] = {}
_last_written_lock = threading.Lock()


def _throttled(owner: tuple, write) -> None:
    now = time.monotonic()
    with _last_written_lock:
        last = _last_written.get(owner)
        if last is not None and now - last < LAST_USE_INTERVAL:
            return
        _last_written[owner] = now
    write()


def _record_configured_use(owner: tuple) -> None:
    from admin_center.models import ChatAuthenticationKey, ChatAuthenticationSetting

    kind, pk = owner
    model, field = (ChatAuthenticationKey, "last_used_at") if kind == "key" else (
        ChatAuthenticationSetting, "key_last_used_at")  # fmt: skip
    _throttled(owner, lambda: model.objects.filter(pk=pk).update(**{field: timezone.now()}))


def authenticated_customer(setting, claims: dict) -> Customer:
    """The customer of (setting, sub), created on first sight; the optional
    profile claims refresh their name, email and username."""
    profile = {
        field: str(claims[claim])[:255]
        for claim, field in PROFILE_CLAIMS.items()
        if isinstance(claims.get(claim), str) and claims[claim].strip()
    }
    lookup = {"authentication": setting, "subject": claims["sub"]}
    customer = Customer.objects.filter(**lookup).first()
    if customer is None:
        try:
            with transaction.atomic():
                customer = Customer.objects.create(**lookup, **profile)
        except IntegrityError:  # another device signed in at the same moment
            customer = Customer.objects.get(**lookup)
    changed = {field: value for field, value in profile.items() if getattr(customer, field) != value}
    if changed:
        Customer.objects.filter(pk=customer.pk).update(**changed)
        for field, value in changed.items():
            setattr(customer, field, value)
    return customer


def visitor_token(customer: Customer) -> str:
    return signing.dumps(str(customer.id), salt=VISITOR_SALT, compress=False)


def visitor_customer(token, *, create: bool = True) -> Customer:
    """The anonymous visitor a token names, or a new visitor when the token is
    missing, forged, expired or names a customer that no longer exists.

    ``create=False`` (the widget socket's ``hello``): a visitor without a stored row is returned unsaved,
    with the id their token names (or a new one); the row is stored only when they first store
    something (``stored_visitor``: their first message, survey answers, upload or email switch), so that
    sockets that only say hello create nothing (docs/security.md "Anonymous visitors")."""
    wanted = None
    if isinstance(token, str) and 0 < len(token) <= 512:
        try:
            customer_id = signing.loads(token, salt=VISITOR_SALT, max_age=VISITOR_MAX_AGE)
        except signing.BadSignature:
            customer_id = None
        if customer_id:
            customer = Customer.objects.filter(pk=customer_id, authentication__isnull=True).first()
            if customer is not None:
                return customer
            wanted = customer_id
    if create:
        return Customer.objects.create(last_seen_at=timezone.now())
    try:
        pk = uuid.UUID(str(wanted)) if wanted else uuid.uuid4()
    except ValueError:
        pk = uuid.uuid4()
    if wanted and Customer.objects.filter(pk=pk).exists():  # not a visitor's id (never issued as one)
        pk = uuid.uuid4()
    return Customer(id=pk, last_seen_at=timezone.now())


def is_stored(customer: Customer) -> bool:
    return not customer._state.adding


def stored_visitor(customer: Customer) -> Customer:
    """The visitor's row, stored now if ``visitor_customer(create=False)`` left it unsaved (call inside the
    transaction that stores the first thing of theirs). Returns the stored customer."""
    if is_stored(customer):
        return customer
    stored, _created = Customer.objects.get_or_create(
        pk=customer.pk, authentication=None, defaults={"last_seen_at": timezone.now(), "language": customer.language}
    )
    return stored
