"""schemactl status (revision, pending, drift against a shadow) and check (CI, no target)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from schemactl.apply import checksums
from schemactl.db import embedded
from schemactl.db.urls import libpq_dsn
from schemactl.project import Project

from .apply_helpers import new_project, schemactl, write_revision
from .helpers import make_project, plan_and_write, settings_for

USERS_YAML = """
tables:
  users:
    columns:
      id:   {type: bigint, identity: true, primary_key: true}
      name: varchar(50)
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    project = new_project(tmp_path / "project")
    write_revision(project, "0001", "create_users", [
        "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)",
        "INSERT INTO users VALUES (1, 'ada')",
    ], ["DROP TABLE users"])
    write_revision(project, "0002", "index_names", ["CREATE INDEX users_name ON users (name)"],
                   ["DROP INDEX users_name"], down="0001")
    return project


def psql(url: URL, command: str) -> None:
    """Change the database by hand, as a colleague with psql would."""
    subprocess.run([str(embedded.bin_path("psql")), "-X", "-v", "ON_ERROR_STOP=1", "-q",
                    "-c", command, libpq_dsn(url)], check=True, capture_output=True)


def test_status_at_head_without_drift_exits_0(project: Project, db_url: URL) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Revision: 0002\n" in done.stdout
    assert "Pending: none" in done.stdout and "Drift: none" in done.stdout


def test_status_lists_pending_revisions_and_exits_3(project: Project, db_url: URL) -> None:
    assert schemactl(project, "apply", "--to", "0001", url=db_url).returncode == 0
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 3
    assert "Revision: 0001 (head: 0002)" in done.stdout
    assert "0002_index_names" in done.stdout and "Drift: none" in done.stdout


def test_drift_made_by_hand_is_reported_and_exits_3(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    assert schemactl(project, "apply", "--to", "0001", url=db_url).returncode == 0
    psql(db_url, "ALTER TABLE users ADD COLUMN nickname text")
    psql(db_url, "CREATE TABLE scratch (x int)")

    done = schemactl(project, "status", url=db_url)

    assert done.returncode == 3, done.stdout + done.stderr
    assert "Revision: 0001 (head: 0002)" in done.stdout  # compared at its own revision
    assert "Drift: the database differs from its migrations in 2 objects" in done.stdout
    assert "table public.users: differs" in done.stdout
    assert "      + nickname text\n" in done.stdout
    assert "- name" not in done.stdout  # only the column that differs is shown
    assert "table public.scratch: only in the database" in done.stdout
    assert "index public.users_name" not in done.stdout  # pending, not drift
    # status only reads: the hand-made change and the data are still there
    assert db.execute("SELECT id, name, nickname FROM users").fetchall() == [(1, "ada", None)]


def test_objects_the_catalog_comparison_cannot_read_are_named_not_compared(
        project: Project, db_url: URL) -> None:
    """A domain or an aggregate made by hand is not seen by the drift comparison; status
    says so, object by object, instead of calling the database clean in silence."""
    assert schemactl(project, "apply", url=db_url).returncode == 0
    psql(db_url, "CREATE DOMAIN positive AS integer CHECK (VALUE > 0)")
    done = schemactl(project, "status", url=db_url)
    assert "Not compared: 1 object the YAML cannot express" in done.stdout, done.stdout
    assert "positive" in done.stdout.split("Not compared:")[1]
    document = json.loads(schemactl(project, "status", "--json", url=db_url).stdout)
    assert document["not_compared"] == [
        {"kind": "domain", "name": "public.positive", "reason": ""}]


def test_a_comment_changed_by_hand_is_drift(project: Project, db_url: URL) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    psql(db_url, "COMMENT ON COLUMN users.name IS 'as typed'")
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "table public.users: differs\n      + COMMENT ON COLUMN name IS 'as typed'\n" \
        in done.stdout


def test_a_dropped_object_is_reported_missing(project: Project, db_url: URL) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    psql(db_url, "DROP INDEX users_name")
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 3
    assert "index public.users_name: missing from the database" in done.stdout


def test_status_reports_a_revision_edited_after_apply(project: Project, db_url: URL) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    path = project.versions_dir / "0002_index_names.py"
    path.write_text(path.read_text().replace("users_name ON users (name)",
                                             "users_name ON users (name DESC)"))
    checksums.record(project)
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 3
    assert "Edited after it was applied: migrations/versions/0002_index_names.py" in done.stdout
    # The shadow runs the edited file, so the difference shows as drift as well.
    assert "index public.users_name: differs" in done.stdout


def _ci_project(tmp_path: Path, server_url: URL) -> Project:
    project = make_project(tmp_path / "ci", USERS_YAML)
    # Shadows on the test server, as CI would configure it; there is no target database.
    (project.root / ".env").write_text(
        f"SHADOW_DATABASE_URL={server_url.render_as_string(hide_password=False)}\n")
    plan_and_write(project, settings_for(server_url), "create users")
    checksums.record(project)
    return project


def test_check_passes_when_yaml_files_and_history_agree(tmp_path: Path, server_url: URL) -> None:
    project = _ci_project(tmp_path, server_url)
    done = schemactl(project, "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout


def test_check_fails_on_yaml_without_a_revision(tmp_path: Path, server_url: URL) -> None:
    project = _ci_project(tmp_path, server_url)
    (project.schema_dir / "app.yaml").write_text(USERS_YAML + "      email: varchar(120)\n")
    done = schemactl(project, "check")
    assert done.returncode == 3
    assert "no revision contains" in done.stderr and "schemactl plan" in done.stderr


def test_check_fails_on_an_edited_revision_file(tmp_path: Path, server_url: URL) -> None:
    project = _ci_project(tmp_path, server_url)
    revision = min(project.versions_dir.glob("*.py"))  # the first one
    revision.write_text(revision.read_text() + "\n# edited\n")
    done = schemactl(project, "check")
    assert done.returncode == 3
    assert f"versions/{revision.name}: changed since it was recorded" in done.stderr
    assert "schemactl hash" in done.stderr


def test_check_fails_on_two_heads(project: Project) -> None:
    write_revision(project, "0003", "branch_a", ["SELECT 1"], down="0002")
    write_revision(project, "0004", "branch_b", ["SELECT 2"], down="0002")
    done = schemactl(project, "check")
    assert done.returncode == 3
    assert "2 heads (0003, 0004)" in done.stderr or "2 heads (0004, 0003)" in done.stderr


def test_status_names_a_revision_file_changed_since_plan(project: Project, db_url: URL) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    path = project.sql_dir / "0002_index_names.sql"
    path.write_text(path.read_text() + "-- tweaked by hand\n")
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 3, done.stderr
    assert "File changed: sql/0002_index_names.sql: changed since it was recorded" in done.stdout
    assert "Drift: none" in done.stdout


def test_status_without_a_usable_shadow_server_fails_cleanly(project: Project,
                                                             db_url: URL) -> None:
    (project.root / ".env").write_text(
        "SHADOW_DATABASE_URL=postgresql://someone:hunter2@127.0.0.1:1/postgres\n")
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 1
    assert "cannot create a shadow database on" in done.stderr
    assert "SHADOW_DATABASE_URL" in done.stderr and "hunter2" not in done.stderr


def test_identifiers_with_a_newline_are_no_drift(tmp_path: Path, db_url: URL) -> None:
    """pg_dump writes `"a<newline>b"` over two lines; compared line by line, the halves of a
    per-database line (pg_attver) escaped the filter and showed as false drift."""
    project = new_project(tmp_path / "project")
    write_revision(project, "0001", "newline_names", [
        'CREATE TABLE "a\nb" ("c\nd" int DEFAULT 1, e text DEFAULT $$x\ny$$)',
        'CREATE INDEX "i\nj" ON "a\nb" ("c\nd")',
        "COMMENT ON TABLE \"a\nb\" IS 'it''s\n-- not a comment'",
    ], ['DROP TABLE "a\nb"'])
    assert schemactl(project, "apply", url=db_url).returncode == 0
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Drift: none" in done.stdout
    psql(db_url, 'ALTER TABLE "a\nb" ADD COLUMN "x\ny" int')
    drifted = schemactl(project, "status", url=db_url)
    assert drifted.returncode == 3
    assert '+ "x\ny" integer' in drifted.stdout  # the new column, as one line


def test_logical_lines_keep_quoted_line_breaks_together() -> None:
    from .pgdump_drift import logical_lines

    dump = ('-- Name: a b; Type: TABLE\nCREATE TABLE "a\nb" (\n    x text DEFAULT \'p\nq\'::text,'
            '\n    y text DEFAULT $f$it\'s\n$f$\n);\n-- don\'t\nSELECT 1;')
    assert logical_lines(dump) == [
        "-- Name: a b; Type: TABLE", 'CREATE TABLE "a\nb" (', "    x text DEFAULT 'p\nq'::text,",
        "    y text DEFAULT $f$it's\n$f$", ");", "-- don't", "SELECT 1;"]


def test_a_search_path_set_on_the_database_is_no_drift(tmp_path: Path, db_url: URL) -> None:
    """The shadow is a new database without the target's search_path: names of a schema on
    that path must not print otherwise on the two sides."""
    project = new_project(tmp_path / "project")
    write_revision(project, "0001", "app_schema", [
        "CREATE SCHEMA app", "CREATE TYPE app.mood AS ENUM ('ok', 'meh')",
        "CREATE TABLE app.notes (id int PRIMARY KEY, mood app.mood DEFAULT 'ok')",
        "CREATE INDEX notes_mood ON app.notes (mood) WHERE mood = 'meh'",
    ], ["DROP SCHEMA app CASCADE"])
    assert schemactl(project, "apply", url=db_url).returncode == 0
    psql(db_url, f'ALTER DATABASE "{db_url.database}" SET search_path = app, public')
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Drift: none" in done.stdout


def test_status_at_head_after_a_plan_reads_the_shadow_plan_kept(
        project: Project, db_url: URL, server_url: URL) -> None:
    """plan keeps the shadow at head per history; status at head copies it instead of
    replaying every migration, and still sees what was changed by hand."""
    from schemactl.diff import shadow_cache

    assert schemactl(project, "apply", url=db_url).returncode == 0
    (project.root / ".env").write_text(  # where status makes its shadows too
        f"SHADOW_DATABASE_URL={server_url.render_as_string(hide_password=False)}\n")
    project.schema_dir.mkdir(exist_ok=True)
    (project.schema_dir / "app.yaml").write_text(USERS_YAML)
    schemactl(project, "plan", "--check")  # builds the shadow at head and keeps it
    prefix = os.environ["SHADOW_DATABASE_PREFIX"]  # the test session's own
    kept = shadow_cache.entry_name(prefix, shadow_cache.history_key(project) or "")
    assert shadow_cache.exists(server_url, kept)
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Drift: none" in done.stdout
    psql(db_url, "DROP INDEX users_name; ALTER TABLE users ADD COLUMN nickname text")
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 3
    assert "index public.users_name: missing from the database" in done.stdout
    assert "table public.users: differs\n      + nickname text\n" in done.stdout


def test_pending_rewrites_and_long_locks_say_how_big_their_table_is(
        tmp_path: Path, db_url: URL) -> None:
    project = new_project(tmp_path / "sized")
    write_revision(project, "0001", "create_items", [
        "CREATE TABLE items (id int PRIMARY KEY, qty int NOT NULL)",
        "INSERT INTO items SELECT g, g FROM generate_series(1, 5000) g",
        "ANALYZE items",
    ], ["DROP TABLE items"])
    write_revision(project, "0002", "wider_qty",
                   ["ALTER TABLE items ALTER COLUMN qty TYPE bigint USING qty::bigint"],
                   ["ALTER TABLE items ALTER COLUMN qty TYPE integer USING qty::integer"],
                   down="0001", hazards=[{"code": "LK101", "kind": "table rewrite",
                                          "object": "table items, column qty",
                                          "message": "rewrites the table"}])
    assert schemactl(project, "apply", "--to", "0001", url=db_url).returncode == 0
    done = schemactl(project, "status", url=db_url)
    assert done.returncode == 3
    assert "! LK101 (table rewrite) table items, column qty: rewrites the table " \
           "(items: ~5,000 rows, " in done.stdout, done.stdout
    as_json = json.loads(schemactl(project, "status", "--json", url=db_url).stdout)
    assert as_json["table_sizes"]["items"]["rows"] == 5000
    assert as_json["table_sizes"]["items"]["total_bytes"] > 100_000
    dry = schemactl(project, "apply", "--dry-run", url=db_url)
    assert "(items: ~5,000 rows, " in dry.stdout, dry.stdout
