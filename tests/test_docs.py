"""Docs are part of the change: every command, option and setting must be documented."""

import argparse
import re
import tempfile
from pathlib import Path

import pytest

from hub import cli as hub_cli
from hub import config as hub_config
from kiosk import cli as kiosk_cli
from kiosk.config import documented_keys, env_name

ROOT = Path(__file__).resolve().parent.parent
CLI_DOC = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
CONFIG_DOC = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(parser: argparse.ArgumentParser, prefix: str):
    """Yield (command path, option strings) for a parser and its subcommands."""
    options = [s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
    yield prefix, options
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, f"{prefix} {name}")


ALL = list(commands(kiosk_cli.parser(), "kiosk")) + list(commands(hub_cli.parser(), "hub"))


@pytest.mark.parametrize("command, options", ALL, ids=[c for c, _ in ALL])
def test_ok__every_command_and_option_is_documented(command, options):
    assert f"{command}" in CLI_DOC, f"`{command}` is missing from docs/cli.md"
    for option in options:
        assert f"`{option}" in CLI_DOC, f"{command} {option} is missing from docs/cli.md"


@pytest.mark.parametrize("key", sorted(documented_keys()))
def test_ok__every_setting_is_documented(key):
    assert f"`{key}`" in CONFIG_DOC, f"{key} is missing from docs/config.md"
    assert f"`{env_name(key)}`" in CONFIG_DOC


HUB_CONFIG_DOC = (ROOT / "docs" / "hub-config.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(hub_config.documented_keys()))
def test_ok__every_hub_setting_is_documented(key):
    assert f"`{key}`" in HUB_CONFIG_DOC, f"{key} is missing from docs/hub-config.md"
    assert hub_config.documented_keys()[key] in HUB_CONFIG_DOC, f"docs/hub-config.md says something else of {key}"


def test_ok__readme_names_the_two_commands():
    assert "make demo" in README and "make test" in README


def api_routes() -> list[str]:
    from kiosk.config import build
    from kiosk.queue.site import Site
    from kiosk.queue.store import Store
    from kiosk.web import Services, create_app

    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "k.db")
        app = create_app(Services(build({}).replace("web", secret_key="docs"), Site(store, "docs")))  # no key file in var/
        store.close()
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<int:\w+>", "<id>", rule.rule).replace("<name>", "{name}")
            rules.extend((method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"}))
    return rules


API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("method, path", api_routes())
def test_ok__every_api_route_is_documented(method, path):
    if "{name}" in path:  # one route serves several actions: each must be documented
        prefix = path.split("{name}")[0]
        assert f"`{method} {prefix}" in API_DOC, f"{method} {path} is missing from docs/api.md"
    else:
        assert f"`{method} {path}" in API_DOC, f"{method} {path} is missing from docs/api.md"


def test_ok__every_api_action_is_documented():
    from kiosk.web.staff_actions import COMMANDS

    for name in COMMANDS:
        if name != "acknowledge":
            assert f"/{name}`" in API_DOC, f"the API action {name} is missing from docs/api.md"


def test_ok__every_event_a_use_case_writes_is_documented():
    from kiosk.queue.states import EVENTS

    written = set(EVENTS.values())
    for path in (ROOT / "kiosk" / "queue").glob("*.py"):
        written |= set(re.findall(r'emit\(db, "([A-Za-z]+)"', path.read_text(encoding="utf-8")))
    doc = (ROOT / "docs" / "workflow.md").read_text(encoding="utf-8")
    assert {"PersonCheckedIn", "LotOpened", "AefiRecorded"} <= written
    assert not [e for e in sorted(written) if f"`{e}`" not in doc], "events missing from docs/workflow.md"


ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
PRODUCT = ("wire", "vaccines", "daemon", "staffweb", "kiosk", "hub")
PACKAGES = sorted(
    str(init.parent.relative_to(ROOT)) for top in PRODUCT for init in (ROOT / top).rglob("__init__.py")
)


@pytest.mark.parametrize("package", PACKAGES)
def test_ok__the_layout_page_names_every_package(package):
    # a package added or moved without docs/architecture.md saying what it is fails here
    assert f"{package.rpartition('/')[2]}/" in ARCHITECTURE, f"{package}/ is missing from docs/architecture.md"


def tree_modules() -> list[str]:
    """Every `name.py` the tree in docs/architecture.md lists, with the folder it is listed under."""
    block = ARCHITECTURE.split("## The tree", 1)[1].split("```")[1]
    found, top, folder = [], "", ""
    for line in block.splitlines():
        # a folder line names its folder first (a nested one too: store/postgres/), then its modules after spaces
        start = re.match(r"( *)([a-z0-9_]+/(?:[a-z0-9_]+/)*)? *", line)
        head = start.group(2) or ""
        if head and not line.startswith(" "):
            top, folder = head, head
        elif head:
            folder = top + head
        found += [folder + name for name in re.findall(r"\b([a-z0-9_]+(?:\.[a-z0-9_]+)*\.(?:py|toml|json))\b", line[start.end():])]
    return found


@pytest.mark.parametrize("path", tree_modules())
def test_ok__every_file_the_layout_page_names_exists(path):
    assert (ROOT / path).is_file(), f"docs/architecture.md names {path}, which does not exist"


@pytest.mark.parametrize("path", sorted(
    str(p.relative_to(ROOT)) for top in PRODUCT for p in (ROOT / top).rglob("*.py") if p.name not in ("__init__.py", "__main__.py")
))
def test_ok__the_layout_page_lists_every_module(path):
    assert path in tree_modules(), f"{path} is missing from the tree in docs/architecture.md"


def hub_web_routes() -> list[tuple[str, str]]:
    from hub.store.sqlite import open_store
    from hub.web import Services, WebSettings, create_app

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "hub.db")
        app = create_app(Services(store, store.path, WebSettings(secret_key="docs")))
        store.close()
    return sorted(
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule))
        for rule in app.url_map.iter_rules() if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    )


HUB_WEB_DOC = (ROOT / "docs" / "hub-web.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("method, path", hub_web_routes())
def test_ok__every_hub_web_route_is_documented(method, path):
    assert f"`{method} {path}`" in HUB_WEB_DOC, f"{method} {path} is missing from docs/hub-web.md"
