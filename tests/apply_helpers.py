"""Hand-written revisions for the apply/status/checksum tests.

These tests are about running revisions safely, not about planning them, so they write
revision files of the template's shape directly (plus an offline SQL file, as plan does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy.engine import URL

from schemactl.apply import checksums
from schemactl.cli import main
from schemactl.project import Project

REPO = Path(__file__).resolve().parent.parent

_TEMPLATE = '''"""{message}

Revision ID: {rev}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None

schemactl_hazards: list[dict[str, str]] = {hazards!r}


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def new_project(root: Path) -> Project:
    """An empty project with this repository's alembic.ini, env.py and template."""
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "migrations" / "sql").mkdir()
    (root / "schema").mkdir()
    shutil.copy(REPO / "alembic.ini", root)
    for name in ("env.py", "script.py.mako"):
        shutil.copy(REPO / "migrations" / name, root / "migrations")
    return Project(root)


def _body(statements: list[str]) -> str:
    if not statements:
        return "    pass"
    return "\n".join(f"    op.execute({s!r})" for s in statements)


def write_revision(project: Project, rev: str, slug: str, upgrade: list[str],
                   downgrade: list[str] | None = None, down: str | None = None,
                   hazards: list[dict[str, str]] | None = None, record: bool = True) -> Path:
    """Write versions/<rev>_<slug>.py and sql/<rev>_<slug>.sql; re-record the sum like plan."""
    stem = f"{rev}_{slug}"
    path = project.versions_dir / f"{stem}.py"
    path.write_text(_TEMPLATE.format(
        message=slug.replace("_", " "), rev=rev, down=down, hazards=hazards or [],
        upgrade=_body(upgrade), downgrade=_body(downgrade or []),
    ))
    (project.sql_dir / f"{stem}.sql").write_text(
        "BEGIN;\n" + "".join(f"{s};\n" for s in upgrade) + "COMMIT;\n")
    if record:
        checksums.record(project)
    return path


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def schemactl(project: Project, *args: str, url: URL | None = None,
              separate_process: bool = False) -> Run:
    """Run the CLI as a user (or CI) would: in-process by default (starting Python costs a
    second), or in a separate process when what matters is the process (its whole output)."""
    argv = ["-C", str(project.root), *args,
            *(["--database-url", url.render_as_string(hide_password=False)] if url else [])]
    if separate_process:
        done = subprocess.run([sys.executable, "-m", "schemactl", *argv], capture_output=True,
                              text=True, timeout=120, env=_env())
        return Run(done.returncode, done.stdout, done.stderr)
    result = CliRunner().invoke(main, argv, env={"DATABASE_URL": None,
                                                 "SHADOW_DATABASE_URL": None})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # a bug: let pytest show its traceback
    return Run(result.exit_code, result.stdout, result.stderr)


def start_schemactl(project: Project, *args: str, url: URL) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "schemactl", "-C", str(project.root), *args,
         "--database-url", url.render_as_string(hide_password=False)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
    )


def _env() -> dict[str, str]:
    # A DATABASE_URL of the developer's shell must not leak into the test's target.
    return {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "SHADOW_DATABASE_URL")}


def run_on_terminal(project: Project, *args: str, url: URL | None, answer: str,
                    prompt: str, timeout: float = 60) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal; type `answer` when `prompt` appears (url=None:
    no --database-url, e.g. for --fleet)."""
    argv = [sys.executable, "-m", "schemactl", "-C", str(project.root), *args,
            *(["--database-url", url.render_as_string(hide_password=False)] if url else [])]
    return on_a_terminal(argv, _env(), timeout, answer=answer, prompt=prompt)


def on_a_terminal(argv: list[str], env: dict[str, str], timeout: float,
                  answer: str | None = None, prompt: str | None = None) -> tuple[int, str]:
    """Run argv with stdin, stdout and stderr on a pseudo-terminal, typing `answer` when
    `prompt` appears; its exit code and everything it showed."""
    import pty
    import select

    controller, terminal = pty.openpty()
    proc = subprocess.Popen(argv, stdin=terminal, stdout=terminal, stderr=terminal, env=env,
                            close_fds=True)
    os.close(terminal)
    output, answered = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if prompt and answer is not None and not answered and prompt.encode() in output:
                os.write(controller, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        return proc.wait(timeout=10), output.decode(errors="replace")
    finally:
        os.close(controller)
        if proc.poll() is None:
            proc.kill()
