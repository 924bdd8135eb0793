"""Without SECRET_KEY, a development server signs with a key of its own installation, never a fixed one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from config.secret_key import development_secret_key

ROOT = Path(__file__).resolve().parents[2]


def test_the_development_key_is_random_per_installation_and_kept(tmp_path):
    first = development_secret_key(tmp_path / "one" / "key")
    again = development_secret_key(tmp_path / "one" / "key")
    other = development_secret_key(tmp_path / "two" / "key")

    assert first == again
    assert first != other
    assert len(first) >= 50
    assert oct((tmp_path / "one" / "key").stat().st_mode & 0o777) == "0o600"


def test_settings_without_secret_key_in_debug_use_the_installation_key():
    env = {**os.environ, "SECRET_KEY": "", "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    key = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)

    assert key.stdout.strip() == (ROOT / ".demo" / "development-secret-key").read_text().strip()
    assert "insecure" not in key.stdout
