"""The workspace's translations (hub/web/translations, babel-hub.cfg): complete, not fuzzy, compiled."""

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo

from hub.web.i18n import LANGUAGES

from .test_i18n import catalog, done, translated

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "hub" / "web" / "translations"
REDO = "run `make translations` (see babel.cfg and babel-hub.cfg)"


def test_ok__the_template_holds_every_marked_string():
    with open(ROOT / "babel-hub.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords={**DEFAULT_KEYWORDS, "lazy_gettext": None, "L": None})
    marked = {text if isinstance(text, str) else text[0] for _file, _line, text, _comments, _context in found}
    missing = marked - set(translated(catalog(TRANSLATIONS / "messages.pot")))
    assert not missing, f"strings marked for translation but not in messages.pot: {sorted(missing)}; {REDO}"


def test_ok__every_string_has_a_vietnamese_translation():
    template = set(translated(catalog(TRANSLATIONS / "messages.pot")))
    vietnamese = translated(catalog(TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"))
    untranslated = sorted(msgid for msgid in template if not done(vietnamese.get(msgid)))
    assert not untranslated, f"no Vietnamese for {untranslated}: translate them in hub/web/translations/vi, then {REDO}"


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_ok__no_entry_is_fuzzy_and_the_mo_is_the_compiled_po(lang, tmp_path):
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    assert not [m.id for m in catalog(folder / "messages.po") if m.id and m.fuzzy]
    with open(tmp_path / "messages.mo", "wb") as fh:
        write_mo(fh, catalog(folder / "messages.po"))
    assert translated(catalog(folder / "messages.mo")) == translated(catalog(tmp_path / "messages.mo")), f"stale .mo: {REDO}"
