"""hub/errors.py: one hierarchy whose classes also inherit the builtin each stands for; `hub` prints any of them as one
line and exits 2."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import hub
from hub import cli, errors

BUILTINS = [
    (errors.StoreError, RuntimeError),
    (errors.CAError, ValueError),
    (errors.PasswordFileError, ValueError),
    (errors.BrokerError, ValueError),
    (errors.WorkerDied, ChildProcessError),
    (errors.PasswordRuleError, ValueError),
    (errors.StaffError, ValueError),
    (errors.RosterFileError, ValueError),
]


@pytest.mark.parametrize(("error", "builtin"), BUILTINS)
def test_ok__each_error_is_a_hub_error_and_its_builtin(error, builtin):
    assert issubclass(error, errors.HubError) and issubclass(error, builtin)


def test_ok__every_exception_the_hub_defines_is_a_hub_error():
    names = [info.name for info in pkgutil.walk_packages(hub.__path__, "hub.") if not info.name.endswith("__main__")]
    defined = [cls for name in names for _, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass)
               if cls.__module__ == name and issubclass(cls, BaseException)]
    assert errors.StoreError in defined
    assert [cls.__name__ for cls in defined if not issubclass(cls, errors.HubError)] == []


def test_fail__a_hub_error_is_one_line_and_exit_status_2(capsys, tmp_path):
    missing = tmp_path / "hub.db"
    assert cli.main(["quarantine", "--db", str(missing)]) == 2  # StoreError: a RuntimeError, caught as a HubError
    assert capsys.readouterr().err == f"hub: no hub database at {missing}\n"
