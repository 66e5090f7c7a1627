"""schemactl apply / downgrade against a real PostgreSQL: each test checks schema and data after."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from schemactl.apply import checksums, runner
from schemactl.apply.lock import LOCK_KEY
from schemactl.project import Project
from schemactl.settings import Settings

from . import pgdump_drift as drift
from .apply_helpers import new_project, run_on_terminal, schemactl, start_schemactl, write_revision
from .helpers import make_project

BLOG_YAML = """
enums:
  post_status: [draft, published]
tables:
  users:
    comment: People who write posts
    columns:
      id:         {type: bigint, identity: true, primary_key: true}
      email:      {type: varchar(120), unique: true}
      created_at: {type: timestamptz, default_sql: now()}
  posts:
    columns:
      id:      {type: bigint, identity: true, primary_key: true}
      status:  {type: post_status, default: draft}
      user_id: {type: bigint, references: users.id, on_delete: cascade}
      title:   {type: varchar(100), nullable: true}
    indexes:
      - {columns: [user_id]}
      - {name: posts_published_idx, columns: [id], where: "status = 'published'"}
"""

DROP_USERS = {"code": "DS101", "kind": "data loss", "object": "table public.users",
              "message": "drops table users and its rows"}


def tables(db: psycopg.Connection) -> set[str]:
    rows = db.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def revision_of(db: psycopg.Connection) -> str | None:
    if "alembic_version" not in tables(db):
        return None
    row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def history(db: psycopg.Connection) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute(
        "SELECT revision, direction FROM schemactl_history WHERE result = 'ok' "
        "ORDER BY id").fetchall()]


def migration_lock_holders(db: psycopg.Connection) -> int:
    row = db.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (LOCK_KEY >> 32, LOCK_KEY & 0xFFFFFFFF)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """Two revisions: users (with a row), then posts."""
    project = new_project(tmp_path / "project")
    write_revision(project, "0001", "create_users", [
        "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL)",
        "INSERT INTO users VALUES (1, 'ada')",
    ], ["DROP TABLE users"])
    write_revision(project, "0002", "create_posts", [
        "CREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users)",
    ], ["DROP TABLE posts"], down="0001")
    return project


def test_apply_brings_the_database_to_head_and_records_each_revision(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    result = runner.upgrade(project, Settings(), db_url)

    assert [s.revision.id for s in result.steps] == ["0001", "0002"]
    assert (result.before, result.after) == (None, "0002")
    assert tables(db) == {"users", "posts", "alembic_version", "schemactl_history"}
    assert db.execute("SELECT name FROM users").fetchall() == [("ada",)]
    assert revision_of(db) == "0002"
    rows = db.execute("SELECT revision, checksum, direction, duration_ms >= 0, applied_at <= now()"
                      " FROM schemactl_history ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["0001", "0002"]
    assert all(r[1].startswith("sha256:") and r[2] == "up" and r[3] and r[4] for r in rows)
    # Nothing left to do the second time.
    assert runner.upgrade(project, Settings(), db_url).steps == []
    assert migration_lock_holders(db) == 0


def test_apply_to_a_revision_then_on_to_head(project: Project, db_url: URL,
                                             db: psycopg.Connection) -> None:
    done = schemactl(project, "apply", "--to", "0001", url=db_url)
    assert done.returncode == 0, done.stderr
    assert revision_of(db) == "0001" and "posts" not in tables(db)
    done = schemactl(project, "apply", url=db_url)
    assert done.returncode == 0, done.stderr
    assert "[1/1] 0002_create_posts" in done.stdout and " ms" in done.stdout
    assert revision_of(db) == "0002"


def test_downgrade_then_upgrade_gives_the_same_schema(project: Project, db_url: URL,
                                                      db: psycopg.Connection) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    at_head = drift.dump_schema(db_url)

    refused = schemactl(project, "downgrade", "0001", url=db_url)
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "0002_create_posts" in refused.stderr and revision_of(db) == "0002"

    done = schemactl(project, "downgrade", "0001", "--yes", url=db_url)
    assert done.returncode == 0, done.stderr
    assert revision_of(db) == "0001" and "posts" not in tables(db)
    assert db.execute("SELECT name FROM users").fetchall() == [("ada",)]

    assert schemactl(project, "apply", url=db_url).returncode == 0
    assert drift.compare(drift.dump_schema(db_url), at_head) == []
    assert history(db) == [("0001", "up"), ("0002", "up"), ("0002", "down"), ("0002", "up")]


def test_a_destructive_revision_is_refused_without_yes_and_a_terminal(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    write_revision(project, "0003", "drop_posts", ["DROP TABLE posts"],
                   ["CREATE TABLE posts (id int PRIMARY KEY)"], down="0002",
                   hazards=[{**DROP_USERS, "object": "table public.posts"}])
    refused = schemactl(project, "apply", url=db_url)
    assert refused.returncode == 4
    assert "0003_drop_posts" in refused.stderr and "--yes" in refused.stderr
    assert "DS101 (data loss) table public.posts" in refused.stdout  # shown before refusing
    assert revision_of(db) is None  # refused before anything ran

    done = schemactl(project, "apply", "--yes", url=db_url)
    assert done.returncode == 0, done.stderr
    assert revision_of(db) == "0003" and "posts" not in tables(db)


def test_two_applies_started_together_apply_each_revision_once(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    # A slow first revision makes sure the two runs overlap.
    write_revision(project, "0003", "slow", ["SELECT pg_sleep(3)",
                                             "ALTER TABLE posts ADD COLUMN title text"],
                   down="0002")
    runs = [start_schemactl(project, "apply", url=db_url) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], outputs
    assert history(db) == [("0001", "up"), ("0002", "up"), ("0003", "up")]
    assert db.execute("SELECT count(*) FROM users").fetchone() == (1,)  # inserted once
    waited = [out for out, err in outputs if "Nothing to do" in out]
    assert len(waited) == 1
    assert any("Waiting for another migration run" in err for _, err in outputs)


def test_a_revision_failing_in_its_third_statement_leaves_no_trace(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    write_revision(project, "0003", "add_comments", [
        "CREATE TABLE comments (id int PRIMARY KEY)",
        "INSERT INTO users VALUES (2, 'grace')",
        "INSERT INTO users VALUES (1, 'duplicate id')",
    ], down="0002")

    failed = schemactl(project, "apply", url=db_url)

    assert failed.returncode == 1
    assert "0003_add_comments" in failed.stderr
    assert "INSERT INTO users VALUES (1, 'duplicate id')" in failed.stderr
    assert "23505" in failed.stderr and "duplicate key" in failed.stderr
    assert "stays at revision 0002" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert revision_of(db) == "0002"
    assert "comments" not in tables(db)
    assert db.execute("SELECT id, name FROM users").fetchall() == [(1, "ada")]
    assert history(db) == [("0001", "up"), ("0002", "up")]
    # The failed run is recorded (for `schemactl history`), apart from the applied ones.
    failures = db.execute("SELECT revision, error FROM schemactl_history "
                          "WHERE result = 'failed'").fetchall()
    assert [r[0] for r in failures] == ["0003"] and "duplicate key" in failures[0][1]
    assert migration_lock_holders(db) == 0


def test_sigkill_in_the_middle_of_a_slow_revision(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    # How long the revision sleeps is read from a table, so that the same (checksummed)
    # revision is slow the first time and quick once the test flips the switch.
    write_revision(project, "0003", "slow_change", [
        "CREATE TABLE gate_probe (id int)",
        "SELECT pg_sleep(CASE WHEN (SELECT slow FROM gate) THEN 60 ELSE 0 END)",
        "ALTER TABLE posts ADD COLUMN title text",
    ], down="0002")
    db.execute("CREATE TABLE gate (slow boolean)")
    db.execute("INSERT INTO gate VALUES (true)")
    run = start_schemactl(project, "apply", url=db_url)
    _wait_for(lambda: db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()"
        " AND datname = current_database()",
        ("SELECT pg_sleep(CASE%",)).fetchone() == (1,), "the slow statement to start")

    run.kill()
    run.wait(timeout=10)

    # The server notices the dead client (client_connection_check_interval), rolls back
    # and releases the session's advisory lock.
    _wait_for(lambda: migration_lock_holders(db) == 0, "the migration lock to be released")
    assert revision_of(db) == "0002"
    assert "gate_probe" not in tables(db)
    assert history(db) == [("0001", "up"), ("0002", "up")]

    db.execute("UPDATE gate SET slow = false")
    done = schemactl(project, "apply", url=db_url)
    assert done.returncode == 0, done.stderr
    assert revision_of(db) == "0003" and "gate_probe" in tables(db)


def _wait_for(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_locked_table_is_retried_then_fails_cleanly_naming_the_lock(
        project: Project, db_url: URL, db: psycopg.Connection, server_url: URL) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    write_revision(project, "0003", "add_title", ["ALTER TABLE posts ADD COLUMN title text"],
                   down="0002")
    with psycopg.connect(db.info.dsn, password=db_url.password) as blocker:
        blocker.execute("LOCK TABLE posts IN ACCESS EXCLUSIVE MODE")  # held until rollback
        started = time.monotonic()
        failed = schemactl(project, "apply", "--lock-timeout", "200ms", "--lock-retries", "2",
                           url=db_url)
        elapsed = time.monotonic() - started
        blocker.rollback()

    assert failed.returncode == 1
    assert "0003_add_title" in failed.stderr
    assert "lock_timeout=200ms in 3 tries" in failed.stderr
    assert "AccessExclusiveLock on posts held by pid" in failed.stderr
    assert failed.stderr.count("retry") == 2
    # 3 tries of 200 ms plus 0.5 s + 1 s of backoff; never a long wait behind the lock.
    assert 2.1 <= elapsed < 20
    assert revision_of(db) == "0002"
    assert "title" not in _columns(db, "posts")

    done = schemactl(project, "apply", url=db_url)  # the lock is gone now
    assert done.returncode == 0, done.stderr
    assert "title" in _columns(db, "posts")


def _columns(db: psycopg.Connection, table: str) -> set[str]:
    rows = db.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                      (table,)).fetchall()
    return {r[0] for r in rows}


def test_a_revision_edited_after_plan_is_refused_by_name(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    path = project.versions_dir / "0002_create_posts.py"
    path.write_text(path.read_text().replace("user_id int", "author_id int"))

    refused = schemactl(project, "apply", url=db_url)

    assert refused.returncode == 1
    assert "versions/0002_create_posts.py: changed since it was recorded" in refused.stderr
    assert "schemactl hash" in refused.stderr
    assert revision_of(db) is None and "users" not in tables(db)

    assert schemactl(project, "hash").returncode == 0  # a deliberate, reviewed edit
    done = schemactl(project, "apply", url=db_url)
    assert done.returncode == 0, done.stderr
    assert "author_id" in _columns(db, "posts")


def test_a_revision_edited_after_apply_is_refused_by_name(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    assert schemactl(project, "apply", "--to", "0001", url=db_url).returncode == 0
    path = project.versions_dir / "0001_create_users.py"
    path.write_text(path.read_text().replace("'ada'", "'bob'"))
    assert schemactl(project, "hash").returncode == 0  # even once the sum is re-recorded

    refused = schemactl(project, "apply", url=db_url)

    assert refused.returncode == 1
    assert "changed after they were applied" in refused.stderr
    assert "migrations/versions/0001_create_users.py" in refused.stderr
    assert revision_of(db) == "0001" and "posts" not in tables(db)


@pytest.mark.parametrize(("answer", "exit_code"), [("n", 4), ("y", 0)])
def test_on_a_terminal_a_destructive_revision_is_confirmed_first(
        project: Project, db_url: URL, db: psycopg.Connection, answer: str,
        exit_code: int) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    write_revision(project, "0003", "drop_posts", ["DROP TABLE posts"], down="0002",
                   hazards=[{**DROP_USERS, "object": "table public.posts"}])
    code, output = run_on_terminal(project, "apply", url=db_url, answer=answer,
                                   prompt="Run them?")
    assert code == exit_code, output
    assert "DS101 (data loss) table public.posts" in output
    assert "0003_drop_posts can lose data. Run them?" in output
    assert ("posts" in tables(db)) is (answer == "n")


def test_a_run_waits_for_the_lock_at_most_lock_wait(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    with psycopg.connect(db.info.dsn, password=db_url.password, autocommit=True,
                         application_name="other migrator") as other:
        other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        started = time.monotonic()
        refused = schemactl(project, "apply", "--lock-wait", "1", url=db_url)
        elapsed = time.monotonic() - started
    assert refused.returncode == 1
    assert "Waiting for another migration run to finish (held by pid" in refused.stderr
    assert "(other migrator)" in refused.stderr and "gave up after 1s" in refused.stderr
    assert 1 <= elapsed < 15
    assert revision_of(db) is None


def test_statement_timeout_applies_to_migration_statements(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    write_revision(project, "0003", "slow", ["SELECT pg_sleep(5)"], down="0002")
    failed = schemactl(project, "apply", "--statement-timeout", "300ms", url=db_url)
    assert failed.returncode == 1
    assert "0003_slow" in failed.stderr and "57014" in failed.stderr
    assert "statement timeout" in failed.stderr
    assert revision_of(db) == "0002"


def test_a_revision_with_an_autocommit_block_runs_outside_one_transaction(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    path = write_revision(project, "0003", "index_concurrently", [], down="0002")
    path.write_text(path.read_text().replace(
        "def upgrade() -> None:\n    pass",
        "def upgrade() -> None:\n"
        "    op.execute('ALTER TABLE users ADD COLUMN email text')\n"
        "    with op.get_context().autocommit_block():\n"
        "        op.execute('CREATE INDEX CONCURRENTLY users_email ON users (email)')\n"))
    checksums.record(project)

    done = schemactl(project, "apply", url=db_url)

    assert done.returncode == 0, done.stderr
    assert "not atomic: commits part way (autocommit_block)" in done.stdout
    assert revision_of(db) == "0003"
    assert db.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'users_email'::regclass"
                      ).fetchone() == (True,)
    assert history(db)[-1] == ("0003", "up")


def test_plan_apply_status_check_agree_end_to_end(tmp_path: Path, server_url: URL,
                                                  db_url: URL, db: psycopg.Connection) -> None:
    """The whole path as a user runs it: plan writes the revision, its SQL and the sum;
    apply accepts them; nothing is left to plan, no drift, and CI's check passes."""
    project = make_project(tmp_path / "blog", BLOG_YAML)
    (project.root / ".env").write_text(
        f"SHADOW_DATABASE_URL={server_url.render_as_string(hide_password=False)}\n")
    planned = schemactl(project, "plan", "-m", "blog")
    assert planned.returncode == 0, planned.stdout + planned.stderr

    done = schemactl(project, "apply", url=db_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert {"users", "posts"} <= tables(db)

    status = schemactl(project, "status", url=db_url)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Drift: none" in status.stdout
    # schemactl's own tables in the target are not schema to plan
    against = schemactl(project, "plan", "--check", "--against",
                        db_url.render_as_string(hide_password=False))
    assert against.returncode == 0, against.stdout + against.stderr
    check = schemactl(project, "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_revisions_in_the_wrong_direction_or_unknown_are_clear_errors(
        project: Project, db_url: URL, db: psycopg.Connection) -> None:
    assert schemactl(project, "apply", url=db_url).returncode == 0
    behind = schemactl(project, "apply", "--to", "0001", url=db_url)
    assert behind.returncode == 1
    assert "already past 0001" in behind.stderr
    assert "schemactl downgrade 0001" in behind.stderr
    unknown = schemactl(project, "downgrade", "0042", "--yes", url=db_url)
    assert unknown.returncode == 1 and "'0042'" in unknown.stderr
    assert revision_of(db) == "0002"


def test_a_statement_that_did_nothing_is_said_by_apply_and_fleet_apply(
        project: Project, db_url: URL, server_url: URL) -> None:
    """PostgreSQL's "..., skipping" notice (a statement guarded by IF [NOT] EXISTS that
    found its work done) is a line of the output, for one database and for a fleet."""
    write_revision(project, "0003", "guarded", ["DROP INDEX IF EXISTS users_nope_idx"],
                   down="0002")
    done = schemactl(project, "apply", url=db_url)
    assert done.returncode == 0, done.stderr
    assert '0003_guarded: PostgreSQL: index "users_nope_idx" does not exist, skipping' \
        in done.stderr, done.stderr
    assert schemactl(project, "downgrade", "0002", "--yes", url=db_url).returncode == 0
    host = f"{server_url.host or 'localhost'}:{server_url.port or 5432}"
    (project.root / "fleet.yaml").write_text(
        f"databases:\n  - postgresql://{server_url.username or 'postgres'}@{host}/"
        f"{db_url.database}\n")
    fleet = schemactl(project, "apply", "--fleet", "--yes")
    assert fleet.returncode == 0, fleet.stdout + fleet.stderr
    assert '  0003_guarded: PostgreSQL: index "users_nope_idx" does not exist, skipping' \
        in fleet.stderr, fleet.stderr
