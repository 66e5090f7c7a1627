"""How long schemactl's commands take on 100 / 1,000 (/ 5,000) tables, next to pg_dump -s.

For each size, one project is planned and applied to a target database, then every
operation runs in turn, repeated --rounds times and interleaved (a, b, c, a, b, c, ...) so
that the server's load falls on all of them alike. Each figure is the median wall time of
the whole process, as a user sees it, and its ratio to `pg_dump -s` of the same database:

  plan (cold cache)      plan --check --no-cache: replays the whole history into a shadow and
                         builds the desired database, using nothing kept (what every plan of
                         a fresh checkout paid before the sum file's `planned` marks)
  plan (fresh checkout)  plan --check with the project's .schemactl/cache removed (as in a
                         fresh CI clone): "No changes." from the sum file's mark of the YAML
                         head was planned from, no database (diff/noop_cache.py)
  plan (warm cache)      plan --check again (a local marker, or the same mark)
  plan, one change       plan --check with one column added to the YAML (not written)
  plan --against         plan --check against the target database at head
  check                  schemactl check
  status                 schemactl status (drift)
  inspect                schemactl inspect -o <tmp> --force
  apply, one statement   apply of a one-column revision (downgraded again untimed)
  alembic compare        plain Alembic compare_metadata in a fresh process, as a yardstick
  migra                  migra comparing the target with itself, as an anchor only: from its
                         own virtual environment, bench/.venv-migra (gitignored; never a
                         dependency of schemactl): python3 -m venv bench/.venv-migra &&
                         bench/.venv-migra/bin/pip install migra psycopg2-binary 'sqlalchemy<2'
                         (the row is left out, with a message, when it is absent)
  --help, validate       start-up: `schemactl --help` and `schemactl validate`

Usage: python bench/plan_bench.py [--tables 100,1000] [--rounds 3] [--database-url URL]
                                  [--only status,check]
(--only: just those operations, by label, next to pg_dump -s, which is always run)
(5,000 tables: --tables 100,1000,5000, which takes a long while; default server:
TEST_DATABASE_URL, DATABASE_URL, else fails)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import URL

REPO = Path(__file__).resolve().parent.parent
MIGRA = REPO / "bench" / ".venv-migra" / "bin" / "migra"
sys.path.insert(0, str(REPO / "tests"))

from helpers import make_project  # noqa: E402

from schemactl.db.throwaway import create_database, drop_database  # noqa: E402
from schemactl.db.urls import libpq_dsn, normalize  # noqa: E402
from schemactl.project import Project  # noqa: E402

COMPARE = """
import sys
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from schemactl.compile import compile_spec
from schemactl.spec.load import load
from schemactl.spec.validate import validate
from pathlib import Path
metadata = compile_spec(validate(load(Path(sys.argv[2]) / "schema", base=Path(sys.argv[2]))))
with create_engine(sys.argv[1]).connect() as conn:
    context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                     "include_schemas": True})
    compare_metadata(context, metadata)
"""


def wide_schema(tables: int) -> str:
    """tables tables in a chain of foreign keys, each with a check, two indexes and an enum."""
    lines = ["enums:", "  state: [new, active, closed]", "tables:"]
    for i in range(tables):
        lines += [
            f"  t{i:04d}:",
            "    columns:",
            "      id: {type: bigint, identity: true, primary_key: true}",
            "      name: {type: varchar(100), comment: a name}",
            "      state: {type: state, default: new}",
            "      amount: {type: 'numeric(12,2)', default: 0}",
            "      created_at: {type: timestamptz, default_sql: now()}",
        ]
        if i:
            lines.append(f"      parent_id: {{type: bigint, nullable: true, "
                         f"references: t{i - 1:04d}.id}}")
        lines += ["    indexes:", "      - {columns: [created_at], where: \"state = 'active'\"}",
                  "      - {columns: [name]}",
                  "    checks:", f"      t{i:04d}_amount_ok: amount >= 0"]
    return "\n".join(lines) + "\n"


class Bench:
    def __init__(self, project: Project, server: URL, target: URL) -> None:
        self.project, self.server, self.target = project, server, target
        self.env = {**os.environ, "SHADOW_DATABASE_URL": server.render_as_string(False),
                    "DATABASE_URL": target.render_as_string(False)}

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> None:
        done = subprocess.run([sys.executable, "-m", "schemactl", "-C", str(self.project.root),
                               *args], env=self.env, capture_output=True, text=True)
        if done.returncode not in ok:
            raise SystemExit(f"schemactl {' '.join(args)} exited {done.returncode}:\n"
                             f"{done.stdout}\n{done.stderr}")

    def pg_dump(self) -> None:
        subprocess.run(["pg_dump", "-s", "-d", libpq_dsn(self.target)], check=True,
                       capture_output=True)

    def plan_cold(self) -> Callable[[], None]:
        return lambda: self.run("plan", "--check", "--no-cache")

    def plan_fresh(self) -> Callable[[], None]:
        # What a clone does not have; the shadows kept on the server stay (for the other rows).
        shutil.rmtree(self.project.root / ".schemactl" / "cache", ignore_errors=True)
        return lambda: self.run("plan", "--check")

    def plan_one_change(self) -> Callable[[], None]:
        yaml = self.project.schema_dir / "app.yaml"
        original = yaml.read_text()
        yaml.write_text(original.replace("  t0000:\n    columns:\n",
                                         "  t0000:\n    columns:\n      extra: {type: text, "
                                         "nullable: true}\n", 1))

        def plan() -> None:
            try:
                self.run("plan", "--check", ok=(3,))
            finally:
                yaml.write_text(original)
        return plan

    def apply_one(self) -> Callable[[], None]:
        self.plan_one_change_written()
        return lambda: self.run("apply", "--yes")

    def plan_one_change_written(self) -> None:
        yaml = self.project.schema_dir / "app.yaml"
        self.original = yaml.read_text()
        yaml.write_text(self.original.replace("  t0000:\n    columns:\n",
                                              "  t0000:\n    columns:\n      extra: {type: "
                                              "text, nullable: true}\n", 1))
        before = set(self.project.versions_dir.glob("*.py"))
        self.first = next(iter(before)).name.split("_", 1)[0]
        self.run("plan", "-m", "one column")
        self.added = [p.stem for p in set(self.project.versions_dir.glob("*.py")) - before]

    def undo_one(self) -> None:
        self.run("downgrade", self.first, "--yes")
        for stem in self.added:
            (self.project.versions_dir / f"{stem}.py").unlink()
            (self.project.sql_dir / f"{stem}.sql").unlink(missing_ok=True)
        (self.project.schema_dir / "app.yaml").write_text(self.original)
        self.run("hash")

    def migra(self) -> None:
        # migra (SQLAlchemy 1.4, psycopg2 in its own environment) names its driver.
        dsn = self.target.set(drivername="postgresql+psycopg2").render_as_string(False)
        done = subprocess.run([str(MIGRA), "--unsafe", dsn, dsn], capture_output=True, text=True)
        if done.returncode not in (0, 2):
            raise SystemExit(f"migra exited {done.returncode}:\n{done.stderr}")

    def compare(self) -> None:
        subprocess.run([sys.executable, "-c", COMPARE, self.target.render_as_string(False),
                        str(self.project.root)], check=True, env=self.env)


def bench_size(tables: int, server: URL, work: Path, rounds: int,
               only: set[str] | None = None) -> dict[str, float]:
    project = make_project(work / f"t{tables}", wide_schema(tables))
    target = create_database(server, "schemactl_bench")
    bench = Bench(project, server, target)
    times: dict[str, list[float]] = {}
    try:
        bench.run("plan", "-m", "all")
        bench.run("apply", "--yes")
        inspected = work / f"inspected{tables}"
        operations: dict[str, Callable[[], Callable[[], None] | None]] = {
            "pg_dump -s": lambda: bench.pg_dump,
            "plan (cold cache)": bench.plan_cold,
            "plan (fresh checkout)": bench.plan_fresh,
            "plan (warm cache)": lambda: lambda: bench.run("plan", "--check"),
            "plan, one change": bench.plan_one_change,
            "plan --against": lambda: lambda: bench.run(
                "plan", "--check", "--against", target.render_as_string(False)),
            "check": lambda: lambda: bench.run("check"),
            "status": lambda: lambda: bench.run("status", ok=(0, 3)),
            "inspect": lambda: lambda: bench.run("inspect", "-o", str(inspected), "--force"),
            "alembic compare": lambda: bench.compare,
            **({"migra": lambda: bench.migra} if MIGRA.exists() else {}),
            "schemactl --help": lambda: lambda: bench.run("--help"),
            "validate": lambda: lambda: bench.run("validate"),
            "apply, one statement": bench.apply_one,
        }
        if only is not None:
            if unknown := only - set(operations):
                raise SystemExit(f"--only: no operation {', '.join(sorted(unknown))} "
                                 f"(there are: {', '.join(operations)})")
            operations = {label: prepare for label, prepare in operations.items()
                          if label in only or label == "pg_dump -s"}
        if "plan, one change" in operations:
            bench.plan_one_change()()  # untimed: keeps the shadow of the history, as a plan does
        for _ in range(rounds):
            for label, prepare in operations.items():
                action = prepare()
                assert action is not None
                start = time.perf_counter()
                action()
                times.setdefault(label, []).append(time.perf_counter() - start)
                if label == "apply, one statement":
                    bench.undo_one()
    finally:
        bench.run("cache", "clear")
        drop_database(target)
    return {label: statistics.median(values) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", default="100,1000",
                        help="comma-separated sizes (5000 takes a long while)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url")
    parser.add_argument("--only", help="comma-separated operations, e.g. status,check "
                                       "(pg_dump -s is always run: the figures are ratios to it)")
    args = parser.parse_args()
    configured = args.database_url or os.environ.get("TEST_DATABASE_URL") or os.environ.get(
        "DATABASE_URL")
    if not configured:
        raise SystemExit("give --database-url (a server where databases can be created)")
    server = normalize(configured)
    sizes = [int(size) for size in args.tables.split(",")]
    only = {label.strip() for label in args.only.split(",")} if args.only else None
    if not MIGRA.exists():
        print(f"(migra left out: no {MIGRA.relative_to(REPO)}; see the module docstring)")
    work = Path(tempfile.mkdtemp(prefix="schemactl-bench-"))
    results = {}
    try:
        for size in sizes:
            results[size] = bench_size(size, server, work, args.rounds, only)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    header = f"{'operation':<24}" + "".join(f"{f'{s} tables':>22}" for s in sizes)
    print(header)
    for label in results[sizes[0]]:
        row = f"{label:<24}"
        for size in sizes:
            seconds, base = results[size][label], results[size]["pg_dump -s"]
            row += f"{seconds:>10.2f} s {seconds / base:>6.1f}x  "
        print(row)
    print("(median wall time of the whole process; ratio to pg_dump -s of the same database)")


if __name__ == "__main__":
    main()
