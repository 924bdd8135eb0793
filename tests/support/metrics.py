"""Reading one sample of a real server's ``/metrics`` (prometheus-client's own parser)."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def sample(base_url: str, name: str, labels: dict[str, str] | None = None) -> float:
    """The value of the sample ``name`` with exactly ``labels`` (0.0 when the server has none yet)."""
    with urllib.request.urlopen(base_url + "/metrics", timeout=10) as response:  # noqa: S310 (loopback test server)
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == (labels or {}):
                return found.value
    return 0.0
