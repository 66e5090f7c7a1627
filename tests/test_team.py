"""The team workflow on real PostgreSQL and real git: two branches plan, one merges, the other
rebases, and every database reaches the same head."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from click.testing import CliRunner, Result
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn
from schemactl.pipeline import next_revision_id

from .conftest import pg_dump_schema
from .helpers import make_project
from .test_json_output import document

BASE = """
tables:
  users:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      username: varchar(50)
"""
WITH_EMAIL = BASE + "      email: {type: varchar(120), nullable: true}\n"
WITH_POSTS = BASE + """  posts:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
      title: text
"""
MERGED = WITH_EMAIL + WITH_POSTS[len(BASE):]


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def cli(root: Path, server: URL, *args: str, database: URL | None = None) -> Result:
    env = {"SHADOW_DATABASE_URL": _url(server), "DATABASE_URL": _url(database) if database else None}
    return CliRunner().invoke(main, ["-C", str(root), *args], env=env)


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          cwd=root, check=True, capture_output=True, text=True).stdout


def version_of(url: URL) -> str:
    with psycopg.connect(libpq_dsn(url)) as conn:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        assert row is not None
        return str(row[0])


def schema_file(root: Path) -> Path:
    return root / "schema" / "app.yaml"


def test_revisions_planned_in_the_same_second_get_different_ids_that_still_sort(
        tmp_path: Path) -> None:
    project = make_project(tmp_path / "app", BASE)
    now = datetime(2026, 12, 1, 9, 30, 12, tzinfo=UTC)
    ids = [next_revision_id(project, now) for _ in range(5)]  # five branches, one second
    assert len(set(ids)) == 5, ids
    assert all(i.startswith("20261201093012") and len(i) == 18 for i in ids), ids
    # A clock behind the newest revision still gives an id that sorts after it.
    (project.versions_dir / "20991231235959abcd_later.py").write_text("")
    assert next_revision_id(project, now) > "20991231235959abcd"
    assert next_revision_id(project, now).startswith("20991231235960")


def test_two_branches_plan_one_merges_the_other_rebases(tmp_path: Path, server_url: URL) -> None:
    root = tmp_path / "app"
    make_project(root, BASE)
    git(root, "init", "-q", "-b", "main")
    assert cli(root, server_url, "plan", "-m", "users").exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "users")

    # Alice adds a column on her branch; Bob adds a table on his, in the same minute.
    git(root, "checkout", "-qb", "alice")
    schema_file(root).write_text(WITH_EMAIL)
    assert cli(root, server_url, "plan", "-m", "add email").exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "email")
    git(root, "checkout", "-q", "main")
    git(root, "checkout", "-qb", "bob")
    schema_file(root).write_text(WITH_POSTS)  # very likely in the same second as Alice's plan
    assert cli(root, server_url, "plan", "-m", "add posts").exit_code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "posts")

    with throwaway_database(server_url, "schemactl_test") as alice_db, \
            throwaway_database(server_url, "schemactl_test") as bob_db:
        assert cli(root, server_url, "apply", "--yes", database=bob_db).exit_code == 0
        bob_old = version_of(bob_db)

        # Alice's branch is merged into main first; her database follows main.
        git(root, "checkout", "-q", "main")
        git(root, "merge", "-q", "alice")
        assert cli(root, server_url, "apply", "--yes", database=alice_db).exit_code == 0

        # Bob merges main: both YAML changes, and two heads that CI refuses with one instruction.
        git(root, "checkout", "-q", "bob")
        subprocess.run(["git", "merge", "-q", "main"], cwd=root, capture_output=True)
        schema_file(root).write_text(MERGED)  # the YAML conflict, resolved by hand
        (root / "migrations" / "schemactl.sum").write_text("")  # conflicted; rebase rewrites it
        git(root, "commit", "-qam", "merge main")
        checked = cli(root, server_url, "check")
        assert checked.exit_code == 3, checked.output
        assert "2 heads" in checked.output and "`schemactl rebase`" in checked.output
        planned = cli(root, server_url, "plan")
        assert planned.exit_code == 1 and "schemactl rebase" in planned.output

        rebased = cli(root, server_url, "rebase", "--json")
        assert rebased.exit_code == 0, rebased.output
        assert f"moved  {bob_old}_add_posts" in rebased.stderr
        moved = document(rebased, "rebase")
        assert [m["from"] for m in moved["moved"]] == [f"{bob_old}_add_posts"]
        assert moved["pending_yaml_changes"] is False
        assert cli(root, server_url, "check").exit_code == 0
        names = sorted(p.stem for p in (root / "migrations" / "versions").glob("*.py"))
        assert [n.split("_", 1)[1] for n in names] == ["users", "add_email", "add_posts"]

        # Alice's database just applies Bob's (moved) revision.
        assert cli(root, server_url, "apply", "--yes", database=alice_db).exit_code == 0
        # Bob's database applied the old id: told so, then brought along with --rebased.
        told = cli(root, server_url, "apply", "--yes", database=bob_db)
        assert told.exit_code == 1
        assert f"revision {bob_old}, which `schemactl rebase` has since moved" in told.output
        assert "--rebased" in told.output
        caught_up = cli(root, server_url, "apply", "--yes", "--rebased", database=bob_db)
        assert caught_up.exit_code == 0, caught_up.output

        head = names[-1].split("_")[0]
        assert version_of(alice_db) == version_of(bob_db) == head
        assert pg_dump_schema(alice_db) == pg_dump_schema(bob_db)
        for db in (alice_db, bob_db):
            status = cli(root, server_url, "status", "--json", database=db)
            assert status.exit_code == 0, status.output
            assert json.loads(status.stdout)["drift"] == []


def test_a_database_at_a_revision_no_file_has_is_diagnosed(tmp_path: Path, server_url: URL,
                                                           db_url: URL) -> None:
    root = tmp_path / "app"
    make_project(root, BASE)
    assert cli(root, server_url, "plan", "-m", "users").exit_code == 0
    assert cli(root, server_url, "apply", database=db_url).exit_code == 0
    with psycopg.connect(libpq_dsn(db_url)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '20990101000000'")
    for command in ("apply", "status"):
        done = cli(root, server_url, command, database=db_url)
        assert done.exit_code == 1, done.output
        assert ("the database applied revision 20990101000000, which is not in "
                "migrations/versions") in done.output
        assert "Traceback" not in done.output


def test_two_files_with_one_id_are_an_error_naming_both(tmp_path: Path, server_url: URL) -> None:
    root = tmp_path / "app"
    make_project(root, BASE)
    assert cli(root, server_url, "plan", "-m", "users").exit_code == 0
    [first] = (root / "migrations" / "versions").glob("*.py")
    twin = first.with_name(first.name.replace("_users", "_twin"))
    twin.write_text(first.read_text())
    for command in ("plan", "check", "status"):
        done = cli(root, server_url, command, database=server_url)  # status never connects
        assert done.exit_code == 1, (command, done.output)
        assert (f"revision id {first.name.split('_')[0]} is used by two files: {twin.name} and "
                f"{first.name}") in done.output
        assert "schemactl rebase" in done.output and "UserWarning" not in done.output
