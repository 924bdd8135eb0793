"""Who is the customer on a widget socket.

Signed-in customers: the customer's website signs a JWT on its own server;
we verify it with the public key of the widget's chat authentication setting
(../PROTOCOL.md "Authentication"). Anonymous visitors of live-chat widgets:
the server signs an opaque visitor token carrying the customer's id, so that
a page reload finds the same visitor and their live conversation.
"""

from __future__ import annotations

import hashlib
import logging
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import Customer
from .services import ServiceError

logger = logging.getLogger("parley.identity")

ALGORITHMS = ["RS256", "ES256"]
LEEWAY_SECONDS = 60
VISITOR_SALT = "parley.visitor"
# A visitor token older than this starts a new visitor (live chat has no long memory).
VISITOR_MAX_AGE = 90 * 24 * 3600
PROFILE_CLAIMS = {"name": "name", "email": "email", "preferred_username": "username"}


@lru_cache(maxsize=64)
def _public_key(pem_digest: str, pem: str):
    return load_pem_public_key(pem.encode())


def verify_customer_token(setting, token) -> dict:
    """The verified claims of ``token`` or ``ServiceError('auth_failed')``."""
    if not isinstance(token, str) or not token or len(token) > 8192:
        raise ServiceError("auth_failed", "The token is not a JWT.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise ServiceError("auth_failed", "The token is not a JWT.") from None
    if header.get("alg") not in ALGORITHMS:
        raise ServiceError("auth_failed", f"Tokens must be signed with {' or '.join(ALGORITHMS)}.")
    try:
        key = _public_key(hashlib.sha256(setting.public_key_pem.encode()).hexdigest(), setting.public_key_pem)
    except (ValueError, TypeError):
        logger.error("chat authentication setting %r has an unreadable public key", setting.name)
        raise ServiceError("auth_failed", "The server cannot verify tokens for this widget.") from None
    options = {"require": ["sub", "iat", "exp"]}
    kwargs = {"issuer": setting.issuer} if setting.issuer else {}
    if setting.issuer:
        options["require"].append("iss")
    try:
        claims = jwt.decode(token, key, algorithms=ALGORITHMS, leeway=LEEWAY_SECONDS, options=options, **kwargs)
    except jwt.ExpiredSignatureError:
        raise ServiceError("auth_failed", "The token has expired.") from None
    except jwt.MissingRequiredClaimError as exc:
        raise ServiceError("auth_failed", f"The token lacks the '{exc.claim}' claim.") from None
    except jwt.InvalidIssuerError:
        raise ServiceError("auth_failed", "The token's issuer is not the one configured.") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise ServiceError("auth_failed", "The token's signature or claims are not valid.") from None
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 1 <= len(subject) <= 255:
        raise ServiceError("auth_failed", "The token's 'sub' must be a string of 1-255 characters.")
    return claims


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


def visitor_customer(token) -> Customer:
    """The anonymous visitor a token names, or a new visitor when the token is
    missing, forged, expired or names a customer that no longer exists."""
    if isinstance(token, str) and 0 < len(token) <= 512:
        try:
            customer_id = signing.loads(token, salt=VISITOR_SALT, max_age=VISITOR_MAX_AGE)
        except signing.BadSignature:
            customer_id = None
        if customer_id:
            customer = Customer.objects.filter(pk=customer_id, authentication__isnull=True).first()
            if customer is not None:
                return customer
    return Customer.objects.create(last_seen_at=timezone.now())
