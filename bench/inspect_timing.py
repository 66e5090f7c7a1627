"""Time `inspect` and `plan` on a big real-world schema (MusicBrainz: 516 tables, 9 schemas).

    python bench/inspect_timing.py [--server URL] [SQL_FILE ...]

For each file: load it into a throwaway database; inspect it (first run and best of 3, with
the number of queries sent); render YAML and validate it back (must equal). Then the plan
numbers: the YAML of such schemas uses objects the language cannot create (serial sequences,
functions called by checks), so plan is timed on the supported part: that YAML without
nextval() defaults and without checks / defaults / index expressions that call a function the
inspection reported, created in a fresh database; `plan --against` that database (must be
"No changes") and the baseline plan (empty history -> create everything) are timed.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psycopg

from schemactl.compile import compile_spec
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn, normalize
from schemactl.diff.shadow import connect, create_schema
from schemactl.inspect import catalog
from schemactl.inspect.catalog import inspect_database
from schemactl.inspect.compare import differences
from schemactl.pipeline import make_plan
from schemactl.project import Project
from schemactl.render.yaml_spec import render
from schemactl.settings import Settings
from schemactl.spec.types import SchemaSpec, TableSpec
from schemactl.spec.validate import load_schema

REPO = Path(__file__).resolve().parent.parent
DEFAULT = [REPO.parent / "shared" / "corpus" / "schemas" / "musicbrainz-schema.sql"]


def supported_part(spec: SchemaSpec, functions: set[str]) -> SchemaSpec:
    """The spec without what needs objects outside the language to be created."""
    pattern = re.compile(r"\b(" + "|".join(re.escape(f) for f in functions) + r")\s*\(") \
        if functions else None

    def ok(text: str | None) -> bool:
        return text is None or pattern is None or not pattern.search(text)

    def table(t: TableSpec) -> TableSpec:
        columns = tuple(
            replace(c, default_sql=None) if c.default_sql and (
                c.default_sql.startswith("nextval(") or not ok(c.default_sql)) else c
            for c in t.columns)
        return replace(
            t, columns=columns, checks=tuple(c for c in t.checks if ok(c.expression)),
            indexes=tuple(i for i in t.indexes if ok(i.where) and all(
                ok(e.expression) for e in i.elements)),
        )

    return replace(spec, tables=tuple(table(t) for t in spec.tables))


def project_with(spec: SchemaSpec, server: str) -> tuple[Project, Settings]:
    root = Path(tempfile.mkdtemp())
    for name in ("migrations/versions", "migrations/sql", "schema"):
        (root / name).mkdir(parents=True)
    shutil.copy(REPO / "alembic.ini", root / "alembic.ini")
    for name in ("env.py", "script.py.mako"):
        shutil.copy(REPO / "migrations" / name, root / "migrations" / name)
    for name, text in render(spec).items():
        (root / "schema" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "schema" / name).write_text(text)
    return Project(root), Settings(_env_file=None, shadow_database_url=server)  # type: ignore[call-arg, arg-type]


def measure(path: Path, server: str) -> None:
    server_url = normalize(server)
    with throwaway_database(server_url, "schemactl_bench") as url:
        with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
            conn.execute(path.read_text())
        started = time.perf_counter()
        before = catalog.QUERY_COUNT
        first = inspect_database(url)
        first_s = time.perf_counter() - started
        queries = catalog.QUERY_COUNT - before
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            inspect_database(url)
            runs.append(time.perf_counter() - started)
    spec = first.spec
    columns = sum(len(t.columns) for t in spec.tables)
    indexes = sum(len(t.indexes) for t in spec.tables)
    fks = sum(len(t.foreign_keys) for t in spec.tables)
    checks = sum(len(t.checks) for t in spec.tables)
    print(f"## {path.name}")
    print(f"inspect: first {first_s:.2f}s, best of 3 {min(runs):.2f}s, {queries} queries; "
          f"{len(spec.tables)} tables, {columns} columns, {indexes} indexes, {fks} FKs, "
          f"{checks} checks, {len(spec.enums)} enums, {len(first.schemas)} non-public schemas")
    print("left out (kind: count):", ", ".join(f"{k}: {n}" for k, n in
                                                first.unsupported_counts().items()))
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        files = render(spec)
        for name, text in files.items():
            (Path(out) / name).write_text(text)
        back = load_schema(Path(out), Path(out))
        print(f"render + validate: {time.perf_counter() - started:.2f}s, {len(files)} files, "
              f"{sum(t.count(chr(10)) for t in files.values())} lines; YAML equals the "
              f"inspection: {differences(spec, back) == []}")
    functions = {u.name.split(".")[-1].split("(")[0] for u in first.unsupported
                 if u.kind in ("function", "aggregate")}
    part = supported_part(spec, functions)
    project, settings = project_with(part, server)
    with throwaway_database(server_url, "schemactl_bench") as fresh:
        started = time.perf_counter()
        with connect(fresh) as conn:
            create_schema(conn, compile_spec(part), part)
        print(f"supported part created from YAML in {time.perf_counter() - started:.2f}s "
              f"(dropped {checks - sum(len(t.checks) for t in part.tables)} checks calling "
              f"functions, serial defaults)")
        started = time.perf_counter()
        plan = make_plan(project, settings, against=fresh)
        print(f"plan --against: {time.perf_counter() - started:.2f}s, "
              f"{'No changes' if not plan.has_changes else f'{len(plan.steps)} steps'}")
    started = time.perf_counter()
    plan = make_plan(project, settings)
    print(f"baseline plan (empty history -> all): {time.perf_counter() - started:.2f}s, "
          f"{len(plan.steps)} steps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT)
    args = parser.parse_args()
    for path in args.files:
        measure(path, args.server)


if __name__ == "__main__":
    main()
