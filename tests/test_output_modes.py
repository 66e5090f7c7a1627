"""Colour on a terminal only (never with NO_COLOR or --no-color), -q and -v on every command."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import URL

from schemactl.cli import main

from .helpers import make_project

SCHEMA = """
tables:
  users:
    columns:
      id: {type: bigint, identity: true, primary_key: true}
"""
ANSI = "\x1b["


@pytest.fixture
def root(tmp_path: Path) -> Path:
    make_project(tmp_path, SCHEMA)
    return tmp_path


def plan(root: Path, server: URL, *args: str, tty: bool = False, **env: str) -> Result:
    environment = {"SHADOW_DATABASE_URL": server.render_as_string(hide_password=False), **env}
    # color=True is how click's runner stands in for a terminal.
    return CliRunner().invoke(main, ["-C", str(root), *args], env=environment, color=tty)


def test_colour_on_a_terminal(root: Path, server_url: URL) -> None:
    result = plan(root, server_url, "plan", "--check", tty=True)
    assert result.exit_code == 3
    assert f"{ANSI}32m+ table users" in result.stdout


@pytest.mark.parametrize(("args", "env"), [
    (("plan", "--check", "--no-color"), {}),
    (("--no-color", "plan", "--check"), {}),
    (("plan", "--check"), {"NO_COLOR": "1"}),
])
def test_no_colour_when_asked(root: Path, server_url: URL, args: tuple[str, ...],
                              env: dict[str, str]) -> None:
    result = plan(root, server_url, *args, tty=True, **env)
    assert result.exit_code == 3 and "+ table users" in result.stdout
    assert ANSI not in result.output


def test_no_colour_when_piped(root: Path, server_url: URL) -> None:
    result = plan(root, server_url, "plan", "--check")
    assert "+ table users" in result.stdout and ANSI not in result.output


@pytest.mark.parametrize("args", [("-q", "plan", "--check"), ("plan", "--check", "-q"),
                                  ("plan", "--check", "--quiet")])
def test_quiet_keeps_only_warnings_and_errors(root: Path, server_url: URL,
                                              args: tuple[str, ...]) -> None:
    result = plan(root, server_url, *args)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "Changes pending" in result.stderr


def test_verbose_adds_detail_on_stderr(root: Path, server_url: URL) -> None:
    quiet = plan(root, server_url, "plan", "--check")
    loud = plan(root, server_url, "plan", "--check", "-v")
    assert "shadow server:" not in quiet.output
    assert "shadow server: postgresql://" in loud.stderr
    assert loud.stdout == quiet.stdout


def test_every_command_takes_q_v_and_no_color() -> None:
    ctx = click.Context(main)
    for name in main.list_commands(ctx):
        command = main.get_command(ctx, name)
        assert command is not None, name
        opts = {o for p in command.params for o in p.opts}
        assert {"-q", "-v", "--no-color"} <= opts, name
