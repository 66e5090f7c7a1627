"""What a person at a terminal sees during a long plan: progress while the throwaway
databases are built (never in a pipe), and Ctrl-C ends the run cleanly: exit 130, one line,
no throwaway database left behind."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import URL

from schemactl.db.urls import libpq_dsn

from .apply_helpers import on_a_terminal
from .helpers import make_project
from .test_scale import wide_schema

# Large enough that replaying its revision takes more than the progress line's one second.
TABLES = 250


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory, server_url: URL) -> Path:
    """A project whose history creates TABLES tables."""
    root = tmp_path_factory.mktemp("terminal")
    make_project(root, wide_schema(TABLES))
    done = subprocess.run(_command(root, "plan", "-m", "tables"), env=_env(server_url, "x"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def _command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "schemactl", "-C", str(root), *args]


def _env(server_url: URL, prefix: str) -> dict[str, str]:
    return {**os.environ, "SHADOW_DATABASE_URL": server_url.render_as_string(False),
            "SHADOW_DATABASE_PREFIX": prefix, "DATABASE_URL": ""}


def _databases(server_url: URL, prefix: str) -> list[str]:
    with psycopg.connect(libpq_dsn(server_url), autocommit=True) as conn:
        return [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            (prefix.replace("_", r"\_") + r"\_%",))]


def test_a_long_plan_shows_its_steps_on_a_terminal(planned: Path, server_url: URL) -> None:
    code, shown = on_a_terminal(_command(planned, "plan", "--check", "--no-cache"),
                                _env(server_url, f"t{secrets.token_hex(4)}"), timeout=600)
    assert code == 0, shown
    # The live line (redrawn in place), and each long step's time once it ends.
    assert "\r\x1b[K" in shown
    assert re.search(r"building the shadow database from the migrations(, [A-Za-z ]+)* \.\.\. 1 s",
                     shown), shown
    assert re.search(r"building the shadow database from the migrations: \d+\.\d s", shown)
    assert "No changes." in shown


def test_a_piped_plan_shows_no_progress(planned: Path, server_url: URL) -> None:
    done = subprocess.run(_command(planned, "plan", "--check", "--no-cache"),
                          env=_env(server_url, f"t{secrets.token_hex(4)}"),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("No changes.")
    assert done.stderr == ""


def test_ctrl_c_while_the_shadow_is_built_leaves_no_database(planned: Path,
                                                             server_url: URL) -> None:
    prefix = f"t{secrets.token_hex(4)}"
    proc = subprocess.Popen(_command(planned, "plan", "--check", "--no-cache"),
                            env=_env(server_url, prefix), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any("_shadow_" in name for name in _databases(server_url, prefix)):
            assert proc.poll() is None and time.monotonic() < deadline, "no shadow was built"
            time.sleep(0.05)
        time.sleep(0.5)  # well into the replay
        assert proc.poll() is None, "the plan ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out + err
    assert err.splitlines() == ["interrupted"], err
    assert out == ""
    assert _databases(server_url, prefix) == []
