"""`schemactl init` and `schemactl plan` as a user runs them: files, output, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import URL

from schemactl.apply import checksums
from schemactl.cli import main
from schemactl.db.urls import libpq_dsn
from schemactl.pipeline import make_plan, write_revision
from schemactl.project import Project

from .helpers import REPO, make_project, migrate, settings_for

BLOG = """
tables:
  users:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      username: {type: varchar(50), unique: true}
      email: varchar(120)
"""
BLOG_WITHOUT_EMAIL = BLOG.replace("      email: varchar(120)\n", "")


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def run(project_dir: Path, server_url: URL, *args: str, database: URL | None = None) -> Result:
    env = {"SHADOW_DATABASE_URL": _url(server_url),
           "DATABASE_URL": _url(database) if database else None}
    return CliRunner().invoke(main, ["-C", str(project_dir), *args], env=env)


def revisions(project_dir: Path) -> list[str]:
    """The revision files, oldest first, with their timestamp ids shown as ID."""
    names = sorted(p.name for p in (project_dir / "migrations" / "versions").glob("*.py"))
    assert all(re.match(r"^\d{14}[a-z]{4}_", name) for name in names), names
    return [re.sub(r"^\d{14}[a-z]{4}_", "ID_", name) for name in names]


def revision_file(project_dir: Path, slug: str) -> Path:
    return next((project_dir / "migrations" / "versions").glob(f"*_{slug}.py"))


def test_init_scaffolds_a_project_that_plans(tmp_path: Path, server_url: URL) -> None:
    result = CliRunner().invoke(main, ["init", str(tmp_path / "app")])
    assert result.exit_code == 0, result.output
    for path in ("alembic.ini", "migrations/env.py", "migrations/script.py.mako", "schema/app.yaml"):
        assert (tmp_path / "app" / path).is_file(), path
    again = CliRunner().invoke(main, ["init", str(tmp_path / "app")])
    assert "exists" in again.output  # never overwrites
    planned = run(tmp_path / "app", server_url, "plan", "-m", "first schema")
    assert planned.exit_code == 0, planned.output
    assert revisions(tmp_path / "app") == ["ID_first_schema.py"]


def test_init_templates_are_this_repositorys_own_files() -> None:
    templates = REPO / "tool" / "schemactl" / "templates"
    assert (templates / "alembic.ini").read_text() == (REPO / "alembic.ini").read_text()
    assert (templates / "env.py").read_text() == (REPO / "migrations" / "env.py").read_text()
    assert ((templates / "script.py.mako").read_text()
            == (REPO / "migrations" / "script.py.mako").read_text())


def test_plan_writes_revision_sql_and_sum_then_finds_no_changes(tmp_path: Path,
                                                                 server_url: URL) -> None:
    make_project(tmp_path, BLOG)
    first = run(tmp_path, server_url, "plan", "-m", "create users")
    assert first.exit_code == 0, first.output
    assert "+ table users" in first.output
    assert "Plan: 1 to add, 0 to change, 0 to drop." in first.output
    assert revisions(tmp_path) == ["ID_create_users.py"]
    stem = revision_file(tmp_path, "create_users").stem
    assert (tmp_path / "migrations" / "sql" / f"{stem}.sql").is_file()
    assert f"{stem}.py" in (tmp_path / "migrations" / "schemactl.sum").read_text()

    second = run(tmp_path, server_url, "plan")
    assert second.exit_code == 0
    assert second.output.strip() == "No changes. The schema matches the migrations."
    assert revisions(tmp_path) == ["ID_create_users.py"]


def test_check_exits_3_when_changes_are_pending_and_writes_nothing(tmp_path: Path,
                                                                    server_url: URL) -> None:
    make_project(tmp_path, BLOG)
    pending = run(tmp_path, server_url, "plan", "--check")
    assert pending.exit_code == 3
    assert revisions(tmp_path) == []
    run(tmp_path, server_url, "plan", "-m", "first")
    clean = run(tmp_path, server_url, "plan", "--check")
    assert clean.exit_code == 0, clean.output


def test_json_plan(tmp_path: Path, server_url: URL) -> None:
    make_project(tmp_path, BLOG)
    result = run(tmp_path, server_url, "plan", "--json", "--check")
    assert result.exit_code == 3
    plan = json.loads(result.stdout)  # the whole of stdout: the plan text went to stderr
    assert plan["changes"] is True and plan["add"] == 1
    assert plan["steps"][0]["kind"] == "table" and plan["steps"][0]["name"] == "users"
    assert any("CREATE TABLE users" in sql for sql in plan["steps"][0]["sql"])


def test_destructive_steps_need_allow_destructive(tmp_path: Path, server_url: URL) -> None:
    make_project(tmp_path, BLOG)
    run(tmp_path, server_url, "plan", "-m", "first")
    (tmp_path / "schema" / "app.yaml").write_text(BLOG_WITHOUT_EMAIL)
    refused = run(tmp_path, server_url, "plan", "-m", "drop email")
    assert refused.exit_code == 4
    assert "DS102" in refused.output and "column email" in refused.output
    assert "--allow-destructive" in refused.output
    assert revisions(tmp_path) == ["ID_first.py"]
    allowed = run(tmp_path, server_url, "plan", "-m", "drop email", "--allow-destructive")
    assert allowed.exit_code == 0, allowed.output
    assert revisions(tmp_path) == ["ID_first.py", "ID_drop_email.py"]
    text = revision_file(tmp_path, "drop_email").read_text()
    assert "'code': 'DS102'" in text  # the hazard is recorded in the revision


def test_bad_yaml_is_an_error_with_position_and_no_database(tmp_path: Path,
                                                            server_url: URL) -> None:
    make_project(tmp_path, "tables:\n  users:\n    columns:\n      id: {type: bigintt}\n")
    result = run(tmp_path, server_url, "plan")
    assert result.exit_code == 1
    assert "schema/app.yaml:4:" in result.output
    assert "bigint" in result.output  # did you mean
    assert revisions(tmp_path) == []


def test_plan_against_a_live_database_reads_it_only(tmp_path: Path, server_url: URL,
                                                    db_url: URL) -> None:
    project = make_project(tmp_path, BLOG)
    run(tmp_path, server_url, "plan", "-m", "first")
    migrate(project, db_url)
    same = run(tmp_path, server_url, "plan", "--check", "--against", _url(db_url))
    assert same.exit_code == 0, same.output
    assert "No changes. The schema matches the database." in same.output

    renamed = BLOG.replace("email: varchar(120)", "mail: {type: varchar(120), renamed_from: email}")
    (tmp_path / "schema" / "app.yaml").write_text(renamed)
    drift = run(tmp_path, server_url, "plan", "--check", "--against", _url(db_url))
    assert drift.exit_code == 3
    assert "~ column mail: email -> mail" in drift.output
    with psycopg.connect(libpq_dsn(db_url)) as conn:  # the database was only read
        columns = conn.execute("SELECT column_name FROM information_schema.columns "
                               "WHERE table_name = 'users' ORDER BY ordinal_position").fetchall()
    assert [c[0] for c in columns] == ["id", "username", "email"]


def test_plan_against_takes_no_lock_on_the_live_database(tmp_path: Path, server_url: URL,
                                                         db_url: URL) -> None:
    """Another session holds an exclusive lock on the table: plan --against still answers."""
    project = make_project(tmp_path, BLOG)
    run(tmp_path, server_url, "plan", "-m", "first")
    migrate(project, db_url)
    (tmp_path / "schema" / "app.yaml").write_text(BLOG + "      phone: {type: text, nullable: true}\n")
    with psycopg.connect(libpq_dsn(db_url)) as locker:
        locker.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
        result = run(tmp_path, server_url, "plan", "--check", "--against", _url(db_url))
    assert result.exit_code == 3, result.output
    assert "+ column phone" in result.output


def test_serial_column_adopted_as_identity_keeps_counting(tmp_path: Path, server_url: URL,
                                                          db_url: URL) -> None:
    """An app that started with create_all() has serial ids; the YAML says identity."""
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, username varchar(50) NOT NULL)")
        conn.execute("INSERT INTO users (username) VALUES ('ann'), ('bob')")
    make_project(tmp_path, """
tables:
  users:
    columns:
      id: {type: integer, identity: true, primary_key: true}
      username: varchar(50)
""")
    result = run(tmp_path, server_url, "plan", "--against", _url(db_url))
    assert result.exit_code == 0, result.output
    assert "~ column id: identity (none) -> by default" in result.output
    assert "Nothing written" in result.output and revisions(tmp_path) == []
    # The conformance runner's way: write that plan and apply it to the live database.
    project = make_project(tmp_path)
    path = write_revision(project, make_plan(project, settings_for(server_url), against=db_url),
                          "adopt")
    assert "DROP SEQUENCE" in path.read_text()
    migrate(project, db_url)
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute("INSERT INTO users (username) VALUES ('cy')")
        rows = conn.execute("SELECT id, username FROM users ORDER BY id").fetchall()
        kind = conn.execute("SELECT attidentity FROM pg_attribute WHERE attname = 'id' "
                            "AND attrelid = 'users'::regclass").fetchone()
    assert rows == [(1, "ann"), (2, "bob"), (3, "cy")]
    assert kind == ("d",)
    again = run(tmp_path, server_url, "plan", "--check", "--against", _url(db_url))
    assert again.exit_code == 0, again.output


def test_serial_column_kept_as_written_matches_the_live_database(tmp_path: Path, server_url: URL,
                                                                db_url: URL) -> None:
    """inspect writes a serial column as default_sql: nextval(...); planning against the
    database it came from finds nothing to do."""
    with psycopg.connect(libpq_dsn(db_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE users (id serial PRIMARY KEY, username varchar(50) NOT NULL)")
    make_project(tmp_path, """
tables:
  users:
    columns:
      id: {type: integer, primary_key: true, default_sql: "nextval('users_id_seq'::regclass)"}
      username: varchar(50)
""")
    result = run(tmp_path, server_url, "plan", "--check", "--against", _url(db_url))
    assert result.exit_code == 0, result.output
    assert "No changes. The schema matches the database." in result.output


@pytest.mark.skipif(not any((REPO / "migrations" / "versions").glob("*.py")),
                    reason="the example has no revisions yet")
def test_plain_alembic_upgrade_head_works_in_this_repository(db_url: URL) -> None:
    env = {**os.environ, "DATABASE_URL": _url(db_url)}
    result = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=REPO,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(libpq_dsn(db_url)) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    heads = sorted(p.name.split("_")[0] for p in (REPO / "migrations" / "versions").glob("*.py"))
    assert version == (heads[-1],)


def test_a_hostile_message_stays_a_message(tmp_path: Path, server_url: URL) -> None:
    make_project(tmp_path, BLOG)
    marker = tmp_path / "PWNED"
    message = f'x"""; import os; os.system("touch {marker}"); """y \\N{{oops}}'
    result = run(tmp_path, server_url, "plan", "-m", message)
    assert result.exit_code == 0, result.output
    assert not marker.exists()
    written = next((tmp_path / "migrations" / "versions").glob("*.py")).read_text()
    assert "import os; os.system" in written.splitlines()[0]  # in the docstring, as text
    assert run(tmp_path, server_url, "plan", "--check").exit_code == 0


def test_a_change_postgresql_refuses_is_an_error_not_a_file(tmp_path: Path,
                                                            server_url: URL) -> None:
    """A new enum value cannot be used in the transaction that adds it."""
    make_project(tmp_path, "enums:\n  mood: [happy, sad]\n" + BLOG)
    run(tmp_path, server_url, "plan", "-m", "first")
    (tmp_path / "schema" / "app.yaml").write_text(
        "enums:\n  mood: [happy, sad, meh]\n" + BLOG + "      mood: {type: mood, default: meh}\n")
    result = run(tmp_path, server_url, "plan", "-m", "use meh")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "rehearsed on the shadow database" in result.output and "meh" in result.output
    # ... and it names the YAML object whose step PostgreSQL refused.
    assert "(from table users, column mood, schema/app.yaml:" in result.output
    assert revisions(tmp_path) == ["ID_first.py"]


def test_two_heads_are_reported_before_anything_runs(tmp_path: Path, server_url: URL) -> None:
    make_project(tmp_path, BLOG)
    run(tmp_path, server_url, "plan", "-m", "first")
    first = revision_file(tmp_path, "first")
    rev = first.name.split("_")[0]
    twin = first.read_text().replace(f"revision = '{rev}'", "revision = '0001'")
    (first.parent / "0001_twin.py").write_text(twin)
    result = run(tmp_path, server_url, "plan")
    assert result.exit_code == 1
    assert "2 heads" in result.output and isinstance(result.exception, SystemExit)


def test_check_trusts_sql_that_schemactl_rendered_and_the_sum_file_marks(
        tmp_path: Path, server_url: URL) -> None:
    """check renders a revision's SQL again only when the sum file cannot vouch for it: a
    file plan wrote carries a `rendered` mark, which a later edit (even re-hashed) breaks."""
    make_project(tmp_path, BLOG)
    run(tmp_path, server_url, "plan", "-m", "first")
    stem = revision_file(tmp_path, "first").stem
    sum_file = tmp_path / "migrations" / "schemactl.sum"
    assert f"rendered sql/{stem}.sql sha256:" in sum_file.read_text()
    sql = tmp_path / "migrations" / "sql" / f"{stem}.sql"
    # A change that rendering would not give, marked as rendered: check does not re-render.
    sql.write_text(sql.read_text().replace("COMMIT;", "-- reviewed\nCOMMIT;"))
    project = Project(tmp_path)
    checksums.record(project, [sql])
    assert run(tmp_path, server_url, "check").exit_code == 0
    # The same change re-hashed without the mark: rendered again, and refused.
    checksums.record(project)
    assert run(tmp_path, server_url, "check").exit_code == 0  # the old mark is kept ...
    sql.write_text(sql.read_text().replace("-- reviewed\n", "-- reviewed twice\n"))
    assert run(tmp_path, server_url, "hash").exit_code == 0  # ... but no longer matches
    result = run(tmp_path, server_url, "check")
    assert result.exit_code == 3
    assert f"migrations/sql/{stem}.sql does not match its revision" in result.output


def test_check_refuses_an_offline_sql_file_edited_by_hand(tmp_path: Path, server_url: URL) -> None:
    """The DBA runs the .sql file: re-hashing a tampered one must not make it pass."""
    make_project(tmp_path, BLOG)
    run(tmp_path, server_url, "plan", "-m", "first")
    assert run(tmp_path, server_url, "check").exit_code == 0
    stem = revision_file(tmp_path, "first").stem
    sql = tmp_path / "migrations" / "sql" / f"{stem}.sql"
    sql.write_text(sql.read_text().replace("COMMIT;", "DROP TABLE users CASCADE;\nCOMMIT;"))
    assert run(tmp_path, server_url, "hash").exit_code == 0
    result = run(tmp_path, server_url, "check")
    assert result.exit_code == 3
    rev = stem.split("_")[0]
    assert f"migrations/sql/{stem}.sql does not match its revision {rev}" in result.output
