"""Plan and apply at scale on a server with default lock settings (max_locks_per_transaction
64): no transaction's lock count may grow with the schema."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from alembic.operations import ops
from click.testing import CliRunner, Result
from sqlalchemy import Column, Integer
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db.urls import libpq_dsn
from schemactl.diff.groups import GROUP_TABLES, in_groups
from schemactl.diff.ops import CommitGroupOp

from .helpers import make_project


def wide_schema(tables: int) -> str:
    """tables tables in a chain of foreign keys, each with an enum column, a partial index
    and a check: about seven locks each when created."""
    lines = ["enums:", "  state: [new, active, closed]", "tables:"]
    for i in range(tables):
        lines += [f"  t{i:04d}:", "    columns:",
                  "      id: {type: bigint, identity: true, primary_key: true}",
                  "      state: {type: state, default: new}",
                  "      amount: {type: 'numeric(12,2)', default: 0}"]
        if i:
            lines.append(f"      parent_id: {{type: bigint, nullable: true, "
                         f"references: t{i - 1:04d}.id}}")
        lines += ["    indexes:", "      - {columns: [amount], where: \"state = 'active'\"}",
                  "    checks:", f"      t{i:04d}_amount_ok: amount >= 0"]
    return "\n".join(lines) + "\n"


def schemactl(project_dir: Path, server_url: URL, *args: str) -> Result:
    env = {"SHADOW_DATABASE_URL": server_url.render_as_string(hide_password=False),
           "DATABASE_URL": None}
    return CliRunner().invoke(main, ["-C", str(project_dir), *args], env=env)


def _create(name: str) -> ops.CreateTableOp:
    return ops.CreateTableOp(name, [Column("id", Integer)])


def test_a_small_revision_stays_one_transaction() -> None:
    upgrade = ops.UpgradeOps([_create(f"t{i}") for i in range(GROUP_TABLES)])
    assert in_groups(upgrade) is upgrade


def test_a_large_revision_commits_after_every_group_of_tables() -> None:
    creates = [_create(f"t{i}") for i in range(2 * GROUP_TABLES + 1)]
    # Two ops on one table belong to the same group: the index follows its table.
    index = ops.CreateIndexOp("t0_id_idx", "t0", ["id"])
    grouped = in_groups(ops.UpgradeOps([creates[0], index, *creates[1:]]))
    commits = [i for i, op in enumerate(grouped.ops) if isinstance(op, CommitGroupOp)]
    assert commits == [GROUP_TABLES + 1, 2 * GROUP_TABLES + 2]
    assert [op for op in grouped.ops if not isinstance(op, CommitGroupOp)] == [
        creates[0], index, *creates[1:]]


@pytest.mark.slow
def test_a_thousand_tables_plan_apply_and_plan_again_to_no_changes(
        tmp_path: Path, server_url: URL, db_url: URL) -> None:
    make_project(tmp_path, wide_schema(1000))
    with psycopg.connect(libpq_dsn(server_url)) as conn:
        locks = conn.execute("SHOW max_locks_per_transaction").fetchone()
    assert locks == ("64",), "this test is about a server with the default lock table"

    planned = schemactl(tmp_path, server_url, "plan", "-m", "a thousand tables")
    assert planned.exit_code == 0, planned.output
    assert "+ table t0999: 4 columns" in planned.output
    versions = tmp_path / "migrations" / "versions"
    revision = next(versions.glob("*_a_thousand_tables.py")).read_text()
    assert revision.count("op.commit_group()") >= 1000 // GROUP_TABLES - 1

    applied = schemactl(tmp_path, server_url, "apply", "--yes", "--database-url",
                        db_url.render_as_string(hide_password=False))
    assert applied.exit_code == 0, applied.output
    with psycopg.connect(libpq_dsn(db_url)) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                              "AND tablename LIKE 't%'").fetchone()
        checks = conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'c' "
                              "AND conname LIKE '%amount_ok'").fetchone()
    assert tables == (1000,) and checks == (1000,)

    again = schemactl(tmp_path, server_url, "plan")
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "No changes. The schema matches the migrations."
