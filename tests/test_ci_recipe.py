"""The documented CI job (docs/ci.md) and the pre-commit hooks (.pre-commit-hooks.yaml) work as
written: their schemactl commands are run as GitHub Actions and pre-commit would run them."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import URL

from .helpers import REPO

UNPLANNED = "      nickname: {type: text, nullable: true}\n"


def example_project(root: Path) -> Path:
    """A copy of this repository's example project (schema, migrations, alembic.ini)."""
    shutil.copytree(REPO / "schema", root / "schema")
    shutil.copytree(REPO / "migrations", root / "migrations",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "alembic.ini", root / "alembic.ini")
    return root


def add_unplanned_column(root: Path) -> None:
    path = root / "schema" / "blog.yaml"
    text = path.read_text()
    anchor = "      id:            {type: bigint, identity: true, primary_key: true}\n"
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + UNPLANNED, 1))


def run(command: str, root: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    args = shlex.split(command)
    assert args[0] == "schemactl", command
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "schemactl", *args[1:]], cwd=root,
                          env={**environment, **env}, capture_output=True, text=True,
                          timeout=300)


def ci_job() -> dict[str, Any]:
    text = (REPO / "docs" / "ci.md").read_text()
    workflow = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)[0])
    return dict(workflow["jobs"]["schemactl"])


def test_the_documented_github_actions_job_passes_then_catches_an_unplanned_change(
        tmp_path: Path, server_url: URL) -> None:
    job = ci_job()
    assert job["services"]["postgres"]["image"].startswith("postgres:")
    # The service container's URL stands for our test server.
    env = {name: server_url.render_as_string(hide_password=False)
           for name in job["env"] if name.endswith("DATABASE_URL")}
    steps = [s["run"] for s in job["steps"] if str(s.get("run", "")).startswith("schemactl")]
    assert steps == ["schemactl check", "schemactl plan --check"]
    root = example_project(tmp_path)
    for step in steps:
        done = run(step, root, env)
        assert done.returncode == 0, (step, done.stdout, done.stderr)

    add_unplanned_column(root)
    failed = [run(step, root, env) for step in steps]
    assert [f.returncode for f in failed] == [3, 3]
    assert "schemactl plan" in failed[0].stderr


def hooks() -> list[dict[str, Any]]:
    return list(yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text()))


def test_the_hook_definitions_are_complete() -> None:
    found = hooks()
    assert [h["id"] for h in found] == ["schemactl-validate", "schemactl-plan-check",
                                        "schemactl-check"]
    for hook in found:
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert re.search(hook["files"], "schema/blog.yaml"), hook["id"]
        assert not re.search(hook["files"], "README.md"), hook["id"]


@pytest.mark.parametrize("hook", hooks(), ids=lambda h: h["id"])
def test_each_hook_passes_a_good_project_and_fails_a_bad_one(hook: dict[str, Any], tmp_path: Path,
                                                             server_url: URL) -> None:
    env = {"SHADOW_DATABASE_URL": server_url.render_as_string(hide_password=False)}
    root = example_project(tmp_path)
    done = run(hook["entry"], root, env)  # pass_filenames: false -> just the entry
    assert done.returncode == 0, (done.stdout, done.stderr)
    if hook["id"] == "schemactl-validate":
        (root / "schema" / "blog.yaml").write_text("tables: {users: {columns: {id: nosuchtype}}}\n")
        bad = run(hook["entry"], root, env)
        assert bad.returncode == 1 and "blog.yaml:1:" in bad.stderr
    else:
        add_unplanned_column(root)
        assert run(hook["entry"], root, env).returncode == 3
