"""The development secret key: random per installation, kept in a file that git ignores.

A fixed key in the source would sign visitor tokens and sessions that anyone could forge; production
(DEBUG=false) never gets here, it refuses to start without SECRET_KEY."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def development_secret_key(path: Path) -> str:
    """The key stored at ``path``, made (readable by the owner only) on first use."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key
