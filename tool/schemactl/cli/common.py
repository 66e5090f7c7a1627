"""What every command shares: the project, settings, output helpers and error handling."""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from schemactl import __version__, progress
from schemactl.cli import output, registry
from schemactl.cli.progress import TerminalProgress
from schemactl.db.urls import redact
from schemactl.errors import EXIT_ERROR, SchemactlError, SpecError
from schemactl.project import Project, find_project

if TYPE_CHECKING:
    from schemactl.settings import Settings

# Nothing heavy is imported here: --help and validate start without SQLAlchemy, Alembic,
# psycopg or pydantic (cli/registry.py). An error of one of those libraries can only exist
# once the library is loaded, so the checks below look for it in sys.modules.

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    project_dir: Path | None

    def project(self) -> Project:
        if self.project_dir is not None:
            return Project(self.project_dir.resolve())
        return find_project()

    def settings(self, **flags: object) -> Settings:
        from schemactl.settings import load_settings

        return load_settings(self.project().root, **flags)


DEBUG_ENV = "SCHEMACTL_DEBUG"
EXIT_INTERRUPTED = 130  # the shell's convention for a process ended by Ctrl-C (128 + SIGINT)


def debugging() -> bool:
    """--debug or SCHEMACTL_DEBUG=1: let unexpected errors show their traceback."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.find_root().meta.get(DEBUG_ENV):
        return True
    return os.environ.get(DEBUG_ENV, "").lower() not in ("", "0", "false", "no")


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[DEBUG_ENV] = True


class _Main(click.Group):
    """The command group; no exception leaves it as a traceback unless --debug asks.

    A command's module is imported when the command is looked up (cli/registry.py), so
    `--help` lists every command without importing any of them."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(registry.COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            entry = registry.COMMANDS.get(cmd_name)
            modules = [entry[0]] if entry else registry.command_modules()
            for module in modules:  # a command missing from the table is still found
                importlib.import_module(f"schemactl.cli.{module}")
            output.add_common_options(self)  # -q, -v, --no-color on what just registered
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, but a command not loaded yet shows its summary from the registry."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                summary = click.Command(name, help=registry.COMMANDS[name][1])
                rows.append((name, summary.get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with progress.listening(TerminalProgress(ctx)):  # long steps shown on a terminal
                return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            output.emit_error("interrupted", None)
            echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # noqa: BLE001  (the one place that turns anything into a message)
            fail(exc)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="schemactl")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help=f"Show the Python traceback of an unexpected error (for bug reports; also {DEBUG_ENV}=1).",
)
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
    4 refused because of unacknowledged hazards, 130 interrupted (Ctrl-C).
    """
    ctx.obj = Context(project_dir)


pass_context = click.make_pass_decorator(Context)


def echo(text: str = "", err: bool = False) -> None:
    """All output goes through here, so that no password ever reaches the terminal, and
    --json, -q and colour are honoured (cli/output.py)."""
    output.echo(text, err=err)


def fail(exc: BaseException) -> None:
    """Report an error and exit with its code: one message, never a traceback unless
    debugging (then an unexpected error is re-raised for its traceback). Under --json the
    error is also the run's one JSON document, whatever the kind of error."""
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
    if is_database_error(exc):
        fail(database_error(exc))
    if _is(exc, "pydantic", "ValidationError"):  # a setting from a flag, the environment or .env
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                             for e in exc.errors())  # type: ignore[attr-defined]
        fail(SchemactlError(f"invalid setting: {redact(problems)}",
                            hint="check the flag, the environment variable or .env"))
    if isinstance(exc, OSError) and not debugging():
        where = f"{exc.filename}: " if exc.filename else ""
        fail(SchemactlError(f"{where}{exc.strerror or exc}"))
    message = f"internal error: {type(exc).__name__}: {_safe(exc)}"
    hint = (f"this is a bug in schemactl; run again with --debug (or {DEBUG_ENV}=1) "
            "for the traceback, and report it")
    output.emit_error(message, hint)
    if debugging():
        raise exc
    echo(f"error: {message}", err=True)
    echo(f"  hint: {hint}", err=True)
    sys.exit(EXIT_ERROR)


def _is(exc: BaseException, module: str, name: str) -> bool:
    """exc is an instance of module.name, without importing the module (not loaded: it is not)."""
    loaded = sys.modules.get(module)
    kind = getattr(loaded, name, None) if loaded is not None else None
    return isinstance(kind, type) and isinstance(exc, kind)


def is_database_error(exc: BaseException) -> bool:
    return _is(exc, "sqlalchemy.exc", "DBAPIError") or _is(exc, "psycopg", "Error")


def database_error(exc: BaseException) -> SchemactlError:
    from schemactl.db.errors import pg_message

    return SchemactlError(f"database: {pg_message(exc)}")  # type: ignore[arg-type]


def _safe(exc: BaseException) -> str:
    """An exception's text, shortened, with any lone surrogate made printable."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text[:300].encode("utf-8", "backslashreplace").decode("utf-8")


def handle_errors(fn: F) -> F:
    """Turn our errors, and the database's, into messages and exit codes; anything else
    stays a traceback (a bug)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (SchemactlError, SpecError) as exc:
            fail(exc)
        except Exception as exc:
            if is_database_error(exc):
                fail(database_error(exc))
            if _is(exc, "sqlalchemy.exc", "ArgumentError"):  # an unparseable URL
                fail(SchemactlError(f"invalid database URL: {redact(str(exc))}"))
            raise

    return wrapper  # type: ignore[return-value]


database_url_option = click.option(
    "--database-url",
    envvar=None,
    help="Target database URL (overrides DATABASE_URL). Default: the embedded PostgreSQL.",
)


def message_text(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A message names a file and stands in its docstring: it must be real text."""
    if value is not None:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise click.BadParameter("is not valid text (it holds a lone surrogate or "
                                     "undecodable bytes)", param=param) from None
    return value
