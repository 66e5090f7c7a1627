"""Hostile or careless input never wins: no traceback, no hang, no half-written project,
every error located. (The YAML loader's bounds and validate's new checks are data files in
tests/data/invalid/; the command-line misuse matrix is tests/test_misuse.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy.engine import URL

from schemactl import pipeline
from schemactl.cli import common, main, spec_cmds
from schemactl.errors import SpecError
from schemactl.files import FileTransaction, check_writable
from schemactl.spec.load import load_text
from schemactl.spec.validate import validate

from .helpers import REPO, make_project

DATA = Path(__file__).parent / "data"
PLAN_REFUSED: list[dict[str, Any]] = yaml.safe_load((DATA / "plan_refused.yaml").read_text())


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every file and directory under root with its content: 'the project is unchanged'.
    Not .schemactl/, the local state (gitignored): a desired catalog cached by a plan that
    then failed is keyed by content and stays valid."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*")) if ".schemactl" not in p.relative_to(root).parts}


# ---- limits validate knows without a database -----------------------------------------------


def _wide_table(columns: int) -> str:
    return "tables:\n  wide:\n    columns:\n" + "".join(f"      c{i}: int\n" for i in range(columns))


def test_a_table_of_1601_columns_is_refused_and_1600_are_accepted() -> None:
    with pytest.raises(SpecError) as info:
        validate([load_text(_wide_table(1601), "wide.yaml")])
    [diagnostic] = info.value.diagnostics
    assert (diagnostic.code, diagnostic.line, diagnostic.column) == ("E106", 2, 3)
    assert "1601 columns; PostgreSQL allows 1600" in diagnostic.message
    assert len(validate([load_text(_wide_table(1600), "wide.yaml")]).tables[0].columns) == 1600


def test_exponential_yaml_is_refused_quickly() -> None:
    """A billion laughs used as a default made validate hang (no output after 60 s)."""
    text = "x-0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"x-{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))
    text += "tables:\n  t:\n    columns:\n      a: {type: jsonb, default: *a9}\n"
    started = time.monotonic()
    with pytest.raises(SpecError) as info:
        validate([load_text(text, "laughs.yaml")])
    assert time.monotonic() - started < 5
    assert info.value.diagnostics[0].code == "E003"


# ---- what only PostgreSQL can judge is located in the YAML -----------------------------------


@pytest.mark.parametrize("case", PLAN_REFUSED, ids=lambda c: c["id"])
def test_plan_names_the_yaml_place_postgresql_refused(
        case: dict[str, Any], tmp_path: Path, server_url: URL) -> None:
    project = make_project(tmp_path / "app", case["schema"])
    before = _tree(project.root)
    result = CliRunner().invoke(main, ["-C", str(project.root), "plan", "-m", "x"],
                                env={"SHADOW_DATABASE_URL": _url(server_url), "DATABASE_URL": None})
    assert result.exit_code == 1, result.output
    where, obj = case["expect"].split(" ", 1)
    assert f"schema/app.yaml:{where}: error[E901]: {obj}: PostgreSQL refuses it" in result.output
    assert case["says"] in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert _tree(project.root) == before


# ---- all or nothing --------------------------------------------------------------------------


def test_file_transaction_puts_everything_back(tmp_path: Path) -> None:
    kept = tmp_path / "kept.txt"
    kept.write_text("before")
    with pytest.raises(RuntimeError), FileTransaction() as files:
        files.write_text(kept, "after")
        files.write_text(tmp_path / "new" / "deep" / "file.txt", "new")
        raise RuntimeError("half way")
    assert kept.read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]


def test_check_writable_names_the_path(tmp_path: Path) -> None:
    (tmp_path / "a_file").write_text("")
    (tmp_path / "a_dir").mkdir()
    for target, reason in ((tmp_path / "a_file" / "x.sql", "is not a directory"),
                           (tmp_path / "a_dir", "it is a directory")):
        with pytest.raises(Exception, match=reason):
            check_writable([target])


def test_plan_with_an_unwritable_sum_file_leaves_nothing(tmp_path: Path, server_url: URL) -> None:
    """schemactl.sum that cannot be written (here: a directory in its place; as root, file
    permissions would not stop the write): plan used to leave its revision and SQL behind."""
    project = make_project(tmp_path / "app", "tables:\n  t:\n    columns: {a: int}\n")
    project.sum_file.mkdir()
    before = _tree(project.root)
    result = CliRunner().invoke(main, ["-C", str(project.root), "plan", "-m", "first"],
                                env={"SHADOW_DATABASE_URL": _url(server_url), "DATABASE_URL": None})
    assert result.exit_code == 1, result.output
    assert "cannot write" in result.output and "schemactl.sum" in result.output
    assert _tree(project.root) == before


def test_plan_that_fails_after_alembic_wrote_the_revision_leaves_nothing(
        tmp_path: Path, server_url: URL, monkeypatch: pytest.MonkeyPatch) -> None:
    """The revision file is made by Alembic under a name known only afterwards; a failure
    after it (here: a stand-in for the offline SQL step failing) must remove it, not keep it."""
    project = make_project(tmp_path / "app", "tables:\n  t:\n    columns: {a: int}\n")
    before = _tree(project.root)
    monkeypatch.setattr(pipeline, "write_revision_sql", _boom)
    result = CliRunner().invoke(main, ["-C", str(project.root), "plan", "-m", "first"],
                                env={"SHADOW_DATABASE_URL": _url(server_url), "DATABASE_URL": None})
    assert result.exit_code == 1, result.output
    assert "internal error: RuntimeError: a bug" in result.output
    assert _tree(project.root) == before


def test_init_in_a_project_with_a_schema_adds_nothing_unless_forced(tmp_path: Path) -> None:
    project = make_project(tmp_path / "app", "tables:\n  mine:\n    columns: {a: int}\n")
    (project.schema_dir / "app.yaml").rename(project.schema_dir / "mine.yaml")
    before = _tree(project.root / "schema")
    result = CliRunner().invoke(main, ["init", str(project.root)])
    assert result.exit_code == 0, result.output
    assert "no example added" in result.output
    assert _tree(project.root / "schema") == before
    forced = CliRunner().invoke(main, ["init", "--force", str(project.root)])
    assert forced.exit_code == 0, forced.output
    assert "removed" in forced.output and "mine.yaml" in forced.output
    assert "replaced" in forced.output and "alembic.ini" in forced.output
    assert sorted(p.name for p in project.schema_dir.iterdir()) == ["app.yaml"]


def test_init_that_cannot_write_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "migrations").write_text("a file where a directory belongs")
    before = _tree(tmp_path)
    result = CliRunner().invoke(main, ["init", str(tmp_path / "app")])
    assert result.exit_code == 1
    assert "cannot write" in result.output and "migrations" in result.output
    assert _tree(tmp_path) == before


# ---- no traceback, unless asked ---------------------------------------------------------------


def _boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("a bug")


def test_an_unexpected_error_is_one_message_and_debug_shows_the_traceback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec_cmds, "load", _boom)  # a stand-in for a bug anywhere in a command
    args = ["-C", str(REPO), "validate"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "internal error: RuntimeError: a bug" in result.output and "--debug" in result.output
    assert isinstance(result.exception, SystemExit)
    debug = CliRunner().invoke(main, ["--debug", *args])
    assert isinstance(debug.exception, RuntimeError)  # re-raised: Python prints the traceback
    via_env = CliRunner().invoke(main, args, env={"SCHEMACTL_DEBUG": "1"})
    assert isinstance(via_env.exception, RuntimeError)


def test_an_unexpected_error_under_json_is_still_one_json_document(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.Context, "settings", _boom)  # fails before any connection
    args = ["-C", str(REPO), "status", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    document = json.loads(result.stdout)  # the whole of stdout: one document
    assert document["command"] == "status" and document["ok"] is False
    assert document["error"]["message"] == "internal error: RuntimeError: a bug"
    assert "--debug" in document["error"]["hint"]
    assert "internal error" in result.stderr
    debug = CliRunner().invoke(main, ["--debug", *args])
    assert isinstance(debug.exception, RuntimeError)  # the traceback, after the document
    assert json.loads(debug.stdout)["ok"] is False


_INTERRUPT_WHILE_LOADING = """
import sys
class Interrupt:
    def find_spec(self, name, path=None, target=None):
        if name == "sqlglot":
            raise KeyboardInterrupt
sys.meta_path.insert(0, Interrupt())
sys.argv = ["schemactl", "validate"]
from schemactl.launch import main
main()
"""


def test_ctrl_c_while_the_modules_load_is_quiet() -> None:
    done = subprocess.run([sys.executable, "-c", _INTERRUPT_WHILE_LOADING], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert done.returncode == 130
    assert done.stderr == "interrupted\n"


def test_ctrl_c_at_any_moment_prints_no_traceback(tmp_path: Path) -> None:
    for delay in (0.15, 0.3, 0.5, 0.8):
        proc = subprocess.Popen([sys.executable, "-m", "schemactl", "-C", str(REPO), "validate"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        # On a loaded machine the signal may land while Python itself starts, before any of
        # schemactl runs; no code of ours can catch that. From our code on, no traceback.
        assert "Traceback" not in err or "schemactl" not in err, err
        assert proc.returncode in (0, 130, -signal.SIGINT), (proc.returncode, out, err)
