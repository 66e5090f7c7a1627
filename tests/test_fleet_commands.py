"""The other ways to name a fleet, and the fleet's other commands, on a small fleet:
a control-database query, a new tenant schema, passwords from the environment, history,
downgrade, offline scripts per database, and progress on a terminal."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import URL

from schemactl.db import embedded
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn
from schemactl.project import Project

from .apply_helpers import Run, run_on_terminal, schemactl
from .test_fleet import ALL, HEAD, example_project
from .test_json_output import checked_document

SECRET = "not-a-real-password-4821"


def _url_text(url: URL, password: str | None = None) -> str:
    host = f"{url.host or 'localhost'}:{url.port or 5432}"
    auth = f"{url.username or 'postgres'}" + (f":{password}" if password else "")
    return f"postgresql://{auth}@{host}/{url.database}"


@pytest.fixture
def second_db(server_url: URL) -> Iterator[URL]:
    with throwaway_database(server_url, prefix="schemactl_test") as url:
        yield url


@pytest.fixture
def project(tmp_path: Path, db_url: URL, second_db: URL, db: psycopg.Connection,
            monkeypatch: pytest.MonkeyPatch) -> Project:
    """A fleet from a control query (one database URL, listed in a table of db_url) and two
    tenant schemas in db_url (one exists, one is new); the URLs carry ${FLEET_PW}."""
    project = example_project(tmp_path / "project")
    monkeypatch.setenv("FLEET_PW", SECRET)  # trust auth on the test server ignores it
    db.execute("CREATE SCHEMA ops; CREATE SCHEMA tenant_a")
    db.execute("CREATE TABLE ops.tenants (url text, active bool)")
    db.execute("INSERT INTO ops.tenants VALUES (%s, true), ('postgresql://x@nowhere/y', false)",
               (_url_text(second_db),))
    control = _url_text(db_url, "${FLEET_PW}")
    (project.root / "fleet.yaml").write_text(f"""
query:
  database: {control}
  sql: SELECT url FROM ops.tenants WHERE active
schemas:
  - database: {control}
    match: tenant\\_%
    names: [tenant_b]
""")
    return project


def _revision(url: URL, schema: str) -> str | None:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", (f"{schema}.alembic_version",)).fetchone() \
                == (None,):
            return None
        row = conn.execute(f"SELECT version_num FROM {schema}.alembic_version").fetchone()
        return row[0] if row else None


def test_a_fleet_from_a_control_query_and_a_new_tenant_schema(
        project: Project, db_url: URL, second_db: URL) -> None:
    listed = schemactl(project, "fleet", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:4]]
    assert [(r[0].split("/", 1)[1], r[1], r[2], r[3]) for r in rows] == [
        (f"{db_url.database}/tenant_a", "schema", "base", "no"),
        (f"{db_url.database}/tenant_b", "schema", "base", "no"),
        (second_db.database, "database", "base", "no")]

    applied = schemactl(project, "apply", "--fleet")

    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "Fleet apply: 3 targets: 3 applied." in applied.stdout
    assert _revision(second_db, "public") == HEAD
    assert _revision(db_url, "tenant_a") == HEAD
    assert _revision(db_url, "tenant_b") == HEAD  # created by its first run
    assert _revision(db_url, "public") is None  # the control database's own schema untouched
    for out in (listed, applied):
        assert SECRET not in out.stdout + out.stderr


def test_history_of_one_database_and_of_the_fleet(
        project: Project, db_url: URL, second_db: URL) -> None:
    assert schemactl(project, "apply", "--fleet").returncode == 0

    one = schemactl(project, "history", "-n", "2", url=second_db)
    fleet = schemactl(project, "history", "--fleet", "--json")

    assert one.returncode == 0
    lines = one.stdout.splitlines()
    assert lines[0].endswith(f"/{second_db.database} (at {HEAD})")
    assert [line.split()[2:4] for line in lines[1:]] == [["0004", "applied"],
                                                          ["0003", "applied"]]
    assert fleet.returncode == 0
    report = checked_document(fleet.stdout, fleet.returncode, "history", "history --fleet")
    assert report["fleet"] is None and report["failed"] == 0
    assert [t["target"].split("/")[-1] for t in report["targets"]] == [
        "tenant_a", "tenant_b", second_db.database]
    for target in report["targets"]:
        assert [r["revision"] for r in target["runs"]] == list(reversed(ALL))
        assert {r["result"] for r in target["runs"]} == {"ok"}
        assert all(r["applied_by"] == (db_url.username or "postgres") for r in target["runs"])
    assert SECRET not in fleet.stdout


def test_downgrade_of_a_fleet_needs_consent_then_undoes_every_target(
        project: Project, db_url: URL, second_db: URL) -> None:
    assert schemactl(project, "apply", "--fleet").returncode == 0

    refused = schemactl(project, "downgrade", "0002", "--fleet")
    done = schemactl(project, "downgrade", "0002", "--fleet", "--yes")

    assert refused.returncode == 4
    assert "refusing to run revisions that can lose data" in refused.stderr
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Fleet downgrade: 3 targets: 3 undone." in done.stdout
    assert [_revision(second_db, "public"), _revision(db_url, "tenant_a"),
            _revision(db_url, "tenant_b")] == ["0002"] * 3


def test_sql_fleet_writes_a_script_per_database_that_psql_runs_to_head(
        project: Project, db_url: URL, second_db: URL, tmp_path: Path) -> None:
    out = tmp_path / "scripts"

    wrote = schemactl(project, "sql", "--fleet", "-o", str(out))

    assert wrote.returncode == 0, wrote.stderr
    scripts = sorted(p.name for p in out.iterdir())
    assert scripts == sorted(f"{u.host}_{u.port or 5432}_{u.database}.sql"
                             for u in (db_url, second_db))
    tenants = (out / f"{db_url.host}_{db_url.port or 5432}_{db_url.database}.sql").read_text()
    assert "SET search_path TO tenant_a;" in tenants and "SET search_path TO tenant_b;" in tenants
    assert "public" not in tenants.replace("standard public", "")
    for url in (db_url, second_db):
        script = out / f"{url.host}_{url.port or 5432}_{url.database}.sql"
        subprocess.run([str(embedded.bin_path("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-d", libpq_dsn(url), "-f", str(script)], check=True,
                       capture_output=True)
    assert [_revision(second_db, "public"), _revision(db_url, "tenant_a"),
            _revision(db_url, "tenant_b")] == [HEAD] * 3
    listing = schemactl(project, "fleet", "list", "--json")
    listed = checked_document(listing.stdout, listing.returncode, "fleet list")["targets"]
    assert [t["at_head"] for t in listed] == [True] * 3


def test_progress_is_shown_on_a_terminal(project: Project) -> None:
    code, output = run_on_terminal(project, "apply", "--fleet", url=None, answer="",
                                   prompt="(no prompt expected)")

    assert code == 0, output
    assert "Migrating fleet" in output
    assert "Fleet apply: 3 targets: 3 applied." in output
    assert SECRET not in output


def test_revision_files_name_no_schema_so_every_tenant_shares_them() -> None:
    from .apply_helpers import REPO

    for path in [*(REPO / "migrations" / "versions").glob("*.py"),
                 *(REPO / "migrations" / "sql").glob("*.sql")]:
        text = path.read_text()
        assert "public" not in text and "schema=" not in text, path.name


def test_fail_fast_starts_no_target_after_a_failure(
        project: Project, db_url: URL, second_db: URL, db: psycopg.Connection) -> None:
    db.execute("CREATE TABLE tenant_a.users (id int)")  # the first target fails at 0001

    result = schemactl(project, "apply", "--fleet", "--fail-fast", "--concurrency", "1",
                       "--json")

    assert result.returncode == 1
    doc = checked_document(result.stdout, result.returncode, "apply", "apply --fleet")
    assert doc["stopped"] == "--fail-fast: a target failed" and doc["failed"] == 1
    assert doc["counts"] == {"failed": 1, "not run": 2}
    first, *rest = doc["targets"]
    assert first["target"].endswith("/tenant_a") and first["result"] == "failed"
    assert (first["before"], first["after"], first["revisions"]) == (None, None, [])
    assert 'relation "users" already exists' in first["error"]
    assert [(t["result"], t["error"]) for t in rest] == [("not run", doc["stopped"])] * 2
    # The human summary is still written, on stderr.
    assert "Fleet apply: 3 targets: 1 failed, 2 not run." in result.stderr
    assert "Stopped: --fail-fast: a target failed" in result.stderr
    assert [_revision(db_url, "tenant_a"), _revision(second_db, "public")] == [None, None]
    assert db.execute("SELECT to_regnamespace('tenant_b')").fetchone() == (None,)


def test_options_that_would_be_ignored_are_usage_errors(
        project: Project, db_url: URL) -> None:
    alone = schemactl(project, "apply", "--canary", "1", "--fail-fast", url=db_url)
    both = schemactl(project, "status", "--fleet", url=db_url)

    assert alone.returncode == 2 and "--canary, --fail-fast work only with --fleet" in alone.stderr
    assert both.returncode == 2 and "drop --database-url" in both.stderr


def test_a_planned_revision_serves_every_tenant_schema(
        tmp_path: Path, server_url: URL, db_url: URL, db: psycopg.Connection) -> None:
    from schemactl.apply import runner

    from .helpers import make_project, plan_and_write, settings_for

    project = make_project(tmp_path / "planned", """
enums:
  mood: [happy, sad]
tables:
  people:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      mood: {type: mood, default: happy}
      email: {type: text, unique: true}
    checks:
      email_has_at: "position('@' in email) > 0"
  notes:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      person_id: {type: bigint, references: people.id, on_delete: cascade}
    indexes:
      - {columns: [person_id]}
""")
    settings = settings_for(server_url)
    _, path = plan_and_write(project, settings, "people and notes")
    assert path is not None
    assert "public" not in path.read_text() and "schema=" not in path.read_text()

    for tenant in ("tenant_x", "tenant_y"):
        runner.upgrade(project, settings, db_url, schema=tenant)

    rows = db.execute("SELECT table_schema, table_name FROM information_schema.tables "
                      "WHERE table_name IN ('people', 'notes') ORDER BY 1, 2").fetchall()
    assert rows == [("tenant_x", "notes"), ("tenant_x", "people"),
                    ("tenant_y", "notes"), ("tenant_y", "people")]
    db.execute("INSERT INTO tenant_y.people (email) VALUES ('a@b')")
    assert db.execute("SELECT mood::text FROM tenant_y.people").fetchone() == ("happy",)


def test_a_history_table_from_before_results_were_recorded_gains_them(
        tmp_path: Path, db_url: URL, db: psycopg.Connection) -> None:
    project = example_project(tmp_path / "old")
    # schemactl_history as earlier releases created it, with 0001 applied.
    assert schemactl(project, "apply", "--to", "0001", url=db_url).returncode == 0
    db.execute("ALTER TABLE schemactl_history DROP COLUMN result, DROP COLUMN error")

    assert schemactl(project, "history", url=db_url).stdout.splitlines()[1].split()[2:4] == [
        "0001", "applied"]
    assert schemactl(project, "apply", url=db_url).returncode == 0

    rows = db.execute("SELECT revision, result FROM schemactl_history ORDER BY id").fetchall()
    assert rows == [(rev, "ok") for rev in ALL]


def test_fleet_json_documents_for_apply_list_status_history_and_downgrade(
        project: Project, db_url: URL, second_db: URL) -> None:
    def doc(run: Run, command: str, section: str | None = None) -> dict[str, Any]:
        return checked_document(run.stdout, run.returncode, command, section)

    one = "--concurrency", "1"  # one connection at a time
    applied = doc(schemactl(project, "apply", "--fleet", "--json", *one), "apply",
                  "apply --fleet")
    again = doc(schemactl(project, "apply", "--fleet", "--json", *one), "apply",
                "apply --fleet")
    listed = doc(schemactl(project, "fleet", "list", "--json", *one), "fleet list")
    status = doc(schemactl(project, "status", "--fleet", "--no-drift", "--json", *one),
                 "status", "status --fleet")
    single = doc(schemactl(project, "history", "--json", url=second_db), "history")
    refused = schemactl(project, "downgrade", "0002", "--fleet", "--json", *one)
    undone = doc(schemactl(project, "downgrade", "0002", "--fleet", "--yes", "--json", *one),
                 "downgrade", "apply --fleet")

    names = [t["target"].split("/")[-1] for t in applied["targets"]]
    assert names == ["tenant_a", "tenant_b", second_db.database]
    assert applied["ok"] and (applied["direction"], applied["to"]) == ("up", "head")
    assert applied["counts"] == {"applied": 3} and applied["stopped"] is None
    for target in applied["targets"]:
        assert (target["result"], target["before"], target["after"]) == ("applied", None, HEAD)
        assert target["revisions"] == list(ALL) and target["error"] is None
        assert isinstance(target["duration_ms"], int) and target["duration_ms"] > 0
    assert [(t["result"], t["before"], t["after"], t["revisions"]) for t in again["targets"]] \
        == [("unchanged", HEAD, HEAD, [])] * 3
    assert [(t["kind"], t["revision"], t["at_head"]) for t in listed["targets"]] == [
        ("schema", HEAD, True), ("schema", HEAD, True), ("database", HEAD, True)]
    assert status["ok"] and status["counts"] == {"at head": 3}
    assert status["drift_checked"] is False and status["head"] == HEAD
    assert single["revision"] == HEAD and single["target"].endswith(f"/{second_db.database}")
    assert [r["revision"] for r in single["runs"]] == list(reversed(ALL))
    # Revisions that lose data: refused without --yes, as a document, never a prompt.
    assert refused.returncode == 4
    error = doc(refused, "downgrade", "error")["error"]
    assert "refusing to run revisions that can lose data" in error["message"]
    assert "Revisions to undo:" in refused.stderr
    assert undone["direction"] == "down" and undone["counts"] == {"undone": 3}
    assert [(t["before"], t["after"], t["revisions"]) for t in undone["targets"]] == [
        (HEAD, "0002", ["0004", "0003"])] * 3
    assert [_revision(second_db, "public"), _revision(db_url, "tenant_a")] == ["0002"] * 2
    for run in (applied, listed, status, single, undone):
        assert SECRET not in json.dumps(run)


def test_json_errors_of_the_fleet_commands_are_documents(
        project: Project, server_url: URL) -> None:
    missing = server_url.set(database="schemactl_test_no_such_database")
    history = schemactl(project, "history", "--json", url=missing)
    (project.root / "fleet.yaml").write_text("databses: []\n")
    listed = schemactl(project, "fleet", "list", "--json")

    assert history.returncode == 1
    error = checked_document(history.stdout, 1, "history", "error")["error"]
    assert "cannot read the history of" in error["message"]
    assert "schemactl_test_no_such_database" in error["message"]
    assert listed.returncode == 1
    error = checked_document(listed.stdout, 1, "fleet list", "error")["error"]
    assert error["message"].startswith("fleet.yaml:1:1: error[FL001]: unknown key 'databses'")
    assert "unknown key 'databses'" in listed.stderr  # the message is on stderr too
