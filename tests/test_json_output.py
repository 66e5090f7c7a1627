"""--json: one JSON document on stdout per command, in the shape docs/json-output.md documents."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import psycopg
from click.testing import CliRunner, Result
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db.urls import libpq_dsn

from .helpers import REPO, make_project

DOC = (REPO / "docs" / "json-output.md").read_text()
ENVELOPE = {"schemactl_json", "command", "ok"}
SCHEMA = """
tables:
  users:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      username: varchar(50)
"""


def documented_fields(section: str) -> set[str]:
    """The field names in the table under `## section` of docs/json-output.md."""
    body = DOC.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \|", body, re.MULTILINE))


def run(root: Path, server: URL, *args: str, database: URL | None = None) -> Result:
    env = {"SHADOW_DATABASE_URL": server.render_as_string(hide_password=False),
           "DATABASE_URL": database.render_as_string(hide_password=False) if database else None}
    return CliRunner().invoke(main, ["-C", str(root), *args], env=env)


def document(result: Result, command: str, section: str | None = None) -> dict[str, Any]:
    """The one document on stdout, checked against the envelope and the documented fields."""
    return checked_document(result.stdout, result.exit_code, command, section)


def checked_document(stdout: str, exit_code: int, command: str,
                     section: str | None = None) -> dict[str, Any]:
    """stdout parsed as one document whose envelope and fields are the documented ones
    (section: the heading in docs/json-output.md, by default the command)."""
    doc = json.loads(stdout)  # the whole of stdout: nothing else may be there
    assert isinstance(doc, dict)
    assert list(doc)[:3] == ["schemactl_json", "command", "ok"]
    assert doc["schemactl_json"] == 1 and doc["command"] == command
    assert doc["ok"] is (exit_code == 0)
    assert set(doc) == ENVELOPE | documented_fields(section or command), set(doc)
    return doc


def test_every_reporting_command_writes_one_documented_document(
        tmp_path: Path, server_url: URL, db_url: URL) -> None:
    root = tmp_path / "app"
    make_project(root, SCHEMA)

    planned = run(root, server_url, "plan", "--json", "-m", "users")
    assert planned.exit_code == 0, planned.stderr
    plan = document(planned, "plan")
    assert plan["changes"] and plan["add"] == 1 and plan["steps"][0]["name"] == "users"
    assert plan["written"]["revision"].startswith("migrations/versions/" + plan["written"]["id"])
    assert "Wrote" in planned.stderr and "+ table users" in planned.stderr

    checked = document(run(root, server_url, "check", "--json"), "check")
    assert checked["ok"] and checked["problems"] == []

    before = document(run(root, server_url, "status", "--json", database=db_url), "status")
    assert not before["ok"] and before["current"] is None
    assert [r["id"] for r in before["pending"]] == [plan["written"]["id"]]

    applied = run(root, server_url, "apply", "--json", database=db_url)
    assert applied.exit_code == 0, applied.stderr
    result = document(applied, "apply")
    assert result["after"] == plan["written"]["id"] and len(result["steps"]) == 1
    assert "postgres@" in result["target"]

    after = document(run(root, server_url, "status", "--json", database=db_url), "status")
    assert after["ok"] and after["clean"] and after["drift"] == []

    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE stray (id int)")
    inspected = run(root, server_url, "inspect", "--json", "-o", str(tmp_path / "out"),
                    database=db_url)
    found = document(inspected, "inspect")
    assert found["tables"] == 2 and len(found["files"]) == 1

    drifted = document(run(root, server_url, "status", "--json", database=db_url), "status")
    assert [d["object"] for d in drifted["drift"]] == ["table public.stray"]

    down = run(root, server_url, "downgrade", "base", "--yes", "--json", database=db_url)
    assert document(down, "downgrade", "apply")["after"] is None


def test_pending_changes_and_errors_are_documents_too(tmp_path: Path, server_url: URL) -> None:
    root = tmp_path / "app"
    make_project(root, SCHEMA)
    pending = run(root, server_url, "plan", "--json", "--check")
    assert pending.exit_code == 3
    assert document(pending, "plan")["written"] is None

    (root / "schema" / "app.yaml").write_text("tables: [oops\n")
    failed = run(root, server_url, "plan", "--json")
    assert failed.exit_code == 1
    error = document(failed, "plan", "error")["error"]
    assert "app.yaml" in error["message"]
    assert "app.yaml" in failed.stderr


def test_stamp_json(tmp_path: Path, server_url: URL, db_url: URL) -> None:
    root = tmp_path / "app"
    make_project(root, SCHEMA)
    assert run(root, server_url, "plan", "-m", "users").exit_code == 0
    stamped = run(root, server_url, "stamp", "head", "--json", database=db_url)
    doc = document(stamped, "stamp")
    assert doc["before"] is None and doc["direction"] == "up"
    assert [r["id"] for r in doc["revisions"]] == [doc["after"]]
