"""Fleet apply on real PostgreSQL: 30 databases and 30 tenant schemas, the example history.

One fleet of databases is made per test module (creating 31 databases costs seconds) and
emptied before every test. Each test checks what a user would: every target's revision in
its own alembic_version, and its own schemactl_history (no revision applied twice).
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL

from schemactl.db.urls import libpq_dsn, with_database
from schemactl.project import Project

from .apply_helpers import REPO, Run, schemactl
from .test_json_output import checked_document

HEAD = "0004"
ALL = ("0001", "0002", "0003", "0004")
N_DATABASES = 30
N_SCHEMAS = 30
DROPPERS = 4  # connections that drop the fleet's databases at the end


@dataclass
class Fleet:
    server: URL
    databases: list[str]  # database per tenant
    tenants_db: str  # the database holding the tenant schemas
    schemas: list[str]

    def url(self, database: str) -> str:
        return libpq_dsn(with_database(self.server, database))

    def targets(self) -> list[tuple[str, str | None]]:
        return [(d, None) for d in self.databases] + [(self.tenants_db, s) for s in self.schemas]


def _admin(server: URL) -> psycopg.Connection:
    return psycopg.connect(libpq_dsn(with_database(server, "postgres")), autocommit=True)


@pytest.fixture(scope="module")
def fleet_dbs(server_url: URL) -> Iterator[Fleet]:
    prefix = f"schemactl_test_fleet_{secrets.token_hex(4)}"
    fleet = Fleet(server_url, [f"{prefix}_{i:02d}" for i in range(N_DATABASES)],
                  f"{prefix}_tenants", [f"tenant_{i:02d}" for i in range(N_SCHEMAS)])
    names = [*fleet.databases, fleet.tenants_db]
    try:
        with _admin(server_url) as admin:
            for name in names:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        yield fleet
    finally:
        # Each DROP DATABASE waits for a checkpoint; drops in parallel share them.
        with ThreadPoolExecutor(DROPPERS) as pool:
            list(pool.map(lambda group: _drop(server_url, group),
                          [names[i::DROPPERS] for i in range(DROPPERS)]))


def _drop(server: URL, names: list[str]) -> None:
    with _admin(server) as admin:
        for name in names:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


@pytest.fixture
def fleet(fleet_dbs: Fleet) -> Fleet:
    """The module's fleet, emptied: public schemas recreated, 30 empty tenant schemas."""
    for name in fleet_dbs.databases:
        with psycopg.connect(fleet_dbs.url(name), autocommit=True) as conn:
            # As a new database has it: pg_dump (drift) shows the owner-less comment too.
            conn.execute("DROP SCHEMA public CASCADE; "
                         "CREATE SCHEMA public AUTHORIZATION pg_database_owner; "
                         "COMMENT ON SCHEMA public IS 'standard public schema'")
    with psycopg.connect(fleet_dbs.url(fleet_dbs.tenants_db), autocommit=True) as conn:
        for schema in fleet_dbs.schemas:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}")
                         .format(sql.Identifier(schema)))
    return fleet_dbs


def example_project(root: Path) -> Project:
    """A copy of this repository's worked example: its schema and its 4 revisions."""
    root.mkdir(parents=True)
    shutil.copytree(REPO / "schema", root / "schema")
    shutil.copytree(REPO / "migrations", root / "migrations",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "alembic.ini", root)
    return Project(root)


@pytest.fixture
def project(tmp_path: Path, fleet: Fleet) -> Project:
    project = example_project(tmp_path / "project")
    host = f"{fleet.server.host or 'localhost'}:{fleet.server.port or 5432}"
    user = fleet.server.username or "postgres"
    lines = ["databases:"] + [f"  - postgresql://{user}@{host}/{d}" for d in fleet.databases]
    lines += ["schemas:",
              f"  - {{database: 'postgresql://{user}@{host}/{fleet.tenants_db}', "
              "match: 'tenant\\_%'}"]
    (project.root / "fleet.yaml").write_text("\n".join(lines) + "\n")
    return project


def name_of(fleet: Fleet, database: str, schema: str | None = None) -> str:
    base = f"{fleet.server.host or 'localhost'}:{fleet.server.port or 5432}/{database}"
    return f"{base}/{schema}" if schema else base


def _table(schema: str | None, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema or "public"), sql.Identifier(table))


def state(fleet: Fleet) -> dict[tuple[str, str | None], tuple[str | None, tuple[str, ...]]]:
    """Every target's revision and the revisions its history says were applied (in order)."""
    found = {}
    for database, schema in fleet.targets():
        with psycopg.connect(fleet.url(database), autocommit=True) as conn:
            found[(database, schema)] = _target_state(conn, schema)
    return found


def _target_state(conn: psycopg.Connection,
                  schema: str | None) -> tuple[str | None, tuple[str, ...]]:
    name = f"{schema or 'public'}.alembic_version"
    row = conn.execute("SELECT to_regclass(%s), to_regclass(%s)",
                       (name, f"{schema or 'public'}.schemactl_history")).fetchone()
    assert row is not None
    revision = None
    if row[0] is not None:
        version = conn.execute(sql.SQL("SELECT version_num FROM {}").format(
            _table(schema, "alembic_version"))).fetchone()
        revision = version[0] if version else None
    applied: tuple[str, ...] = ()
    if row[1] is not None:
        applied = tuple(r[0] for r in conn.execute(sql.SQL(
            "SELECT revision FROM {} WHERE direction = 'up' AND result = 'ok' ORDER BY id")
            .format(_table(schema, "schemactl_history"))).fetchall())
    return revision, applied


def run(project: Project, *args: str) -> Run:
    return schemactl(project, *args)


def test_a_failing_target_does_not_stop_the_others_and_a_rerun_runs_only_it(
        fleet: Fleet, project: Project) -> None:
    broken_db, broken_schema = fleet.databases[7], fleet.schemas[12]
    with psycopg.connect(fleet.url(broken_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE posts (id int)")  # 0001 creates posts: a conflicting table
    with psycopg.connect(fleet.url(fleet.tenants_db), autocommit=True) as conn:
        # 0004 creates the type post_status: that tenant gets 0001-0003, then fails.
        conn.execute(f"CREATE TYPE {broken_schema}.post_status AS ENUM ('x')")

    first = run(project, "apply", "--fleet", "--canary", "2")

    assert first.returncode == 1, first.stdout + first.stderr
    after = state(fleet)
    for target, (revision, applied) in after.items():
        if target == (broken_db, None):
            assert (revision, applied) == (None, ())
        elif target == (fleet.tenants_db, broken_schema):
            assert (revision, applied) == ("0003", ("0001", "0002", "0003"))
        else:
            assert (revision, applied) == (HEAD, ALL), target
    lines = first.stdout.splitlines()
    failed_rows = [line.split() for line in lines if " failed " in line]
    assert failed_rows == [
        [name_of(fleet, broken_db), "failed", "base", "->", "base", failed_rows[0][-2], "ms"],
        [name_of(fleet, fleet.tenants_db, broken_schema), "failed", "base", "->", "0003",
         failed_rows[1][-2], "ms"]]
    assert "Fleet apply: 60 targets: 58 applied, 2 failed." in first.stdout
    assert 'relation "posts" already exists' in first.stderr
    assert 'type "post_status" already exists' in first.stderr

    with psycopg.connect(fleet.url(broken_db), autocommit=True) as conn:
        conn.execute("DROP TABLE posts")
    with psycopg.connect(fleet.url(fleet.tenants_db), autocommit=True) as conn:
        conn.execute(f"DROP TYPE {broken_schema}.post_status")
    second = run(project, "apply", "--fleet")

    assert second.returncode == 0, second.stdout + second.stderr
    assert "Fleet apply: 60 targets: 2 applied, 58 unchanged." in second.stdout
    applied_rows = [line.split()[:5] for line in second.stdout.splitlines() if " applied " in line]
    assert sorted(applied_rows) == sorted([
        [name_of(fleet, broken_db), "applied", "base", "->", HEAD],
        [name_of(fleet, fleet.tenants_db, broken_schema), "applied", "0003", "->", HEAD]])
    # Every target at head, each revision applied exactly once (the tenant resumed at 0004).
    assert set(state(fleet).values()) == {(HEAD, ALL)}
    # The failed runs are in the history of the targets they failed on.
    with psycopg.connect(fleet.url(fleet.tenants_db), autocommit=True) as conn:
        failures = conn.execute(sql.SQL("SELECT revision FROM {} WHERE result = 'failed'")
                                .format(_table(broken_schema, "schemactl_history"))).fetchall()
    assert failures == [("0004",)]


def test_a_failing_canary_stops_the_rollout_before_the_rest(
        fleet: Fleet, project: Project) -> None:
    canary = fleet.schemas[3]
    with psycopg.connect(fleet.url(fleet.tenants_db), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {canary}.users (id int)")

    result = run(project, "apply", "--fleet", "--canary", f"{fleet.databases[0]},{canary}")

    assert result.returncode == 1
    after = state(fleet)
    assert after[(fleet.databases[0], None)] == (HEAD, ALL)  # the other canary went through
    assert after[(fleet.tenants_db, canary)] == (None, ())
    untouched = {k: v for k, v in after.items()
                 if k not in ((fleet.databases[0], None), (fleet.tenants_db, canary))}
    assert len(untouched) == 58 and set(untouched.values()) == {(None, ())}
    assert "Fleet apply: 60 targets: 1 applied, 1 failed, 58 not run." in result.stdout
    assert "Stopped: a canary target failed" in result.stderr


def _schemactl_sessions(fleet: Fleet) -> int:
    with _admin(fleet.server) as admin:
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'schemactl' "
            "AND datname LIKE %s", (fleet.tenants_db.rsplit("_", 1)[0] + "%",)).fetchone()
    assert row is not None
    return int(row[0])


def test_killed_at_a_random_moment_then_run_again_every_target_reaches_head_once(
        fleet: Fleet, project: Project) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",
                                                             "SHADOW_DATABASE_URL")}
    proc = subprocess.Popen([sys.executable, "-m", "schemactl", "-C", str(project.root),
                             "apply", "--fleet", "--concurrency", "4"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    # Wait until the rollout has begun (a target reached head), then kill at a random moment.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(rev == HEAD for rev, _ in state(fleet).values()):
            break
        time.sleep(0.05)
    delay = random.uniform(0, 0.5)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)  # the fleet process only: its workers must die with it
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 30
    while _schemactl_sessions(fleet) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _schemactl_sessions(fleet) == 0, "a worker outlived the killed fleet process"
    killed = state(fleet)
    at_head = sum(rev == HEAD for rev, _ in killed.values())
    assert 0 < at_head < 60, f"the kill (after {delay:.2f}s) did not land mid-rollout"
    for revision, applied in killed.values():  # each target stopped between two revisions
        assert applied == ALL[:len(applied)] and revision == (applied[-1] if applied else None)

    rerun = run(project, "apply", "--fleet")

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert set(state(fleet).values()) == {(HEAD, ALL)}  # at head, no revision applied twice
    assert f"{at_head} unchanged" in rerun.stdout


def test_fleet_list_and_status_show_every_target_by_revision(
        fleet: Fleet, project: Project) -> None:
    # Only the first 3 databases are a fleet here; one of them is brought to head.
    host = f"{fleet.server.host or 'localhost'}:{fleet.server.port or 5432}"
    user = fleet.server.username or "postgres"
    (project.root / "fleet.yaml").write_text(
        "databases:\n" + "".join(f"  - postgresql://{user}@{host}/{d}\n"
                                 for d in fleet.databases[:3])
        + f"  - postgresql://{user}@{host}/{fleet.tenants_db}_missing\n")
    one = with_database(fleet.server, fleet.databases[1])
    assert schemactl(project, "apply", url=one).returncode == 0
    with psycopg.connect(fleet.url(fleet.databases[1]), autocommit=True) as conn:
        conn.execute("ALTER TABLE users ADD COLUMN nickname text")  # drift

    listed = run(project, "fleet", "list", "--json")
    status = run(project, "status", "--fleet", "--json")

    assert listed.returncode == 1  # one target cannot be reached
    listing = checked_document(listed.stdout, listed.returncode, "fleet list")
    assert listing["head"] == HEAD and listing["failed"] == 1
    targets = listing["targets"]
    assert [(t["target"].split("/")[-1], t["revision"], t["at_head"]) for t in targets] == [
        (fleet.databases[0], None, False), (fleet.databases[1], HEAD, True),
        (fleet.databases[2], None, False), (f"{fleet.tenants_db}_missing", None, False)]
    assert 'does not exist' in targets[3]["error"]
    assert status.returncode == 1
    report = checked_document(status.stdout, status.returncode, "status", "status --fleet")
    assert report["counts"] == {"failed": 1, "drift": 1, "pending": 2}
    assert [(t["target"].split("/")[-1], t["state"]) for t in report["targets"]] == [
        (f"{fleet.tenants_db}_missing", "failed"), (fleet.databases[1], "drift"),
        (fleet.databases[0], "pending"), (fleet.databases[2], "pending")]
    assert report["targets"][1]["drift"] == ["table public.users: differs"]
    assert report["targets"][2]["pending"] == list(ALL)
    table = run(project, "status", "--fleet")
    assert table.returncode == 1
    assert table.stdout.splitlines()[0].split() == [
        "TARGET", "STATE", "REVISION", "PENDING", "DRIFT", "ERROR"]
    assert table.stdout.splitlines()[2].split()[:5] == [
        name_of(fleet, fleet.databases[1]), "drift", HEAD, "0", "1"]
