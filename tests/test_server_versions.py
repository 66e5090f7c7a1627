"""A shadow server of another PostgreSQL major version than the target's is a warning."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db import embedded
from schemactl.db.urls import normalize
from schemactl.db.versions import mismatch, server_major

from .helpers import make_project

SCHEMA = """
tables:
  users:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
"""


@pytest.fixture(scope="module")
def other_server(server_url: URL) -> Iterator[URL]:
    """The embedded PostgreSQL 18, when the test server is another major version."""
    if server_major(server_url) == 18:
        pytest.skip("the test server is PostgreSQL 18 itself")
    home = Path(tempfile.mkdtemp(prefix="schemactl-test-pg18-"))
    try:
        yield embedded.server_url(home / "pgdata")
    finally:
        embedded.stop(home / "pgdata")
        shutil.rmtree(home, ignore_errors=True)


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def test_plan_and_status_warn_about_different_majors(tmp_path: Path, db_url: URL,
                                                     other_server: URL) -> None:
    root = tmp_path / "app"
    make_project(root, SCHEMA)
    env = {"DATABASE_URL": _url(db_url), "SHADOW_DATABASE_URL": _url(other_server)}
    target_major = server_major(db_url)

    planned = CliRunner().invoke(main, ["-C", str(root), "plan", "-m", "users", "--json"], env=env)
    assert planned.exit_code == 0, planned.output
    warning = "runs PostgreSQL 18, the target"
    assert warning in planned.stderr and f"PostgreSQL {target_major}:" in planned.stderr
    assert any(warning in w for w in json.loads(planned.stdout)["warnings"])

    assert CliRunner().invoke(main, ["-C", str(root), "apply"], env=env).exit_code == 0
    status = CliRunner().invoke(main, ["-C", str(root), "status", "--json"], env=env)
    assert warning in status.stderr
    assert any(warning in w for w in json.loads(status.stdout)["warnings"])


def test_no_warning_for_one_server_or_one_that_does_not_answer(server_url: URL) -> None:
    assert mismatch(server_url, server_url) is None
    assert mismatch(server_url, normalize("postgresql://nobody@127.0.0.1:1/postgres")) is None
