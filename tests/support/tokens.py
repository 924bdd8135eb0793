"""Customer JWTs as a customer's website would sign them."""

from __future__ import annotations

import time
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from admin_center.demo_keys import pem_pair, signing_key


@lru_cache(maxsize=4)
def make_key_pair(kind: str = "rsa", seed: int = 0) -> tuple[str, str]:
    """(private_pem, public_pem); cached per (kind, seed) because RSA generation is slow."""
    if kind == "ec":
        return pem_pair(ec.generate_private_key(ec.SECP256R1()))
    return pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def customer_token(
    private_pem: str,
    sub: str,
    *,
    name: str | None = None,
    email: str | None = None,
    exp_in: int = 3600,
    iss: str | None = None,
    alg: str = "RS256",
    extra: dict | None = None,
    kid: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict = {"sub": sub, "iat": now, "exp": now + exp_in}
    if name is not None:
        claims["name"] = name
    if email is not None:
        claims["email"] = email
    if iss is not None:
        claims["iss"] = iss
    claims.update(extra or {})
    key = signing_key(private_pem) if alg.startswith(("RS", "ES", "PS")) else private_pem
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid is not None else None)
