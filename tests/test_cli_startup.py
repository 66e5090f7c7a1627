"""The command line starts light: --help and validate import only what they use.

The heavy libraries (SQLAlchemy, Alembic, psycopg, sqlglot, pglast) are loaded by the
commands that need them; --help lists every command from cli/registry.py without importing
any command module. Checked on sys.modules in a fresh interpreter, not with a stopwatch.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click

from schemactl.cli import main, registry

from .helpers import make_project

HEAVY = ("sqlalchemy", "alembic", "psycopg", "sqlglot", "pglast", "pydantic", "mako")

_PROBE = """
import json, sys
from schemactl.cli import main
try:
    main(sys.argv[1:], prog_name="schemactl")
except SystemExit as done:
    code = done.code
sys.stderr.write(json.dumps({"code": code, "modules": sorted(
    m for m in sys.modules if m.split(".")[0] in HEAVY)}))
""".replace("HEAVY", repr(HEAVY))


def _run(*args: str, cwd: Path | None = None) -> tuple[int, set[str], str]:
    """Exit code, the heavy top-level packages loaded, and stdout of `schemactl args`."""
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True,
                          text=True, cwd=cwd, timeout=60, env={**os.environ, "COLUMNS": "80"})
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], {m.split(".")[0] for m in report["modules"]}, done.stdout


def test_help_imports_none_of_the_heavy_libraries() -> None:
    code, loaded, out = _run("--help")
    assert code == 0
    assert loaded == set(), f"--help imported {sorted(loaded)}"
    assert "validate" in out and "plan" in out


def test_validate_imports_no_database_library(tmp_path: Path) -> None:
    make_project(tmp_path, "tables:\n  t:\n    columns:\n      id: {type: bigint, primary_key: true}\n")
    code, loaded, out = _run("validate", cwd=tmp_path)
    assert code == 0, out
    assert "OK: 1 file, 1 table" in out
    assert not loaded & {"sqlalchemy", "alembic", "psycopg", "mako"}, sorted(loaded)


def test_a_database_command_still_loads_what_it_needs() -> None:
    """The probe can fail: a command that needs SQLAlchemy shows it loaded. (Not plan: its
    module stays light for a plan that is known to have nothing to do.)"""
    code, loaded, _ = _run("status", "--help")
    assert code == 0
    assert "sqlalchemy" in loaded


def test_the_registry_summaries_say_what_the_docstrings_say() -> None:
    ctx = click.Context(main)
    for name, (module, summary) in registry.COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None, f"{name} is not registered by cli/{module}.py"
        assert command.callback is not None
        assert command.callback.__module__ == f"schemactl.cli.{module}", name
        assert command.get_short_help_str(1000) == click.Command(name, help=summary) \
            .get_short_help_str(1000), f"cli/registry.py's summary of {name} differs from its docstring"


def test_every_registered_command_is_in_the_registry() -> None:
    for module in registry.command_modules():
        importlib.import_module(f"schemactl.cli.{module}")
    assert set(main.commands) == set(registry.COMMANDS)


def test_help_lists_the_same_commands_before_and_after_loading_them() -> None:
    """Lazy or loaded, --help says the same (two fresh processes, the second with every
    command module imported first)."""
    code, _, lazy = _run("--help")
    preload = "".join(f"import schemactl.cli.{m}; " for m in registry.command_modules())
    loaded = subprocess.run([sys.executable, "-c", preload + "from schemactl.cli import main; "
                             "main(['--help'], prog_name='schemactl')"], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
    assert code == 0 and loaded.returncode == 0
    assert lazy.split("Commands:")[1] == loaded.stdout.split("Commands:")[1]
