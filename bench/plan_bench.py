"""How long `schemactl plan` takes and how many SQL queries it sends.

Measures, side by side in one run on the same server:
  - plan of the example blog from an empty history, and again with its history at head;
  - plan of a generated 200-table schema, from empty and at head;
  - plain Alembic autogenerate (compare_metadata against the shadow) for the same 200 tables,
    as the yardstick: the ratio says what our extra comparators and the desired database cost.

Usage: python bench/plan_bench.py [--tables 200] [--database-url URL]
(default server: TEST_DATABASE_URL, DATABASE_URL, else the embedded PostgreSQL)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from helpers import make_project, settings_for  # noqa: E402

from schemactl.compile import compile_spec  # noqa: E402
from schemactl.db import embedded  # noqa: E402
from schemactl.db.throwaway import throwaway_database  # noqa: E402
from schemactl.db.urls import normalize  # noqa: E402
from schemactl.diff.shadow import connect, create_schema  # noqa: E402
from schemactl.pipeline import load_spec, make_plan, write_revision  # noqa: E402

QUERIES = 0


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_: object) -> None:
    global QUERIES
    QUERIES += 1


def wide_schema(tables: int) -> str:
    """tables tables in a chain of foreign keys, each with a check, an index and an enum."""
    lines = ["enums:", "  state: [new, active, closed]", "tables:"]
    for i in range(tables):
        lines += [
            f"  t{i:03d}:",
            "    columns:",
            "      id: {type: bigint, identity: true, primary_key: true}",
            "      name: {type: varchar(100), comment: a name}",
            "      state: {type: state, default: new}",
            "      amount: {type: 'numeric(12,2)', default: 0}",
            "      created_at: {type: timestamptz, default_sql: now()}",
        ]
        if i:
            lines.append(f"      parent_id: {{type: bigint, nullable: true, references: t{i - 1:03d}.id}}")
        lines += ["    indexes:", "      - {columns: [created_at], where: \"state = 'active'\"}",
                  "    checks:", f"      t{i:03d}_amount_ok: amount >= 0"]
    return "\n".join(lines) + "\n"


def measure(label: str, fn: Callable[[], object]) -> float:
    global QUERIES
    QUERIES = 0
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"{label:<48} {seconds:7.2f} s {QUERIES:6d} queries")
    return seconds


def bench_project(name: str, schema_yaml: str, server: URL, work: Path) -> tuple[float, float]:
    project = make_project(work / name, schema_yaml)
    settings = settings_for(server)
    holder: dict[str, object] = {}
    empty = measure(f"plan {name}, empty history",
                    lambda: holder.update(plan=make_plan(project, settings)))
    write_revision(project, holder["plan"], "all")  # type: ignore[arg-type]
    at_head = measure(f"plan {name}, history at head (no changes)",
                      lambda: make_plan(project, settings))
    return empty, at_head


def alembic_only(schema_yaml: str, server: URL, work: Path) -> float:
    project = make_project(work / "alembic_only", schema_yaml)
    spec = load_spec(project)
    metadata = compile_spec(spec)
    with throwaway_database(server, "bench") as url, connect(url) as conn:
        create_schema(conn, metadata, spec)

        def compare() -> None:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "include_schemas": True})
            compare_metadata(context, metadata)

        return measure("Alembic compare_metadata alone, same schema", compare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", type=int, default=200)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    configured = args.database_url or os.environ.get("TEST_DATABASE_URL") or os.environ.get(
        "DATABASE_URL")
    work = Path(tempfile.mkdtemp(prefix="schemactl-bench-"))
    try:
        server = normalize(configured) if configured else embedded.server_url(work / "pgdata")
        print(f"server: PostgreSQL at {server.render_as_string(hide_password=True)}")
        blog = (REPO / "schema" / "blog.yaml").read_text()
        bench_project("blog", blog, server, work)
        wide = wide_schema(args.tables)
        empty, at_head = bench_project(f"{args.tables} tables", wide, server, work)
        yardstick = alembic_only(wide, server, work)
        print(f"ratio plan-at-head / Alembic compare alone ({args.tables} tables): "
              f"{at_head / yardstick:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
