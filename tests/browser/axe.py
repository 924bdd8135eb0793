"""axe-core in the browser tests: the pinned npm package (tests/browser/package.json), installed
into tests/browser/node_modules with ``npm ci`` when missing and injected by Playwright. The
install and the read happen under a file lock: with pytest-xdist, another worker must not read
axe.min.js while ``npm ci`` is still writing it (a half-written file is a SyntaxError in the page,
and it would stay cached for the rest of that worker's run).

``assert_no_violations(target, what)`` runs axe on a Playwright ``Page`` or ``Frame`` and fails
with every violation (rule, impact, help and the offending nodes). The script is evaluated over
the DevTools protocol, so the pages' Content-Security-Policy (``script-src 'self'``) does not
block it and the pages are tested with their real policy.
"""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
INSTALL_LOCK = HERE / ".axe-install.lock"
# Written after ``npm ci`` succeeded: an install that was interrupted is redone, not half-read.
INSTALLED = HERE / "node_modules" / ".parley-installed"
# WCAG 2.0/2.1 A and AA, and axe's best practices (landmarks, one main, headings).
RUN_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}


@functools.cache
def axe_source() -> str:
    """The pinned axe.min.js, installed from the lock file on first use (one worker at a time)."""
    with open(INSTALL_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (INSTALLED.exists() and AXE_JS.exists()):
            npm = shutil.which("npm")
            if npm is None:
                message = "axe-core is not installed and npm is missing (apt-get install npm)"
                if os.environ.get("PARLEY_REQUIRE_BROWSER") == "1":
                    pytest.fail(message, pytrace=False)
                pytest.skip(message)
            command = "ci" if (HERE / "package-lock.json").exists() else "install"
            subprocess.run(
                [npm, command, "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=HERE,
                check=True,
                timeout=300,
            )
            INSTALLED.touch()
        return AXE_JS.read_text(encoding="utf-8")


def violations(target, exclude: list[str] | None = None) -> list[dict]:
    """axe's violations on a Playwright Page or Frame (``exclude``: CSS selectors left out)."""
    if not target.evaluate("() => typeof window.axe === 'object'"):
        target.evaluate(axe_source() + "\n;0")
    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    return target.evaluate(
        "([context, options]) => window.axe.run(context || document, options).then((r) => r.violations)",
        [context, RUN_OPTIONS],
    )


def describe(found: list[dict]) -> str:
    lines = []
    for violation in found:
        lines.append(f"- {violation['id']} ({violation.get('impact')}): {violation['help']}")
        for node in violation["nodes"][:8]:
            lines.append(f"    {', '.join(map(str, node['target']))}: {node.get('failureSummary', '').strip()}")
    return "\n".join(lines)


def assert_no_violations(target, what: str, exclude: list[str] | None = None) -> None:
    found = violations(target, exclude)
    assert not found, f"axe-core found {len(found)} violation(s) on {what}:\n{describe(found)}"
