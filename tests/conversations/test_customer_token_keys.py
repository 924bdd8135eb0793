"""Customer JWTs: several keys with kid (rotation), a JWKS URL served in this process, token age and
audience, the context claim, and the reasons a refused token leaves in the server log."""

from __future__ import annotations

import functools
import http.server
import json
import logging
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from admin_center.demo_keys import pem_pair, signing_key
from admin_center.models import ChatAuthenticationKey, ChatAuthenticationSetting
from admin_center.signing_keys import fingerprint, pem_fingerprint
from conversations import identity, jwks
from conversations.errors import ServiceError
from tests import factories
from tests.support.tokens import customer_token

pytestmark = pytest.mark.django_db


@functools.cache
def rsa_pair(name: str) -> tuple[str, str]:
    return pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@functools.cache
def ec_pair(name: str) -> tuple[str, str]:
    return pem_pair(ec.generate_private_key(ec.SECP256R1()))


def jwk_of(public_pem: str, kid: str | None, **extra) -> dict:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(public_pem.encode())
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPublicKey) else jwt.algorithms.ECAlgorithm
    data = json.loads(algorithm.to_jwk(key))
    if kid is not None:
        data["kid"] = kid
    data.update(extra)
    return data


def setting_with(plain: str = "", keys: dict[str, str] | None = None, **fields) -> ChatAuthenticationSetting:
    setting = ChatAuthenticationSetting.objects.create(
        name=f"Shop {time.monotonic_ns()}", public_key_pem=plain, **fields
    )
    for kid, pem in (keys or {}).items():
        ChatAuthenticationKey.objects.create(setting=setting, kid=kid, public_key_pem=pem)
    return setting


def verify(setting, token):
    return identity.verify_customer_token(ChatAuthenticationSetting.objects.get(pk=setting.pk), token)


def refused(setting, token, caplog) -> str:
    """The logged reason for refusing ``token``; the client's message says nothing of it."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="parley.identity"), pytest.raises(ServiceError) as error:
        verify(setting, token)
    assert error.value.code == "auth_failed"
    assert error.value.message == identity.REFUSED
    lines = [r.getMessage() for r in caplog.records if r.name == "parley.identity" and "refused" in r.getMessage()]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(autouse=True)
def _fresh_caches():
    jwks.clear()
    identity._last_written.clear()
    yield
    jwks.clear()


# --- several keys with kid: rotation ----------------------------------------------------------------


def test_old_and_new_tokens_are_both_accepted_while_the_site_rotates_its_key():
    old_private, old_public = rsa_pair("old")
    new_private, new_public = ec_pair("new")
    setting = setting_with(keys={"2026-10": old_public, "2026-11": new_public})
    old = customer_token(old_private, "cust-1", kid="2026-10")
    new = customer_token(new_private, "cust-1", kid="2026-11", alg="ES256")
    assert verify(setting, old)["sub"] == "cust-1"
    assert verify(setting, new)["sub"] == "cust-1"
    assert verify(setting, new).kid == "2026-11"
    assert verify(setting, new).key_fingerprint == pem_fingerprint(new_public)
    ChatAuthenticationKey.objects.filter(setting=setting, kid="2026-10").delete()
    assert verify(setting, new)["sub"] == "cust-1"
    with pytest.raises(ServiceError):
        verify(setting, old)


def test_a_token_naming_a_kid_is_checked_against_that_key_only(caplog):
    first_private, first_public = rsa_pair("first")
    _second_private, second_public = rsa_pair("second")
    setting = setting_with(plain=first_public, keys={"a": first_public, "b": second_public})
    signed_by_first_naming_b = customer_token(first_private, "cust-1", kid="b")
    reason = refused(setting, signed_by_first_naming_b, caplog)
    assert "signature does not verify" in reason and "kid b" in reason
    assert "kid 'zzz'" in refused(setting, customer_token(first_private, "cust-1", kid="zzz"), caplog)


def test_a_token_without_kid_is_tried_against_every_key_of_the_setting(caplog):
    old_private, old_public = rsa_pair("old")
    new_private, new_public = rsa_pair("new")
    other_private, _other_public = rsa_pair("other")
    setting = setting_with(keys={"old": old_public, "new": new_public})
    assert verify(setting, customer_token(new_private, "cust-1")).key_fingerprint == pem_fingerprint(new_public)
    assert verify(setting, customer_token(old_private, "cust-1")).key_fingerprint == pem_fingerprint(old_public)
    reason = refused(setting, customer_token(other_private, "cust-1"), caplog)
    assert "kid new" in reason and "kid old" in reason


def test_a_version_1_setting_with_one_key_ignores_the_kid_header():
    private, public = rsa_pair("old")
    setting = setting_with(plain=public)
    assert verify(setting, customer_token(private, "cust-1", kid="whatever"))["sub"] == "cust-1"


def test_each_key_records_its_last_use_and_fingerprint():
    private, public = rsa_pair("old")
    plain_private, plain_public = rsa_pair("new")
    setting = setting_with(plain=plain_public, keys={"k1": public})
    key = ChatAuthenticationKey.objects.get(setting=setting)
    assert key.fingerprint == pem_fingerprint(public) and len(key.fingerprint) == 64
    assert key.last_used_at is None
    verify(setting, customer_token(private, "cust-1", kid="k1"))
    key.refresh_from_db()
    assert key.last_used_at is not None
    setting.refresh_from_db()
    assert setting.key_last_used_at is None
    verify(setting, customer_token(plain_private, "cust-1"))
    setting.refresh_from_db()
    assert setting.key_last_used_at is not None


def test_the_fingerprint_is_the_sha256_of_the_der_public_key():
    import hashlib

    from cryptography.hazmat.primitives import serialization

    _private, public = rsa_pair("old")
    key = serialization.load_pem_public_key(public.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert fingerprint(key) == pem_fingerprint(public) == hashlib.sha256(der).hexdigest()


# --- a JWKS URL served by this process --------------------------------------------------------------


class JwksServer:
    """A website's JWKS endpoint on 127.0.0.1: ``document`` is served as JSON (or ``raw`` bytes)."""

    def __init__(self) -> None:
        self.document: dict | None = {"keys": []}
        self.raw: bytes | None = None
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                server.requests += 1
                body = server.raw if server.raw is not None else json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server():
    server = JwksServer()
    yield server
    server.stop()


@pytest.fixture
def clock(monkeypatch):
    """The JWKS cache's clock, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(jwks, "clock", lambda: now[0])
    return now


def test_jwks_keys_verify_tokens_and_the_document_is_cached_for_ten_minutes(jwks_server, clock):
    private, public = rsa_pair("old")
    jwks_server.document = {"keys": [jwk_of(public, "k1")]}
    setting = setting_with(jwks_url=jwks_server.url)
    token = customer_token(private, "cust-1", kid="k1")
    assert verify(setting, token)["sub"] == "cust-1"
    assert verify(setting, customer_token(private, "cust-2"))["sub"] == "cust-2"  # no kid: every cached key
    assert jwks_server.requests == 1
    clock[0] += jwks.CACHE_SECONDS - 1
    verify(setting, token)
    assert jwks_server.requests == 1
    clock[0] += 2
    verify(setting, token)
    assert jwks_server.requests == 2
    setting.refresh_from_db()
    assert setting.jwks_fetched_at is not None and setting.jwks_error == ""
    [row] = setting.jwks_keys
    assert row["kid"] == "k1" and row["fingerprint"] == pem_fingerprint(public)
    assert row["last_used_at"] is not None


def test_an_unknown_kid_refetches_at_most_once_a_minute_and_a_rotated_key_signs_in(jwks_server, clock, caplog):
    old_private, old_public = rsa_pair("old")
    new_private, new_public = ec_pair("new")
    jwks_server.document = {"keys": [jwk_of(old_public, "old")]}
    setting = setting_with(jwks_url=jwks_server.url)
    verify(setting, customer_token(old_private, "cust-1", kid="old"))
    assert jwks_server.requests == 1
    # The site publishes its new key and signs with it at once: the first token with the new kid fetches it.
    jwks_server.document = {"keys": [jwk_of(old_public, "old"), jwk_of(new_public, "new")]}
    clock[0] += 61
    assert verify(setting, customer_token(new_private, "cust-1", kid="new", alg="ES256"))["sub"] == "cust-1"
    assert jwks_server.requests == 2
    # Made-up kids cost one request a minute, not one per token.
    for _ in range(5):
        refused(setting, customer_token(old_private, "cust-1", kid="made-up"), caplog)
    assert jwks_server.requests == 2  # the document was fetched less than a minute ago
    clock[0] += 61
    for _ in range(5):
        refused(setting, customer_token(old_private, "cust-1", kid="made-up"), caplog)
    assert jwks_server.requests == 3
    clock[0] += 59
    refused(setting, customer_token(old_private, "cust-1", kid="made-up"), caplog)
    assert jwks_server.requests == 3
    clock[0] += 2
    refused(setting, customer_token(old_private, "cust-1", kid="made-up"), caplog)
    assert jwks_server.requests == 4
    assert verify(setting, customer_token(old_private, "cust-1", kid="old"))["sub"] == "cust-1"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"<html>Not found</html>", "not JSON"),
        (b'{"keys": "none"}', "not a JWKS"),
        (b'{"keys": [{"kty": "RSA", "kid": "x", "n": "AQAB", "e": "AQAB"}]}', "no usable key"),
    ],
)
def test_a_broken_document_keeps_the_cached_keys_and_the_admin_sees_the_error(jwks_server, clock, raw, error):
    private, public = rsa_pair("old")
    jwks_server.document = {"keys": [jwk_of(public, "k1")]}
    setting = setting_with(jwks_url=jwks_server.url)
    token = customer_token(private, "cust-1", kid="k1")
    verify(setting, token)
    jwks_server.raw = raw
    clock[0] += jwks.CACHE_SECONDS + 1
    assert verify(setting, token)["sub"] == "cust-1"
    assert jwks_server.requests == 2
    setting.refresh_from_db()
    assert error in setting.jwks_error and setting.jwks_error_at is not None
    verify(setting, token)  # a failed fetch is not retried for a minute
    assert jwks_server.requests == 2


def test_an_unreachable_jwks_url_keeps_the_cached_keys_also_in_a_process_started_later(jwks_server, clock):
    private, public = rsa_pair("old")
    jwks_server.document = {"keys": [jwk_of(public, "k1")]}
    setting = setting_with(jwks_url=jwks_server.url)
    token = customer_token(private, "cust-1", kid="k1")
    verify(setting, token)
    jwks_server.stop()
    clock[0] += jwks.CACHE_SECONDS + 1
    assert verify(setting, token)["sub"] == "cust-1"
    setting.refresh_from_db()
    assert "could not be fetched" in setting.jwks_error
    jwks.clear()  # a new process: nothing cached in memory, the URL still down
    assert verify(setting, token)["sub"] == "cust-1"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_weak_keys_in_a_jwks_document_are_left_out_with_the_reason(jwks_server, clock, caplog):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point of the test
    weak_private, weak_public = pem_pair(weak)
    private, public = rsa_pair("old")
    jwks_server.document = {"keys": [jwk_of(weak_public, "weak"), jwk_of(public, "good")]}
    setting = setting_with(jwks_url=jwks_server.url)
    assert verify(setting, customer_token(private, "cust-1", kid="good"))["sub"] == "cust-1"
    setting.refresh_from_db()
    assert "kid weak" in setting.jwks_error and "1024" in setting.jwks_error
    token = jwt.encode({"sub": "x", "iat": int(time.time()), "exp": int(time.time()) + 60},
                       signing_key(weak_private), algorithm="RS256", headers={"kid": "weak"})  # fmt: skip
    assert "no key with kid 'weak'" in refused(setting, token, caplog)


def test_a_jwks_url_must_be_https_except_on_loopback():
    from django.core.exceptions import ValidationError

    from admin_center.validators import validate_jwks_url

    for good in ("https://shop.example.com/.well-known/jwks.json", "http://127.0.0.1:8000/jwks", "http://localhost/j"):
        validate_jwks_url(good)
    for bad in ("http://shop.example.com/jwks", "ftp://127.0.0.1/jwks", "http://10.0.0.1/jwks", "file:///etc/x"):
        with pytest.raises(ValidationError):
            validate_jwks_url(bad)


# --- token age and audience -------------------------------------------------------------------------


def test_a_token_issued_ten_years_ago_is_refused_whatever_its_exp(caplog):
    private, public = rsa_pair("old")
    setting = setting_with(plain=public)
    now = int(time.time())
    token = customer_token(private, "cust-1", extra={"iat": now - 10 * 365 * 86400, "exp": now + 3600})
    assert "issued (iat)" in refused(setting, token, caplog)


def test_a_token_valid_until_2200_is_refused(caplog):
    private, public = rsa_pair("old")
    setting = setting_with(plain=public)
    token = customer_token(private, "cust-1", extra={"exp": 7258118400})
    assert "valid for" in refused(setting, token, caplog)


def test_the_maximum_token_age_is_the_settings_and_a_lifetime_up_to_it_is_accepted(caplog):
    private, public = rsa_pair("old")
    setting = setting_with(plain=public, max_token_age_seconds=600)
    assert verify(setting, customer_token(private, "cust-1", exp_in=600))["sub"] == "cust-1"
    assert "maximum is 600 s" in refused(setting, customer_token(private, "cust-1", exp_in=3600), caplog)
    now = int(time.time())
    stale = customer_token(private, "cust-1", extra={"iat": now - 700, "exp": now + 60})
    assert "maximum age is 600 s" in refused(setting, stale, caplog)


def test_a_token_issued_in_the_future_is_refused(caplog):
    private, public = rsa_pair("old")
    setting = setting_with(plain=public)
    now = int(time.time())
    token = customer_token(private, "cust-1", extra={"iat": now + 600, "exp": now + 900})
    assert "not valid yet" in refused(setting, token, caplog)


def test_the_audience_when_set_must_be_in_the_tokens_aud(caplog):
    private, public = rsa_pair("old")
    setting = setting_with(plain=public, audience="parley-chat")
    assert verify(setting, customer_token(private, "c", extra={"aud": "parley-chat"}))["sub"] == "c"
    assert verify(setting, customer_token(private, "c", extra={"aud": ["crm", "parley-chat"]}))["sub"] == "c"
    assert "aud does not name 'parley-chat'" in refused(
        setting, customer_token(private, "c", extra={"aud": "crm"}), caplog
    )
    assert "lacks the 'aud' claim" in refused(setting, customer_token(private, "c"), caplog)


def test_a_token_with_an_audience_is_refused_by_a_setting_without_one_and_the_log_says_why(caplog):
    private, public = rsa_pair("old")
    setting = setting_with(plain=public)
    reason = refused(setting, customer_token(private, "c", extra={"aud": "parley-chat"}), caplog)
    assert "names no audience" in reason and "parley-chat" in reason


def test_log_reasons_for_signature_algorithm_and_expiry(caplog):
    private, public = rsa_pair("old")
    ec_private, _ec_public = ec_pair("new")
    setting = setting_with(plain=public)
    assert "signed with ES256" in refused(setting, customer_token(ec_private, "c", alg="ES256"), caplog)
    assert "expired" in refused(setting, customer_token(private, "c", exp_in=-120), caplog)
    assert "not a JWT" in refused(setting, "not-a-jwt", caplog)
    assert "lacks the 'iat' claim" in refused(
        setting,
        jwt.encode({"sub": "c", "exp": int(time.time()) + 60}, signing_key(private), algorithm="RS256"),
        caplog,
    )


# --- the context claim --------------------------------------------------------------------------------


def test_the_verified_context_is_given_to_the_caller():
    private, public = rsa_pair("old")
    setting = setting_with(plain=public)
    context = {"tier": "gold", "orders": 12, "balance": 10.5, "vip": True, "note": "x" * 500}
    claims = verify(setting, customer_token(private, "c", extra={"context": context}))
    assert claims.context == context
    assert verify(setting, customer_token(private, "c")).context == {}


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        ({f"k{i}": i for i in range(31)}, "31 keys"),
        ({"note": "x" * 501}, "501 characters"),
        ({"nested": {"a": 1}}, "only strings, numbers and booleans"),
        ({"list": [1, 2]}, "only strings, numbers and booleans"),
        ({"empty": None}, "only strings, numbers and booleans"),
        ({"big": 2**60}, "beyond"),
        ("tier=gold", "not an object"),
        ({"": "x"}, "1-100 characters"),
    ],
)
def test_an_invalid_context_is_refused_with_the_rule_in_the_log(context, reason, caplog):
    private, public = rsa_pair("old")
    setting = setting_with(plain=public)
    assert reason in refused(setting, customer_token(private, "c", extra={"context": context}), caplog)


# --- over the socket: the client hears only auth_failed -------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_socket_answers_auth_failed_and_only_the_log_says_why(caplog):
    from channels.db import database_sync_to_async as db

    from tests.support import sockets

    private, public = rsa_pair("old")
    auth = await db(factories.make_auth_setting)(public)
    widget = await db(factories.make_setup)(persistent=True, auth=auth)
    token = customer_token(private, "c", extra={"aud": "somebody-else"})
    with caplog.at_level(logging.WARNING, logger="parley.identity"):
        _, client = await sockets.connect(f"/ws/widget/{widget.public_id}/")
        await client.send({"type": "hello", "token": token, "visitor": None})
        error = await client.expect("error")
        assert await client.wait_closed() == 4401
    assert error["code"] == "auth_failed"
    assert "somebody-else" not in json.dumps(error) and "aud" not in error["message"]
    assert any("somebody-else" in r.getMessage() for r in caplog.records if r.name == "parley.identity")


@pytest.mark.django_db(transaction=True)
async def test_a_rotated_key_signs_in_over_the_socket_with_the_context(jwks_server):
    from channels.db import database_sync_to_async as db

    from tests.support import sockets

    private, public = ec_pair("new")
    jwks_server.document = {"keys": [jwk_of(public, "2026-11", alg="ES256", use="sig")]}
    auth = await db(setting_with)(jwks_url=jwks_server.url)
    widget = await db(factories.make_setup)(persistent=True, auth=auth)
    token = customer_token(private, "c-9", name="Cleo", alg="ES256", kid="2026-11", extra={"context": {"tier": "gold"}})
    client, welcome = await sockets.customer(widget, token=token)
    assert welcome["customer"]["name"] == "Cleo"
    await client.close()
