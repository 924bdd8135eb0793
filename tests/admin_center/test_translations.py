"""The Russian translation is complete and its compiled catalogue is current."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from django.utils import translation

LOCALE = Path(__file__).resolve().parents[2] / "config" / "locale" / "ru" / "LC_MESSAGES"


def po_entries() -> list[tuple[str, list[str], bool]]:
    """``(msgid, msgstrs, fuzzy)`` of every entry but the header, read from django.po. An entry with a
    ``msgctxt`` has the key gettext stores it under: ``context + "\\x04" + msgid``."""
    entries, current, field, fuzzy, context = [], None, None, False, None
    for line in [*(LOCALE / "django.po").read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith("#,"):
            fuzzy = "fuzzy" in line
        elif line.startswith("msgctxt "):
            context, field = ast.literal_eval(line[8:]), "msgctxt"
        elif line.startswith("msgid "):
            prefix = "" if context is None else context + "\x04"
            current, field = {"prefix": prefix, "msgid": ast.literal_eval(line[6:]), "msgstr": []}, "msgid"
        elif line.startswith("msgid_plural "):
            field = "plural"
        elif line.startswith("msgstr"):
            current["msgstr"].append(ast.literal_eval(line.split(" ", 1)[1]))
            field = "msgstr"
        elif line.startswith('"') and field == "msgctxt":
            context += ast.literal_eval(line)
        elif line.startswith('"') and current is not None:
            if field == "msgid":
                current["msgid"] += ast.literal_eval(line)
            elif field == "msgstr":
                current["msgstr"][-1] += ast.literal_eval(line)
        elif not line.strip() and current is not None:
            if current["msgid"]:
                entries.append((current["prefix"] + current["msgid"], current["msgstr"], fuzzy))
            current, field, fuzzy, context = None, None, False, None
    return entries


def test_every_message_has_a_russian_translation():
    entries = po_entries()
    assert len(entries) > 300
    missing = [msgid for msgid, msgstrs, fuzzy in entries if fuzzy or not all(msgstrs)]
    assert missing == []


def test_the_compiled_catalogue_matches_the_source():
    with (LOCALE / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    for msgid, msgstrs, _fuzzy in po_entries():
        if len(msgstrs) == 1:
            assert catalogue.gettext(msgid) == msgstrs[0], msgid


@pytest.mark.parametrize(
    ("english", "russian"),
    [("Customer widget", "Виджет клиента"), ("Set aside", None)],
)
def test_django_serves_the_russian_strings(english, russian):
    with translation.override("ru"):
        translated = translation.gettext(english)
    if russian is not None:
        assert translated == russian
    else:
        assert translated != english
