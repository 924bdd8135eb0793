"""Authentication settings with several keys: the admin form and import_config refuse the same keys with
the same reasons, import and export carry keys, JWKS URL, audience and maximum token age, and the admin
page shows each key's fingerprint and last use."""

from __future__ import annotations

import functools

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from admin_center.authentication_admin import fingerprint_html
from admin_center.config_io import ConfigError, export_configuration, import_configuration
from admin_center.demo_keys import pem_pair
from admin_center.models import ChatAuthenticationKey, ChatAuthenticationSetting
from admin_center.signing_keys import display_fingerprint, pem_fingerprint
from admin_center.validators import validate_public_key_pem
from tests import factories

pytestmark = pytest.mark.django_db


@functools.cache
def good_pem(name: str = "a") -> str:
    return pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))[1]


@functools.cache
def ec_pem() -> str:
    return pem_pair(ec.generate_private_key(ec.SECP256R1()))[1]


def public_pem(private_key) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@functools.cache
def bad_keys() -> dict[str, tuple[str, str]]:
    """name -> (PEM, what the refusal says)."""
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point of the test
    p384 = ec.generate_private_key(ec.SECP384R1())
    private_pem = pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))[0]
    return {
        "rsa-1024": (public_pem(weak), "1024 bits; at least 2048"),
        "ec-p384": (public_pem(p384), "secp384r1; only P-256"),
        "ed25519": (public_pem(ed25519.Ed25519PrivateKey.generate()), "Only RSA (RS256) and EC P-256"),
        "private": (private_pem, "This is a private key"),
        "garbage": ("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "not an RSA or EC public key"),
        "empty": ("", "Paste a public key"),
        # an EC key on a curve the cryptography library cannot load at all (secp112r1)
        "unsupported-curve": (SECP112R1_PEM, "not an RSA or EC public key"),
    }


SECP112R1_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MDIwEAYHKoZIzj0CAQYFK4EEAAYDHgAECUhyOZlaXudrVfnC8JionOWvhyTAoj4OD/d1AA==\n"
    "-----END PUBLIC KEY-----\n"
)


@pytest.mark.parametrize("name", ["rsa-1024", "ec-p384", "ed25519", "private", "garbage", "empty", "unsupported-curve"])
def test_keys_that_cannot_be_safe_or_cannot_verify_are_refused_with_the_reason(name):
    pem, reason = bad_keys()[name]
    with pytest.raises(ValidationError) as error:
        validate_public_key_pem(pem)
    assert reason in error.value.messages[0]


def test_rsa_2048_and_ec_p256_keys_are_accepted():
    validate_public_key_pem(good_pem())
    validate_public_key_pem(ec_pem())


# --- import and export ------------------------------------------------------------------------------


def auth_document(**setting) -> dict:
    return {"version": 1, "authentication_settings": [{"name": "Shop JWT", **setting}]}


def test_import_and_export_carry_keys_jwks_url_audience_and_maximum_age():
    document = auth_document(
        public_key_pem=None,
        keys=[{"kid": "2026-10", "public_key_pem": good_pem("a")}, {"kid": "2026-11", "public_key_pem": ec_pem()}],
        jwks_url="https://shop.example.com/.well-known/jwks.json",
        issuer="https://shop.example.com",
        audience="parley",
        max_token_age_seconds=900,
        javascript_function="shop.getChatToken",
    )
    report = import_configuration(document)
    assert report.created["authentication_settings"] == 1
    setting = ChatAuthenticationSetting.objects.get()
    assert sorted(setting.keys.values_list("kid", flat=True)) == ["2026-10", "2026-11"]
    assert setting.keys.get(kid="2026-11").fingerprint == pem_fingerprint(ec_pem())
    [exported] = export_configuration()["authentication_settings"]
    assert exported == document["authentication_settings"][0]
    again = import_configuration({"version": 1, "authentication_settings": [exported]})
    assert again.unchanged["authentication_settings"] == 1


def test_a_version_1_setting_with_public_key_pem_alone_still_imports():
    import_configuration(auth_document(public_key_pem=good_pem(), issuer=None, javascript_function="getChatToken"))
    setting = ChatAuthenticationSetting.objects.get()
    assert setting.public_key_pem == good_pem() and setting.keys.count() == 0
    assert setting.max_token_age_seconds == 86400 and setting.audience == ""


def test_the_keys_list_is_the_whole_set_and_a_kept_key_keeps_its_last_use():
    import_configuration(
        auth_document(
            keys=[{"kid": "old", "public_key_pem": good_pem("a")}, {"kid": "new", "public_key_pem": ec_pem()}]
        )
    )
    used = timezone.now()
    ChatAuthenticationKey.objects.filter(kid="new").update(last_used_at=used)
    report = import_configuration(auth_document(keys=[{"kid": "new", "public_key_pem": ec_pem()}]))
    assert report.updated["authentication_settings"] == 1
    assert list(ChatAuthenticationKey.objects.values_list("kid", "last_used_at")) == [("new", used)]


@pytest.mark.parametrize(
    ("setting", "problem"),
    [
        ({"keys": [{"kid": "a", "public_key_pem": "rsa-1024"}]}, "keys[0].public_key_pem: The RSA key has 1024 bits"),
        ({"public_key_pem": "ec-p384"}, "public_key_pem: The EC key is on the curve secp384r1"),
        ({"keys": [{"kid": "", "public_key_pem": "good"}]}, "keys[0].kid: Enter a key id"),
        (
            {"keys": [{"kid": "a", "public_key_pem": "good"}, {"kid": "a", "public_key_pem": "good"}]},
            "keys[1].kid: a appears twice",
        ),
        ({"keys": [{"kid": "a", "pem": "good"}]}, "keys[0].pem: unknown field"),
        ({"public_key_pem": None}, "public_key_pem: Give at least one public key"),
        ({"jwks_url": "http://shop.example.com/jwks"}, "jwks_url: Enter an https:// URL"),
        ({"public_key_pem": "good", "max_token_age_seconds": 10}, "max_token_age_seconds: Enter a number of seconds"),
        ({"keys": [{"kid": f"k{i}", "public_key_pem": "good"} for i in range(11)]}, "keys: At most 10 keys"),
    ],
)
def test_import_refuses_what_the_admin_form_refuses_and_names_the_path(setting, problem):
    def resolve(value):
        if value == "good":
            return good_pem()
        return bad_keys()[value][0] if isinstance(value, str) and value in bad_keys() else value

    setting = {key: resolve(value) for key, value in setting.items()}
    if "keys" in setting:
        setting["keys"] = [{k: resolve(v) for k, v in row.items()} for row in setting["keys"]]
    with pytest.raises(ConfigError) as error:
        import_configuration(auth_document(**setting))
    assert any(line.startswith(f"authentication_settings[0].{problem}") for line in error.value.problems), (
        error.value.problems
    )
    assert not ChatAuthenticationSetting.objects.exists()


# --- the admin page -----------------------------------------------------------------------------------


@pytest.fixture
def ada(client):
    user = get_user_model().objects.create_superuser("ada", "ada@example.com", "ada-password-1")
    client.force_login(user)
    return user


def form_data(**fields) -> dict:
    data = {"name": "Shop JWT", "public_key_pem": "", "jwks_url": "", "issuer": "", "audience": "",
            "max_token_age_seconds": "86400", "javascript_function": "getChatToken",
            "keys-TOTAL_FORMS": "0", "keys-INITIAL_FORMS": "0", "keys-MIN_NUM_FORMS": "0",
            "keys-MAX_NUM_FORMS": "1000"}  # fmt: skip
    keys = fields.pop("keys", [])
    data.update(fields)
    data["keys-TOTAL_FORMS"] = str(len(keys))
    for index, (kid, pem) in enumerate(keys):
        data[f"keys-{index}-kid"] = kid
        data[f"keys-{index}-public_key_pem"] = pem
    return data


def test_the_admin_adds_a_setting_with_two_keys_and_shows_their_fingerprints_and_last_use(client, ada):
    add = reverse("admin:admin_center_chatauthenticationsetting_add")
    response = client.post(add, form_data(keys=[("2026-10", good_pem("a")), ("2026-11", ec_pem())]))
    assert response.status_code == 302, response.context["adminform"].form.errors
    setting = ChatAuthenticationSetting.objects.get()
    ChatAuthenticationKey.objects.filter(kid="2026-10").update(last_used_at=timezone.now())
    page = client.get(reverse("admin:admin_center_chatauthenticationsetting_change", args=[setting.pk])).content
    page = page.decode()
    assert fingerprint_html(pem_fingerprint(good_pem("a"))) in page
    assert fingerprint_html(pem_fingerprint(ec_pem())) in page
    assert display_fingerprint(pem_fingerprint(ec_pem())).startswith("SHA256:")
    assert "2026-10" in page and "2026-11" in page


@pytest.mark.parametrize("name", ["rsa-1024", "ec-p384", "private"])
def test_the_admin_refuses_a_weak_key_on_its_field(client, ada, name):
    pem, reason = bad_keys()[name]
    add = reverse("admin:admin_center_chatauthenticationsetting_add")
    response = client.post(add, form_data(public_key_pem=pem))
    assert reason in response.context["adminform"].form.errors["public_key_pem"][0]
    response = client.post(add, form_data(keys=[("k1", pem)]))
    assert response.status_code == 200
    assert reason in str(response.context["inline_admin_formsets"][0].formset.errors)
    assert not ChatAuthenticationSetting.objects.exists()


def test_the_admin_refuses_a_setting_without_any_key(client, ada):
    response = client.post(reverse("admin:admin_center_chatauthenticationsetting_add"), form_data())
    assert response.status_code == 200
    assert "Give at least one public key" in str(response.context["inline_admin_formsets"][0].formset.non_form_errors())


def test_the_admin_shows_the_jwks_error_and_its_keys(client, ada):
    setting = ChatAuthenticationSetting.objects.create(
        name="Shop JWKS",
        jwks_url="https://shop.example.com/jwks.json",
        jwks_error="the URL could not be fetched: timed out",
        jwks_error_at=timezone.now(),
        jwks_fetched_at=timezone.now(),
        jwks_keys=[{"kid": "2026-11", "fingerprint": "ab" * 32, "last_used_at": None}],
    )
    page = client.get(reverse("admin:admin_center_chatauthenticationsetting_change", args=[setting.pk])).content
    page = page.decode()
    assert "the URL could not be fetched: timed out" in page
    assert "2026-11" in page and fingerprint_html("ab" * 32) in page
    listing = client.get(reverse("admin:admin_center_chatauthenticationsetting_changelist")).content.decode()
    assert "Shop JWKS" in listing and "error" in listing


# --- the loader learns the configured token function from Parley ----------------------------------------


def test_loader_config_names_the_configured_function_and_only_allowed_origins_may_read_it(client):
    auth = factories.make_auth_setting(good_pem())
    ChatAuthenticationSetting.objects.filter(pk=auth.pk).update(javascript_function="shop.getChatToken")
    widget = factories.make_setup(persistent=True, auth=auth, allowed_origins=("https://shop.example.com",))
    url = reverse("widget-loader-config", args=[widget.public_id])
    response = client.get(url, HTTP_ORIGIN="https://shop.example.com")
    assert response.json() == {"token_function": "shop.getChatToken"}
    assert response["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "Access-Control-Allow-Origin" not in client.get(url, HTTP_ORIGIN="https://evil.example.com")
    live = factories.make_setup()
    assert client.get(reverse("widget-loader-config", args=[live.public_id])).json() == {"token_function": None}
    assert client.get(reverse("widget-loader-config", args=["no-such-widget"])).status_code == 404
