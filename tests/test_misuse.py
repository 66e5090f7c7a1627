"""The command-line misuse matrix: every command with missing, extra and garbage arguments,
bad URLs of every kind, read-only, missing and wrong-kind paths, and each way a migrations
directory gets corrupted.

Cases are data: tests/data/misuse/*.yaml. Each case names a setup (how the project is
damaged), the command lines to run (each one is a test), the exit code and what the message
must say. Every run must also: print no traceback, show no password, and leave the project
(every file) and the database (its tables, their rows, alembic_version) as they were.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db.urls import libpq_dsn

from .helpers import make_project, plan_and_write, settings_for

DATA = Path(__file__).parent / "data" / "misuse"
SCHEMA = """
tables:
  users:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      name: text
"""
SECRET = "s3cret"


def _cases() -> list[Any]:
    params = []
    for file in sorted(DATA.glob("*.yaml")):
        for case in yaml.safe_load(file.read_text(encoding="utf-8")):
            for args in case["runs"]:
                shown = " ".join(a if a.isprintable() else repr(a) for a in args) or "(none)"
                params.append(pytest.param(case, args, id=f"{file.stem}-{case['id']}-{shown}"))
    return params


# ---- the project every case starts from, and the ways to damage it ---------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, server_url: URL) -> Path:
    """A project with two planned revisions (the first creates users, the second adds a
    column). Their ids are timestamps: cases name them {first} and {second}."""
    project = make_project(tmp_path_factory.mktemp("misuse") / "app", SCHEMA)
    settings = settings_for(server_url)
    plan_and_write(project, settings, "first")
    (project.schema_dir / "app.yaml").write_text(SCHEMA + "      email: {type: text, nullable: true}\n")
    plan_and_write(project, settings, "second")
    return project.root


def _revisions(root: Path) -> list[Path]:
    return sorted((root / "migrations" / "versions").glob("*.py"))


def _first(root: Path) -> Path:
    return _revisions(root)[0]


def _second(root: Path) -> Path:
    return _revisions(root)[1]


def _id(path: Path) -> str:
    return path.name.split("_", 1)[0]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


SETUPS: dict[str, Callable[[Path], None]] = {
    "none": lambda root: None,
    "truncated_revision": lambda root: _truncate(_first(root), b"op.create_table("),
    "non_utf8_revision": lambda root: _first(root).write_bytes(
        _first(root).read_bytes() + b"\n# \xff\xfe\n"),
    "syntax_error": lambda root: _first(root).write_text(_first(root).read_text() + "\ndef (:\n"),
    "import_error": lambda root: _first(root).write_text(
        _first(root).read_text() + "\nraise RuntimeError('boom')\n"),
    "missing_down_revision": lambda root: _edit(_first(root), "down_revision", "previous"),
    "unknown_down_revision": lambda root: _edit(
        _second(root), f"down_revision = '{_id(_first(root))}'", "down_revision = '0099'"),
    "cycle": lambda root: _edit(_first(root), "down_revision = None",
                                f"down_revision = '{_id(_second(root))}'"),
    "garbage_hazards": lambda root: _first(root).write_text(
        _first(root).read_text() + "\nschemactl_hazards = 12\n"),
    "garbage_facts": lambda root: _first(root).write_text(
        _first(root).read_text() + "\nschemactl_facts = ['x']\n"),
    "garbage_downgrade_hazards": lambda root: _first(root).write_text(
        _first(root).read_text() + "\nschemactl_downgrade_hazards = 'drop'\n"),
    "binary_sum": lambda root: (root / "migrations" / "schemactl.sum").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\xff" * 8),
    "bad_alembic_ini": lambda root: (root / "alembic.ini").write_text("[alembic\nscript = %(here\n"),
    "no_env_py": lambda root: (root / "migrations" / "env.py").unlink(),
    "edited_revision": lambda root: _first(root).write_text(
        _first(root).read_text() + "\n# edited\n"),
    "sum_is_a_directory": lambda root: _sum_dir(root),
    "schema_not_utf8": lambda root: (root / "schema" / "app.yaml").write_bytes(
        b"tables:\n  t\xff:\n    columns: {a: int}\n"),
    "no_schema_dir": lambda root: shutil.rmtree(root / "schema"),
    "garbage_embedded_data": lambda root: _garbage_pgdata(root),
    "blocked_embedded_data": lambda root: _blocked_embedded_data(root),
    "no_revisions": lambda root: _no_revisions(root),
}


def _blocked_embedded_data(root: Path) -> None:
    """A file where the embedded server's directory belongs (the template project may hold a
    .schemactl/ of its own already: the plan cache of the plans that made it)."""
    shutil.rmtree(root / ".schemactl", ignore_errors=True)
    (root / ".schemactl").write_text("not a directory")


def _truncate(path: Path, after: bytes) -> None:
    """Cut the file just after the first `after` (as a full disk would, mid-statement)."""
    data = path.read_bytes()
    path.write_bytes(data[: data.index(after) + len(after)])


def _no_revisions(root: Path) -> None:
    for path in [*(root / "migrations").rglob("*.py"), *(root / "migrations").rglob("*.sql")]:
        if path.parent.name in ("versions", "sql"):
            path.unlink()
    (root / "migrations" / "schemactl.sum").unlink()


def _sum_dir(root: Path) -> None:
    (root / "schema" / "app.yaml").write_text(
        SCHEMA + "      email: {type: text, nullable: true}\n      bio: {type: text, nullable: true}\n")
    (root / "migrations" / "schemactl.sum").unlink()
    (root / "migrations" / "schemactl.sum").mkdir()


def _garbage_pgdata(root: Path) -> None:
    (root / ".schemactl" / "pgdata").mkdir(parents=True)
    (root / ".schemactl" / "pgdata" / "PG_VERSION").write_text("garbage\n")


# ---- what "unchanged" means ------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every file with its content. Not Python's bytecode caches, nor the log the embedded
    server writes when it tries to start on a broken data directory, nor the plan cache
    (.schemactl/cache: keyed by content, valid even when the plan then failed)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))
            if "__pycache__" not in p.parts and p.parts[-2:] != ("pgdata", "log")
            and p.relative_to(root).parts[:2] != (".schemactl", "cache")}


def _database(url: URL) -> list[Any]:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        relations = conn.execute(
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', "
            "'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2").fetchall()
        rows = conn.execute("SELECT * FROM canary ORDER BY 1").fetchall()
        return [relations, rows]


@pytest.mark.parametrize(("case", "args"), _cases())
def test_misuse(case: dict[str, Any], args: list[str], template: Path, tmp_path: Path,
                server_url: URL, db_url: URL, db: psycopg.Connection) -> None:
    root = tmp_path / "app"
    shutil.copytree(template, root)
    SETUPS[case.get("setup", "none")](root)
    (tmp_path / "a_file").write_text("a regular file\n")
    db.execute("CREATE TABLE canary (x int); INSERT INTO canary VALUES (42)")
    target = db_url.set(password=SECRET)  # trust auth: the password is only there to be hidden
    env: dict[str, str | None] = {
        "SHADOW_DATABASE_URL": server_url.render_as_string(hide_password=False),
        "DATABASE_URL": target.render_as_string(hide_password=False),
    }
    env.update(case.get("env") or {})
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{file}", str(tmp_path / "a_file"))
            for a in args]
    project_before, database_before = _tree(root), _database(db_url)
    others_before = sorted(p.name for p in tmp_path.iterdir())

    result = CliRunner().invoke(main, ["-C", str(root), *argv], env=env)

    output = result.output
    says = (case["says"].replace("{first}", _id(_first(template)))
            .replace("{second}", _id(_second(template))))
    assert result.exit_code == case["exit"], output
    assert says in output, output
    assert result.exception is None or isinstance(result.exception, SystemExit), output
    assert "Traceback" not in output and "internal error" not in output, output
    assert SECRET not in output, output
    assert _tree(root) == project_before, "the project changed"
    assert _database(db_url) == database_before, "the database changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == others_before
