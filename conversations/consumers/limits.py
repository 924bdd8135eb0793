"""The sockets' own limits: a token bucket per socket (``PARLEY_SEND_RATE`` / ``PARLEY_SEND_BURST``) and
this process's count of accepted sockets that have no ``Connection`` row yet, per kind and address
(``PARLEY_MAX_SOCKETS_PER_IP`` for widget sockets, ``PARLEY_MAX_AGENT_SOCKETS_PER_IP`` for workspace ones).
"""

from __future__ import annotations

import time
from collections import Counter


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up."""

    __slots__ = ("burst", "rate", "stamp", "tokens")  # one or two per socket: no per-instance dict

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class UnregisteredSockets:
    """Sockets this process accepted that have no Connection row yet (a widget socket before its hello),
    per ``"<kind>:<client address>"``: counted against the kind's per-address limit too, or a client could hold any
    number of sockets open until the hello timeout."""

    def __init__(self) -> None:
        self._by_ip: Counter[str] = Counter()

    def add(self, ip: str) -> int:
        """Count one more socket of ``ip``; returns how many this process holds now."""
        self._by_ip[ip] += 1
        return self._by_ip[ip]

    def count(self, ip: str) -> int:
        return self._by_ip[ip]

    def remove(self, ip: str) -> None:
        self._by_ip[ip] -= 1
        if self._by_ip[ip] <= 0:
            del self._by_ip[ip]


unregistered = UnregisteredSockets()
