"""Counted texts for the browser, which chooses the form itself as the count changes."""

from __future__ import annotations

from collections.abc import Callable


def plural_forms(text: Callable[[int], str]) -> dict[str, str]:
    """``text(n)`` (an ngettext) for a number of each plural category (Intl.PluralRules names), for the
    browser to choose by count (static/parley/format.js ``plural``): English uses one/other, Russian
    one/few/many."""
    return {category: text(n) for category, n in (("one", 1), ("few", 2), ("many", 5), ("other", 100))}
