"""The demo website's RSA key pair.

The demo shop at /demo/ signs its customers' JWTs with the private key; the
"Demo website JWT" authentication setting holds the public key. The pair is
generated once into ``settings.PARLEY_DEMO_KEY_DIR`` and reused, so that a
second ``setup_demo`` and every server process agree on it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from django.conf import settings

PRIVATE_NAME = "demo-private.pem"
PUBLIC_NAME = "demo-public.pem"


def ensure_demo_keys(directory: Path | None = None) -> tuple[str, str]:
    """Return ``(private_pem, public_pem)`` of ``directory`` (``PARLEY_DEMO_KEY_DIR``), generating the
    pair on first use."""
    directory = Path(settings.PARLEY_DEMO_KEY_DIR if directory is None else directory)
    private_path, public_path = directory / PRIVATE_NAME, directory / PUBLIC_NAME
    if private_path.exists() and public_path.exists():
        return private_path.read_text(), public_path.read_text()
    private_pem, public_pem = generate_key_pair()
    directory.mkdir(parents=True, exist_ok=True)
    # Write under temporary names and rename: concurrent first calls end with one consistent pair.
    suffix = f".{os.getpid()}.tmp"
    tmp_private, tmp_public = private_path.with_name(PRIVATE_NAME + suffix), public_path.with_name(PUBLIC_NAME + suffix)
    fd = os.open(tmp_private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(private_pem)
    tmp_public.write_text(public_pem)
    if private_path.exists() and public_path.exists():  # another process won the race
        tmp_private.unlink()
        tmp_public.unlink()
        return private_path.read_text(), public_path.read_text()
    os.replace(tmp_private, private_path)
    os.replace(tmp_public, public_path)
    return private_pem, public_pem


def pem_pair(private_key) -> tuple[str, str]:
    """(private PKCS#8 PEM, public SubjectPublicKeyInfo PEM) of a ``cryptography`` private key."""
    from cryptography.hazmat.primitives import serialization

    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def generate_key_pair() -> tuple[str, str]:
    """A new RSA-2048 key pair for signing customer tokens (RS256), as PEM text."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    return pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@functools.lru_cache(maxsize=8)
def signing_key(private_pem: str):
    """The private key object of a PEM, for ``jwt.encode``. Loading and checking an RSA key from PEM
    costs about 30 ms, so a signer that passes the PEM itself pays that for every token."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(private_pem.encode(), password=None)
