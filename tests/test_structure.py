"""The shape of the code: which package may import which, no import loops, and a hub that runs without the kiosk's libraries.

Imports are read from the source (ast), including those inside functions, so
a loop held together by a late import is still a loop. ``from pkg import x``
counts as an import of ``pkg.x`` when x is a submodule and of ``pkg``
otherwise; a submodule's implicit import of its parent package is not counted
(Python runs the parent's ``__init__`` first, it cannot loop).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("wire", "vaccines", "daemon", "staffweb", "kiosk", "hub")

MAY_IMPORT = {
    "wire": {"wire"},
    "vaccines": {"vaccines", "wire"},
    "daemon": {"daemon"},
    "staffweb": {"staffweb"},
    "kiosk": {"kiosk", "wire", "vaccines", "daemon", "staffweb"},
    "hub": {"hub", "wire", "vaccines", "daemon", "staffweb"},
}
"""Each top-level package and the product packages it may import: kiosk and hub meet only in wire, vaccines and
staffweb (what their staff pages share)."""
STAFFWEB_LIBRARIES = {"flask", "werkzeug"}
"""The libraries staffweb may import besides Python's own: it is shared web plumbing, nothing more."""
WEB_LIBRARIES = ("flask", "werkzeug", "jinja2", "flask_babel", "flask_wtf")
"""What only `hub web` needs: `hub run`, its merge worker and the other commands never load it."""

KIOSK_ONLY_LIBRARIES = ("kiosk", "cv2", "numpy", "gpiozero", "zxingcpp", "pyzbar", "picamera2", "PIL", "sqlite_utils")
"""What a hub-only install (`pip install .[hub]`) does not have (Flask it has: `hub web`)."""


def module_files() -> dict[str, Path]:
    """Every product module by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = module_files()


def imported(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The dotted names one import statement in module loads."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base = base[:-1]
    if node.level:
        base = base[: len(base) - node.level + 1]
    else:
        base = []
    source = ".".join(base + ([node.module] if node.module else []))
    for alias in node.names:
        yield f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source


def product_module(name: str) -> str | None:
    """The product module name stands for (a name inside a module counts as the module), or None for a library."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """Each product module and the product modules it imports anywhere in its body."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        edges = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges.update(t for t in map(product_module, imported(module, node)) if t and t != module)
    return graph


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        found.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return found


GRAPH = import_graph()


def test_ok__the_graph_sees_late_imports():
    # the checker itself: a late import inside a function is an edge (hub.cli imports its commands lazily)
    assert "hub.commands" in GRAPH["hub.cli"]
    assert loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", PACKAGES)
def test_ok__each_package_imports_only_what_it_may(package):
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == package
        for target in targets
        if target.split(".")[0] not in MAY_IMPORT[package]
    )
    assert not wrong, "\n".join(wrong)


def test_ok__no_import_loops():
    assert not loops(GRAPH), "\n".join(" <-> ".join(group) for group in loops(GRAPH))


def loaded_by(modules: list[str], libraries: tuple[str, ...]) -> list[str]:
    """Which of ``libraries`` importing ``modules`` in a fresh interpreter loads."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(libraries)!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_ok__the_hub_runs_without_the_kiosk_or_its_libraries():
    # every hub module imported in a fresh interpreter: none of the kiosk's code or hardware libraries comes with it
    hub_modules = sorted(m for m in MODULES if m.split(".")[0] in ("hub", "wire", "vaccines", "daemon", "staffweb")
                         and not m.endswith("__main__"))
    assert loaded_by(hub_modules, KIOSK_ONLY_LIBRARIES) == []


TABLE_ACCESS = re.compile(r'\.execute\(|executemany|SELECT |INSERT |UPDATE |DELETE |PRAGMA|\.table\(|\.query\(|db\["')
"""SQL, pragmas and sqlite-utils table access, as they read in the source."""


@pytest.mark.parametrize(("package", "store"), [("kiosk", "queue"), ("hub", "store")])
def test_ok__only_the_store_packages_touch_tables(package, store):
    # the web, the scanner, doctor and the publisher call the store's functions and use cases, never the tables;
    # the hub's subscriber, worker and commands go through hub/store/ (where a PostgreSQL store will sit beside sqlite.py)
    touching = sorted(
        str(path.relative_to(ROOT)) for path in (ROOT / package).rglob("*.py")
        if path.relative_to(ROOT).parts[1] != store and TABLE_ACCESS.search(path.read_text(encoding="utf-8"))
    )
    assert not touching, f"table access outside {package}/{store}/: {touching}"


def test_ok__the_hub_s_processes_but_hub_web_run_without_flask():
    # hub/store imports staffweb.lockouts (the lockout rule): that must not bring the web framework into `hub run`
    modules = sorted(m for m in MODULES if m.split(".")[0] in ("hub", "wire", "vaccines", "daemon")
                     and not m.startswith("hub.web") and not m.endswith("__main__")) + ["staffweb", "staffweb.lockouts"]
    assert "hub.store" in modules and "hub.subscriber" in modules
    assert loaded_by(modules, WEB_LIBRARIES) == []


def test_ok__staffweb_imports_only_python_flask_and_werkzeug():
    libraries = {
        alias.split(".")[0]
        for module, path in MODULES.items() if module.split(".")[0] == "staffweb"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0)
        for alias in ([node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names])
    }
    assert libraries - set(sys.stdlib_module_names) - {"staffweb"} <= STAFFWEB_LIBRARIES
