"""Translations for the tray: gettext catalogs under ``ui/locale/<lang>/LC_MESSAGES``.

Every user-facing string goes through ``_()``, which looks the text up in the language chosen
*now*, not the one in force when the module was imported. That is what lets the Language menu
switch live: widgets call ``_()`` again in their ``retranslate()`` and get the new words.

The ``.po`` files are the source; the ``.mo`` files next to them are compiled from them with Babel
(``python -m ui.i18n`` or ``pybabel compile -d ui/locale -D pullprint``) and committed, so that
the tray needs no Babel at run time. A test fails when a ``.mo`` is older than its ``.po``.
"""

from __future__ import annotations

import gettext
import locale
import os
from pathlib import Path

DOMAIN = "pullprint"
LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "en"
# Each language in its own words: someone who cannot read the current language must still be
# able to find theirs in the menu, so these names are deliberately never translated.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "cs": "Čeština",
    "fr": "Français",
    "es": "Español",
}

_current = DEFAULT_LANGUAGE
_translation: gettext.NullTranslations = gettext.NullTranslations()


def _(message: str) -> str:
    """``message`` in the current language (the English text itself when there is none)."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The right plural form for ``n`` in the current language (Czech has three)."""
    return _translation.ngettext(singular, plural, n)


def current_language() -> str:
    return _current


def set_language(language: str) -> bool:
    """Use ``language`` from now on; False (and no change) when we have no catalog for it."""
    global _current, _translation
    if language not in LANGUAGES:
        return False
    try:
        _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])
    except OSError:
        # English needs no catalog to work; any other language without a .mo is a packaging
        # mistake that the catalog tests catch, so fall back to the source strings.
        _translation = gettext.NullTranslations()
    _current = language
    return True


def system_language() -> str:
    """The desktop's language if we have it, else English; used until the service says."""
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        code = value.split(":")[0][:2].lower()
        if code in LANGUAGES:
            return code
    code = (locale.getlocale()[0] or "")[:2].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def compile_catalogs(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Compile every ``.po`` under ``locale_dir`` to the ``.mo`` beside it; returns the ``.mo``s.

    Needs Babel, which is a development dependency only.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po_path in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parent.parent.name)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as f:
            write_mo(f, catalog)
        written.append(mo_path)
    return written


if __name__ == "__main__":
    for path in compile_catalogs():
        print(path)
