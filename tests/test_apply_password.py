"""The database password never appears in any output or error of apply, status, downgrade.

Both test servers trust local connections, so a wrong password still connects: what is
asserted is that the password, right or wrong, is never echoed, whatever happens.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

from schemactl.db.urls import libpq_dsn

from .apply_helpers import Run, new_project, schemactl, write_revision


@pytest.fixture
def owner_url(server_url: URL, db_url: URL) -> Iterator[URL]:
    """db_url as a role with a password, owning the test database (and allowed shadows)."""
    role, password = f"schemactl_pw_{secrets.token_hex(4)}", f"Pw-{secrets.token_hex(8)}"
    with psycopg.connect(libpq_dsn(server_url), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(password)))
        admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(db_url.database), sql.Identifier(role)))
    try:
        yield db_url.set(username=role, password=password)
    finally:
        with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(
                sql.Identifier(role)))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        with psycopg.connect(libpq_dsn(server_url), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _assert_hidden(password: str, *runs: Run) -> None:
    for run in runs:
        text = run.stdout + run.stderr
        assert password not in text, text
        assert "Traceback" not in text, text


def test_no_output_contains_the_password(tmp_path: Path, owner_url: URL) -> None:
    password = str(owner_url.password)
    project = new_project(tmp_path / "p")
    write_revision(project, "0001", "create_users", ["CREATE TABLE users (id int PRIMARY KEY)"],
                   ["DROP TABLE users"])
    applied = schemactl(project, "apply", url=owner_url, separate_process=True)
    assert applied.returncode == 0, applied.stderr
    assert f"{owner_url.username}:***@" in applied.stdout  # the target is shown, masked

    write_revision(project, "0002", "broken", ["SELECT no_such_function()"], down="0001")
    failed = schemactl(project, "apply", url=owner_url, separate_process=True)
    assert failed.returncode == 1 and "no_such_function" in failed.stderr

    # status builds a shadow and runs pg_dump, both with the password
    status = schemactl(project, "status", url=owner_url, separate_process=True)
    assert status.returncode == 3 and "Drift: none" in status.stdout, status.stderr

    wrong = owner_url.set(password="Wrong-" + secrets.token_hex(8))
    wrong_run = schemactl(project, "status", url=wrong, separate_process=True)
    unreachable = owner_url.set(host="127.0.0.1", port=1)
    unreachable_run = schemactl(project, "apply", url=unreachable, separate_process=True)
    assert unreachable_run.returncode == 1
    assert "cannot connect to" in unreachable_run.stderr

    malformed = schemactl(project, "apply", "--database-url",
                          f"postgresql://{owner_url.username}:{password}@localhost:notaport/x",
                          separate_process=True)
    assert malformed.returncode == 1 and "invalid database URL" in malformed.stderr

    _assert_hidden(password, applied, failed, status, unreachable_run, malformed)
    _assert_hidden(str(wrong.password), wrong_run)
