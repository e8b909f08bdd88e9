"""Translations: catalogues complete and compiled, and the language switch on the real app."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from kiosk.web import Services, create_app
from kiosk.web.i18n import LANGUAGES

from .web_helpers import csrf_token

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "kiosk" / "web" / "translations"
REDO = "run `make translations` (see babel.cfg)"


def catalog(path: Path):
    with open(path, "rb") as fh:
        return read_mo(fh) if path.suffix == ".mo" else read_po(fh)


def translated(cat) -> dict:
    """msgid (a plural's singular) -> its translation (a plural's forms as a tuple)."""
    return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in cat if m.id}


def done(string) -> bool:
    return all(string) if isinstance(string, (tuple, list)) else bool(string)


def test_ok__the_template_holds_every_marked_string():
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "L": None}  # as the Makefile passes them
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)
    marked = {text if isinstance(text, str) else text[0] for _file, _line, text, _comments, _context in found}
    missing = marked - set(translated(catalog(TRANSLATIONS / "messages.pot")))
    assert not missing, f"strings marked for translation but not in messages.pot: {sorted(missing)}; {REDO}"


def test_ok__every_string_has_a_vietnamese_translation():
    template = set(translated(catalog(TRANSLATIONS / "messages.pot")))
    vietnamese = translated(catalog(TRANSLATIONS / "vi" / "LC_MESSAGES" / "messages.po"))
    untranslated = sorted(msgid for msgid in template if not done(vietnamese.get(msgid)))
    assert not untranslated, f"no Vietnamese for {untranslated}: translate them in vi/LC_MESSAGES/messages.po, then {REDO}"


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_ok__no_entry_is_fuzzy(lang):
    fuzzy = [m.id for m in catalog(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po") if m.id and m.fuzzy]
    assert not fuzzy, f"{lang}: check these guessed translations and remove their '#, fuzzy' line: {fuzzy}"


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_ok__the_committed_mo_is_the_compiled_po(lang, tmp_path):
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    with open(tmp_path / "messages.mo", "wb") as fh:
        write_mo(fh, catalog(folder / "messages.po"))
    assert translated(catalog(folder / "messages.mo")) == translated(catalog(tmp_path / "messages.mo")), f"stale .mo: {REDO}"


@pytest.fixture
def services(config, site):
    return Services(config, site)


@pytest.fixture
def client(services):
    return create_app(services).test_client()


def heading(client) -> str:
    return re.search(r"<h1>(.*)</h1>", client.get("/login").get_data(as_text=True)).group(1)


def switch(client, lang, next="/login"):
    form = {"csrf_token": csrf_token(client), "lang": lang} | ({"next": next} if next is not None else {})
    return client.post("/lang", data=form)


def test_ok__the_configured_language_is_the_default(services, client):
    assert heading(client) == "Đăng nhập nhân viên"
    assert '<html lang="vi">' in client.get("/login").get_data(as_text=True)
    services.config = services.config.replace("web", language="en")
    assert heading(create_app(services).test_client()) == "Staff sign-in"


def test_ok__switching_language_changes_the_rendered_strings(client):
    response = switch(client, "en", next="/login?next=/desk")
    assert response.status_code == 302 and response.location == "/login?next=/desk"
    assert heading(client) == "Staff sign-in"
    switch(client, "vi")
    assert heading(client) == "Đăng nhập nhân viên"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example", None])
def test_fail__switching_language_never_leaves_the_site(client, next_url):
    assert switch(client, "en", next=next_url).location == "/login"


def test_fail__an_unknown_language_is_refused(client):
    assert switch(client, "fr").status_code == 400
    assert heading(client) == "Đăng nhập nhân viên"


def test_fail__switching_language_needs_the_csrf_token(client):
    assert client.post("/lang", data={"lang": "en"}).status_code == 400
    assert heading(client) == "Đăng nhập nhân viên"


def test_ok__the_citizen_screen_keeps_both_languages(client):
    switch(client, "en")
    html = client.get("/").get_data(as_text=True)
    assert "Đưa mã QR" in html and "Hold the QR code" in html
