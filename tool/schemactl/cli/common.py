"""What every command shares: the project, settings, output helpers and error handling."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg
import sqlalchemy.exc

from schemactl import __version__
from schemactl.cli import output
from schemactl.db.errors import pg_message
from schemactl.db.urls import redact
from schemactl.errors import EXIT_ERROR, SchemactlError, SpecError
from schemactl.project import Project, find_project
from schemactl.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    project_dir: Path | None

    def project(self) -> Project:
        if self.project_dir is not None:
            return Project(self.project_dir.resolve())
        return find_project()

    def settings(self, **flags: object) -> Settings:
        return load_settings(self.project().root, **flags)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="schemactl")
@click.option(
    "--project-dir",
    "-C",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project directory (holds schema/, migrations/, alembic.ini). "
    "Default: the nearest one at or above the current directory.",
)
@click.pass_context
def main(ctx: click.Context, project_dir: Path | None) -> None:
    """Declarative PostgreSQL schema migrations.

    Edit the schema in schema/*.yaml; `schemactl plan` writes the next reviewed
    Alembic revision and its offline SQL; `schemactl apply` brings a database to head.

    The database comes from --database-url, DATABASE_URL (environment or .env),
    or, when none is set, an embedded PostgreSQL 18 kept under .schemactl/.

    Exit codes: 0 ok or no changes, 1 error, 2 usage error, 3 changes pending,
    4 refused because of unacknowledged hazards.
    """
    ctx.obj = Context(project_dir)


pass_context = click.make_pass_decorator(Context)


def echo(text: str = "", err: bool = False) -> None:
    """All output goes through here, so that no password ever reaches the terminal, and
    --json, -q and colour are honoured (cli/output.py)."""
    output.echo(text, err=err)


def fail(exc: BaseException) -> None:
    """Report an error and exit with its code."""
    if isinstance(exc, (SpecError, SchemactlError)):
        output.emit_error(exc.message if isinstance(exc, SchemactlError) else str(exc),
                          exc.hint if isinstance(exc, SchemactlError) else None)
    if isinstance(exc, SpecError):
        for diagnostic in exc.diagnostics:
            echo(str(diagnostic), err=True)
        n = len(exc.diagnostics)
        echo(f"{n} error{'s' if n != 1 else ''} found.", err=True)
        sys.exit(EXIT_ERROR)
    if isinstance(exc, SchemactlError):
        echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    raise exc


def handle_errors(fn: F) -> F:
    """Turn our errors, and the database's, into messages and exit codes; anything else
    stays a traceback (a bug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (SchemactlError, SpecError) as exc:
            fail(exc)
        except (sqlalchemy.exc.DBAPIError, psycopg.Error) as exc:
            fail(SchemactlError(f"database: {pg_message(exc)}"))
        except sqlalchemy.exc.ArgumentError as exc:  # an unparseable URL
            fail(SchemactlError(f"invalid database URL: {redact(str(exc))}"))

    return wrapper  # type: ignore[return-value]


database_url_option = click.option(
    "--database-url",
    envvar=None,
    help="Target database URL (overrides DATABASE_URL). Default: the embedded PostgreSQL.",
)
