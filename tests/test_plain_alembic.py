"""Plain Alembic's own commands in a schemactl project are as safe as schemactl's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
from click.testing import CliRunner
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db.urls import libpq_dsn

from .helpers import make_project

SCHEMA = """
tables:
  users:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      username: varchar(50)
"""
RENAMED = SCHEMA.replace("username: varchar(50)",
                         "login: {type: varchar(50), renamed_from: username}")


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def alembic(root: Path, *args: str, database: URL | None = None,
            **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    environment.pop("DATABASE_URL", None)
    if database is not None:
        environment["DATABASE_URL"] = _url(database)
    return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=root, env=environment,
                          capture_output=True, text=True, timeout=120)


def said(done: subprocess.CompletedProcess[str]) -> str:
    """Alembic prints its FAILED line on stdout, Python tracebacks go to stderr."""
    return done.stdout + done.stderr


def planned(tmp_path: Path, server: URL, *schemas: str) -> Path:
    root = tmp_path / "app"
    make_project(root)
    for n, schema in enumerate(schemas):
        (root / "schema" / "app.yaml").write_text(schema)
        done = CliRunner().invoke(main, ["-C", str(root), "plan", "-m", f"step {n}"],
                                  env={"SHADOW_DATABASE_URL": _url(server)})
        assert done.exit_code == 0, done.output
    return root


def rows(url: URL, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(libpq_dsn(url)) as conn:
        return conn.execute(sql).fetchall()


def test_autogenerate_refuses_and_points_to_schemactl_plan(tmp_path: Path, server_url: URL,
                                                           db_url: URL) -> None:
    root = planned(tmp_path, server_url, SCHEMA)
    (root / "schema" / "app.yaml").write_text(RENAMED)
    before = sorted((root / "migrations" / "versions").glob("*.py"))
    done = alembic(root, "revision", "--autogenerate", "-m", "rename", database=db_url)
    assert done.returncode != 0
    assert "schemactl plan" in said(done) and "Traceback" not in said(done)
    assert sorted((root / "migrations" / "versions").glob("*.py")) == before


def test_plain_revision_gets_a_schemactl_id(tmp_path: Path, server_url: URL) -> None:
    root = planned(tmp_path, server_url, SCHEMA)
    [first] = (root / "migrations" / "versions").glob("*.py")
    done = alembic(root, "revision", "-m", "by hand")
    assert done.returncode == 0, done.stderr
    [made] = [p for p in (root / "migrations" / "versions").glob("*.py") if p != first]
    new_id = made.name.split("_")[0]
    assert re.fullmatch(r"\d{14}[a-z]{4}", new_id) and new_id > first.name.split("_")[0]
    assert f"down_revision = '{first.name.split('_')[0]}'" in made.read_text()


def test_alembic_upgrade_writes_history_and_refuses_tampered_files(
        tmp_path: Path, server_url: URL, db_url: URL) -> None:
    root = planned(tmp_path, server_url, SCHEMA, RENAMED)
    first, second = sorted(p.name.split("_")[0]
                           for p in (root / "migrations" / "versions").glob("*.py"))
    done = alembic(root, "upgrade", first, database=db_url)
    assert done.returncode == 0, done.stderr
    assert rows(db_url, "SELECT revision, direction FROM schemactl_history") == [(first, "up")]

    path = next((root / "migrations" / "versions").glob(f"{second}_*.py"))
    original = path.read_text()
    path.write_text(original.replace("def downgrade", "# tampered\ndef downgrade"))
    refused = alembic(root, "upgrade", "head", database=db_url)
    assert refused.returncode != 0
    assert "schemactl.sum" in said(refused) and "Traceback" not in said(refused)
    assert rows(db_url, "SELECT version_num FROM alembic_version") == [(first,)]

    path.write_text(original)
    assert alembic(root, "upgrade", "head", database=db_url).returncode == 0
    assert alembic(root, "downgrade", "-1", database=db_url).returncode == 0
    assert rows(db_url, "SELECT revision, direction FROM schemactl_history ORDER BY id") == [
        (first, "up"), (second, "up"), (second, "down")]


def test_alembic_upgrade_honours_lock_timeout(tmp_path: Path, server_url: URL,
                                              db_url: URL) -> None:
    root = planned(tmp_path, server_url, SCHEMA, RENAMED)
    first = min(p.name.split("_")[0] for p in (root / "migrations" / "versions").glob("*.py"))
    assert alembic(root, "upgrade", first, database=db_url).returncode == 0
    with psycopg.connect(libpq_dsn(db_url)) as reader:
        reader.execute("SELECT * FROM users")  # holds ACCESS SHARE until the transaction ends
        done = alembic(root, "upgrade", "head", database=db_url, LOCK_TIMEOUT="300ms")
    assert done.returncode != 0
    assert "lock timeout" in said(done)
    assert rows(db_url, "SELECT version_num FROM alembic_version") == [(first,)]
