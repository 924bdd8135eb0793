"""setup_demo and the demo key pair."""

from __future__ import annotations

import io

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from admin_center.config_io import export_configuration
from admin_center.demo_keys import ensure_demo_keys
from admin_center.models import ChatWidget
from routing.models import AgentProfile, Queue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _key_dir(settings, tmp_path):
    settings.PARLEY_DEMO_KEY_DIR = tmp_path / "demo-keys"
    settings.PARLEY_DEMO = True


def test_setup_demo_refuses_without_debug_or_the_demo_switch(settings):
    settings.DEBUG = False
    settings.PARLEY_DEMO = False

    with pytest.raises(CommandError, match="DEBUG=true or PARLEY_DEMO=true"):
        run_setup_demo()
    assert not get_user_model().objects.filter(username="ada").exists()


def run_setup_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("setup_demo", *args, stdout=out)
    return out.getvalue()


def test_demo_keys_are_generated_once_and_sign_verifiable_tokens(settings):
    private_pem, public_pem = ensure_demo_keys()
    assert ensure_demo_keys() == (private_pem, public_pem)
    assert oct((settings.PARLEY_DEMO_KEY_DIR / "demo-private.pem").stat().st_mode & 0o777) == "0o600"
    token = jwt.encode({"sub": "dana", "exp": int(timezone.now().timestamp()) + 60}, private_pem, algorithm="RS256")
    assert jwt.decode(token, public_pem, algorithms=["RS256"])["sub"] == "dana"


def test_setup_demo_creates_the_demo_and_prints_urls_and_sign_ins():
    output = run_setup_demo()
    for text in (
        "http://127.0.0.1:8000/admin/",
        "workspace/",
        "demo/",
        "ada / parley-demo-ada",
        "alice / parley-demo-alice",
    ):
        assert text in output
    ada = get_user_model().objects.get(username="ada")
    assert ada.is_superuser and ada.is_staff and ada.check_password("parley-demo-ada")
    for name in ("alice", "bob"):
        user = get_user_model().objects.get(username=name)
        assert not user.is_staff and user.check_password(f"parley-demo-{name}")
    support = Queue.objects.get(name="Support")
    assert sorted(a.user.username for a in support.members.all()) == ["ada", "alice", "bob"]
    assert support.operating_hours.name == "Always" and support.operating_hours.is_open(timezone.now())
    persistent = ChatWidget.objects.get(public_id="demo-persistent")
    assert persistent.workstream.persistent and persistent.workstream.same_agent
    assert persistent.workstream.distribution == "push"
    assert persistent.authentication.javascript_function == "getChatToken"
    assert persistent.authentication.public_key_pem == ensure_demo_keys()[1]
    live = ChatWidget.objects.get(public_id="demo-live")
    assert not live.workstream.persistent and live.authentication is None
    assert live.allowed_origins == ["http://127.0.0.1:8000", "http://localhost:8000"]


def test_setup_demo_twice_changes_nothing():
    run_setup_demo()
    first = export_configuration()
    hashes = dict(get_user_model().objects.values_list("username", "password"))
    run_setup_demo()
    assert export_configuration() == first
    assert dict(get_user_model().objects.values_list("username", "password")) == hashes
    assert AgentProfile.objects.count() == 3 and ChatWidget.objects.count() == 2


def test_setup_demo_prints_the_address_the_server_will_listen_on():
    output = run_setup_demo("--base-url", "http://127.0.0.1:8765")
    assert "http://127.0.0.1:8765/workspace/" in output and "http://127.0.0.1:8765/demo/live/" in output
    assert ":8000" not in output


def test_demo_widgets_allow_the_origin_the_server_really_runs_on():
    run_setup_demo("--base-url", "http://localhost:8765/")
    for widget in ChatWidget.objects.all():
        assert widget.allowed_origins == ["http://localhost:8765", "http://127.0.0.1:8765"]
    run_setup_demo("--base-url", "https://chat.example.com")
    assert {tuple(w.allowed_origins) for w in ChatWidget.objects.all()} == {("https://chat.example.com",)}


def test_setup_demo_refuses_a_base_url_that_is_not_http():
    with pytest.raises(CommandError, match="--base-url"):
        run_setup_demo("--base-url", "chat.example.com")
