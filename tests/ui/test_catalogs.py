"""The translation catalogs: complete for every language, and the committed .mo files current."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest

pytest.importorskip("babel", reason="Babel is not installed (pip install babel)")

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

UI_DIR = Path(__file__).resolve().parents[2] / "ui"
LOCALE_DIR = UI_DIR / "locale"
LANGUAGES = ("en", "de", "cs", "fr", "es")
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def source_msgids() -> set[str | tuple[str, str]]:
    """Every string the code passes to ``_()`` or ``ngettext()``, as Babel extracts them."""
    ids: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(UI_DIR)):
        ids.add(message if isinstance(message, str) else tuple(message))
    return ids


def catalog(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "pullprint.po").open("rb") as f:
        return read_po(f, locale=language)


def test_the_code_has_strings_to_translate() -> None:
    assert len(source_msgids()) > 50


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_msgid_has_a_translation(language: str) -> None:
    messages = catalog(language)
    for msgid in source_msgids():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        message = messages.get(key)
        assert message is not None, f"{language}: missing {msgid!r}"
        assert not message.fuzzy, f"{language}: fuzzy {msgid!r}"
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated {msgid!r}"
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(key)), (
                f"{language}: placeholders of {msgid!r} changed in {text!r}"
            )


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_translations_are_in_that_language(language: str) -> None:
    """Not copies of the English: nearly every sentence differs (a few words like "Version"
    or "Gateway" are the same in some languages)."""
    messages = [m for m in catalog(language) if m.id]
    same = [m.id for m in messages if m.string == m.id]
    assert len(same) <= len(messages) // 10, f"{language}: left in English: {same}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_catalog_keeps_strings_the_code_no_longer_uses(language: str) -> None:
    used = {m[0] if isinstance(m, tuple) else m for m in source_msgids()}
    ids = [m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog(language)]
    stale = [msgid for msgid in ids if msgid and msgid not in used]
    assert stale == []


def po_messages(language: str) -> dict[str | tuple[str, int], str]:
    """What a .mo compiled from the .po must hold, keyed the way ``gettext`` keys it: the
    msgid (``context\x04msgid`` with a context), and ``(msgid, index)`` for plural forms.
    Fuzzy and untranslated messages are left out, as msgfmt and Babel leave them out."""
    expected: dict[str | tuple[str, int], str] = {}
    for message in catalog(language):
        if not message.id or message.fuzzy or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        key = f"{message.context}\x04{ids[0]}" if message.context else ids[0]
        if isinstance(message.string, tuple):
            expected |= {(key, i): text for i, text in enumerate(message.string)}
        else:
            expected[key] = message.string
    return expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_committed_mo_says_what_the_po_says(language: str) -> None:
    """Compared by meaning, read back with the standard library's ``gettext``: the bytes
    ``write_mo`` produces change between Babel versions (2.19 reordered them), the messages
    do not."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "pullprint.mo").open("rb") as f:
        committed = gettext.GNUTranslations(f)
    # _catalog is the parsed table itself: the one way to see every entry, extras included.
    messages = {k: v for k, v in committed._catalog.items() if k != ""}  # type: ignore[attr-defined]
    assert messages == po_messages(language), (
        f"{language}: pullprint.mo is out of date; run: python -m ui.i18n"
    )
    plural_forms = catalog(language).plural_forms
    assert committed.info().get("plural-forms") == plural_forms
