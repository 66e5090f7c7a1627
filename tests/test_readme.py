"""The README tells the truth: its YAML validates and it lists exactly the commands that exist."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
from click.testing import CliRunner
from sqlalchemy.engine import URL

from schemactl.cli import main
from schemactl.db.throwaway import throwaway_database
from schemactl.db.urls import libpq_dsn
from schemactl.fleet import config
from schemactl.spec.load import load_text
from schemactl.spec.validate import validate

from .helpers import REPO

README = (REPO / "README.md").read_text()


def test_readme_yaml_example_is_valid() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.DOTALL)
    assert blocks
    for block in blocks:
        if block.startswith("# fleet.yaml"):
            fleet = config.parse(block, Path("fleet.yaml"), {}).get(None)
            assert fleet.databases and fleet.schemas
            continue
        spec = validate([load_text(block, "README.md")])
        assert spec.tables


def test_readme_lists_exactly_the_commands_that_exist() -> None:
    listed = set(re.findall(r"^\| `schemactl ([a-z-]+)", README, re.MULTILINE))
    result = CliRunner().invoke(main, ["--help"])
    section = result.output.split("Commands:")[1]
    existing = set(re.findall(r"^  ([a-z-]+)\s", section, re.MULTILINE))
    assert listed == existing


def test_a_day_with_schemactl_runs_as_written(tmp_path: Path, server_url: URL) -> None:
    """The walkthrough block, run by bash -e in a git copy of the example project, against a
    development database; at the end both branches' tables are in it, with no drift."""
    block = README.split("### A day with schemactl", 1)[1]
    script = re.findall(r"```sh\n(.*?)```", block, re.DOTALL)[0]
    root = tmp_path / "project"
    shutil.copytree(REPO / "schema", root / "schema")
    shutil.copytree(REPO / "migrations", root / "migrations",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("alembic.ini", ".gitattributes"):
        shutil.copy(REPO / name, root / name)
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.com",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.com",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "SHADOW_DATABASE_URL": server_url.render_as_string(hide_password=False)}
    subprocess.run("git init -q -b main && git add -A && git commit -q -m start", shell=True,
                   cwd=root, env=env, check=True)
    with throwaway_database(server_url, "schemactl_test") as dev:
        env["DATABASE_URL"] = dev.render_as_string(hide_password=False)
        done = subprocess.run(["bash", "-e", "-c", script], cwd=root, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "the migrations have 2 heads" in done.stderr
        assert "moved" in done.stdout and "Drift: none" in done.stdout
        with psycopg.connect(libpq_dsn(dev)) as conn:
            tables = {r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"tags", "comments", "users", "posts"} <= tables
    log = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True,
                         text=True, check=True).stdout
    assert log == ""  # everything the walkthrough made is committed
