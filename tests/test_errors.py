"""The kiosk's one exception hierarchy: KioskError and the kiosk-wide errors in kiosk/errors.py, the queue's in
kiosk/queue/errors.py, every one also the builtin it matches (the gpiozero way)."""

import ast
import importlib
from pathlib import Path

import pytest

from kiosk.errors import KioskError

ROOT = Path(__file__).resolve().parent.parent
HOMES = ("kiosk.errors", "kiosk.queue.errors")


def exception_classes() -> list[tuple[str, type]]:
    """(module, class) for every exception class defined in kiosk/, read from the source and then imported."""
    found = []
    for path in sorted((ROOT / "kiosk").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        names = [node.name for node in ast.parse(path.read_text(encoding="utf-8")).body if isinstance(node, ast.ClassDef)]
        if names:
            loaded = importlib.import_module(module)
            found += [(module, cls) for cls in map(loaded.__dict__.get, names) if issubclass(cls, BaseException)]
    return found


ERRORS = exception_classes()


def test_ok__every_kiosk_error_is_defined_in_one_of_the_two_error_modules():
    assert {module for module, _ in ERRORS} == set(HOMES)
    assert [f"{module}.{cls.__name__}" for module, cls in ERRORS if module not in HOMES] == []


@pytest.mark.parametrize("cls", [cls for _, cls in ERRORS if cls is not KioskError], ids=lambda cls: cls.__name__)
def test_ok__every_kiosk_error_is_a_kiosk_error_and_its_builtin(cls):
    builtins = [base for base in cls.__mro__ if base.__module__ == "builtins" and base not in (Exception, BaseException, object)]
    assert issubclass(cls, KioskError) and builtins, f"{cls.__name__} inherits {[b.__name__ for b in cls.__mro__]}"
