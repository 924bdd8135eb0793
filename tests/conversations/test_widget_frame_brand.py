"""The widget's frame page: the visitor's language, the brand colour and the logo (issue 20)."""

from __future__ import annotations

import json
import re

import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def frame(client, widget, **kwargs):
    return client.get(f"/widget/{widget.public_id}/frame/", **kwargs)


def config_of(response) -> dict:
    found = re.search(r'<script id="parley-config" type="application/json">(.*?)</script>', response.text, re.S)
    return json.loads(found.group(1))


def test_an_auto_widget_speaks_the_page_language_else_the_browser_language_else_english(client):
    widget = factories.make_setup(language="auto")
    assert '<html lang="ru">' in frame(client, widget, query_params={"lang": "ru-RU"}).text
    assert '<html lang="ru">' in frame(client, widget, headers={"Accept-Language": "de-DE,ru;q=0.8"}).text
    assert '<html lang="en">' in frame(client, widget, query_params={"lang": "de"}).text
    assert config_of(frame(client, widget, query_params={"lang": "ru"}))["language"] == "ru"


def test_a_fixed_language_ignores_the_page_and_the_browser(client):
    widget = factories.make_setup(language="en")
    answer = frame(client, widget, query_params={"lang": "ru"}, headers={"Accept-Language": "ru"})
    assert '<html lang="en">' in answer.text


def test_the_brand_colour_picks_readable_text_and_the_logo_origin_may_load(client):
    widget = factories.make_setup()
    widget.color = "#fde047"  # a light yellow: dark text
    widget.logo_url = "https://cdn.example.net/brand/logo.png"
    widget.save()
    answer = frame(client, widget)
    config = config_of(answer)
    assert (config["color"], config["onColor"], config["logoUrl"]) == (
        "#fde047",
        "#111827",
        "https://cdn.example.net/brand/logo.png",
    )
    assert "img-src 'self' data: https://cdn.example.net;" in answer["Content-Security-Policy"]
    widget.color = "#1e3a8a"
    widget.logo_url = ""
    widget.save()
    answer = frame(client, widget)
    assert config_of(answer)["onColor"] == "#ffffff"
    assert "img-src 'self' data:;" in answer["Content-Security-Policy"]
