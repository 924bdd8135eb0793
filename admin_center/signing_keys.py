"""Public keys that verify customers' JWTs: which ones are safe, and their fingerprints.

One rule for the admin form, ``import_config`` and the keys a JWKS document
brings (``conversations.jwks``): an RSA public key of at least 2048 bits
(RS256) or an EC public key on P-256 (ES256). Anything else cannot be safe
(short RSA) or cannot verify a token the server accepts (other curves, Ed25519,
private keys, certificates, garbage) and is refused with the reason.
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.utils.translation import gettext as _

MIN_RSA_BITS = 2048
MAX_KEYS = 10
KID_MAX_LENGTH = 200


class UnsafeKey(ValueError):
    """The key is refused; ``str(error)`` says why, for the administrator."""


def check_public_key(key) -> str:
    """The JWT algorithm ``key`` verifies (RS256 or ES256), or ``UnsafeKey`` saying why it is refused."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise UnsafeKey(
                _("The RSA key has %(bits)s bits; at least %(min)s are required.")
                % {"bits": key.key_size, "min": MIN_RSA_BITS}
            )
        return "RS256"
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise UnsafeKey(
                _("The EC key is on the curve %(curve)s; only P-256 (secp256r1, for ES256) is accepted.")
                % {"curve": key.curve.name}
            )
        return "ES256"
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise UnsafeKey(_("This is a private key: paste the public key only, never the private one."))
    raise UnsafeKey(_("Only RSA (RS256) and EC P-256 (ES256) public keys can verify tokens."))


def load_public_key_pem(pem: str):
    """The public key object of a PEM text; ``UnsafeKey`` with the reason when it is not a usable one."""
    if not isinstance(pem, str) or not pem.strip():
        raise UnsafeKey(_("Paste a public key in PEM form ('-----BEGIN PUBLIC KEY-----')."))
    data = pem.strip().encode()
    if b"PRIVATE KEY-----" in data:
        raise UnsafeKey(_("This is a private key: paste the public key only, never the private one."))
    if b"-----BEGIN CERTIFICATE-----" in data:
        raise UnsafeKey(_("This is a certificate: paste its public key ('-----BEGIN PUBLIC KEY-----')."))
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UnsafeKey(_("This is not an RSA or EC public key in PEM form ('-----BEGIN PUBLIC KEY-----').")) from None
    check_public_key(key)
    return key


def fingerprint(key) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo as 64 lowercase hex digits
    (``openssl pkey -pubin -outform DER | sha256sum``)."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def pem_fingerprint(pem: str) -> str:
    """The fingerprint of a PEM public key, or "" when it does not load."""
    try:
        return fingerprint(serialization.load_pem_public_key(pem.strip().encode()))
    except (ValueError, TypeError, AttributeError, UnsupportedAlgorithm):
        return ""


def display_fingerprint(value: str) -> str:
    """``SHA256:ab:cd:…`` as administrators compare them."""
    if not value:
        return ""
    return "SHA256:" + ":".join(value[i : i + 2] for i in range(0, len(value), 2))
