"""How long applying one revision to a fleet takes: schemactl apply --fleet vs a shell loop.

Side by side in one run on the same server, on N tenant schemas (default 200) in one
database, every target starting at revision 0003 of the example history and going to 0004:
  - `schemactl apply --fleet --concurrency K` for K = 1, 4 and 8;
  - a shell loop of plain `alembic upgrade head`, one tenant after the other (search_path
    through PGOPTIONS), which is what teams write without a fleet tool.
Each command is timed from the shell (Python's start-up included, as a user sees it), and
after each one every target is checked to be at 0004; between runs, the fleet is taken back
to 0003 (not timed).

Usage: python bench/fleet_bench.py [--targets 200] [--database-url URL]
(default server: TEST_DATABASE_URL, DATABASE_URL, else the embedded PostgreSQL)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

from schemactl.db import embedded  # noqa: E402
from schemactl.db.throwaway import throwaway_database  # noqa: E402
from schemactl.db.urls import libpq_dsn, normalize  # noqa: E402

FROM, TO = "0003", "0004"


def project_in(root: Path, url: URL, targets: int) -> Path:
    """A copy of the example with a fleet.yaml of the tenant schemas in url's database."""
    for name in ("schema", "migrations"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "alembic.ini", root)
    (root / "fleet.yaml").write_text(
        f"schemas:\n  - {{database: '{url.render_as_string(hide_password=True)}', "
        f"match: 'tenant\\_%'}}\n")
    return root


def schemactl(root: Path, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "schemactl"), "-C", str(root), *args],
                          capture_output=True, text=True, env=_env())
    took = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"schemactl {' '.join(args)} failed (exit {done.returncode}):\n"
                 f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return took


def alembic_loop(root: Path, url: URL, schemas: list[str]) -> float:
    """The shell loop teams write: one `alembic upgrade head` per tenant."""
    script = "set -e\nfor s in " + " ".join(schemas) + "; do\n" \
        f"  PGOPTIONS=\"-c search_path=$s\" {BIN / 'alembic'} -c alembic.ini upgrade head\n" \
        "done\n"
    env = {**_env(), "DATABASE_URL": url.render_as_string(hide_password=False)}
    started = time.perf_counter()
    subprocess.run(["bash", "-c", script], check=True, capture_output=True, cwd=root, env=env)
    return time.perf_counter() - started


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",
                                                             "SHADOW_DATABASE_URL")}


def revisions(url: URL, schemas: list[str]) -> set[str]:
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        return {row[0] for s in schemas for row in conn.execute(
            sql.SQL("SELECT version_num FROM {}.alembic_version").format(sql.Identifier(s)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL")
                        or os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    server = normalize(args.database_url) if args.database_url else \
        embedded.server_url(REPO / ".schemactl" / "pgdata")
    schemas = [f"tenant_{i:03d}" for i in range(args.targets)]
    with throwaway_database(server, prefix="schemactl_fleet_bench") as url, \
            tempfile.TemporaryDirectory() as tmp:
        with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
            for s in schemas:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(s)))
        root = project_in(Path(tmp) / "project", url, args.targets)
        setup = schemactl(root, "apply", "--fleet", "--to", FROM, "--concurrency", "8")
        print(f"{args.targets} tenant schemas in one database on {server.host}:"
              f"{server.port or 5432}; set up to {FROM} in {setup:.1f}s (concurrency 8)")
        print(f"\nApply one revision ({FROM} -> {TO}) to every target:")
        print(f"  {'method':<44} {'seconds':>8} {'targets/s':>10}")
        rows = []
        for k in (1, 4, 8):
            took = schemactl(root, "apply", "--fleet", "--concurrency", str(k))
            assert revisions(url, schemas) == {TO}, "a target did not reach head"
            rows.append((f"schemactl apply --fleet --concurrency {k}", took))
            schemactl(root, "downgrade", FROM, "--fleet", "--yes", "--concurrency", "8")
        took = alembic_loop(root, url, schemas)
        assert revisions(url, schemas) == {TO}, "a target did not reach head"
        rows.append(("shell loop of `alembic upgrade head`", took))
        for method, took in rows:
            print(f"  {method:<44} {took:>8.1f} {args.targets / took:>10.1f}")
        print(f"\n(each timed from the shell; CPU cores on this machine: {os.cpu_count()})")


if __name__ == "__main__":
    main()
