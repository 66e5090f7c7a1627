"""Commands that touch real databases and the migration files' integrity:
apply, downgrade, status, check, hash."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from schemactl import modelgen
from schemactl.apply import checksums, runner
from schemactl.apply import status as status_mod
from schemactl.apply.lock import LockHolder
from schemactl.apply.revisions import Revision
from schemactl.apply.runner import ApplyResult, Direction, Hooks, StepResult
from schemactl.cli import fleet_cmds
from schemactl.cli.common import (
    Context,
    database_url_option,
    echo,
    handle_errors,
    main,
    pass_context,
)
from schemactl.db.urls import display, redact
from schemactl.errors import EXIT_PENDING, HazardRefused, SchemactlError
from schemactl.project import Project
from schemactl.settings import Settings, target_url

PROGRESS_BAR_FROM = 5  # revisions; fewer than this and a line per revision says enough


def _target(settings: Settings, project: Project) -> URL:
    """The target URL; a malformed one is bad input (exit 1), never a traceback."""
    try:
        return target_url(settings, project.root)
    except (ValueError, ArgumentError) as exc:  # sqlalchemy's make_url, or not PostgreSQL
        raise SchemactlError(f"invalid database URL: {redact(str(exc))}",
                             hint="expected e.g. postgresql://app@db.example.com:5432/app") from None


def _session_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by apply and downgrade (the runs that take the migration lock)."""
    options = [
        database_url_option,
        click.option("--yes", "-y", is_flag=True,
                     help="Do not ask before revisions that lose data (required without a TTY)."),
        click.option("--lock-wait", type=click.FloatRange(min=0), default=runner.DEFAULT_LOCK_WAIT,
                     show_default=True,
                     help="Seconds to wait for another migration run's lock on the database."),
        click.option("--lock-timeout", default=None,
                     help="PostgreSQL lock_timeout per migration statement (setting LOCK_TIMEOUT, "
                          "default 5s); a lock not had in time is retried."),
        click.option("--lock-retries", type=click.IntRange(min=0), default=None,
                     help="Retries after a lock timeout, with backoff (LOCK_RETRIES, default 3)."),
        click.option("--statement-timeout", default=None,
                     help="PostgreSQL statement_timeout (STATEMENT_TIMEOUT, default 0 = none)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _describe(rev: Revision) -> str:
    title = rev.message.splitlines()[0] if rev.message else ""
    return f"  {rev.name}" + (f"  {title}" if title and title not in rev.name else "")


def _show_plan(direction: Direction, path: list[Revision]) -> None:
    verb = "apply" if direction == "up" else "undo"
    echo(f"Revisions to {verb} ({len(path)}):")
    for rev in path:
        echo(_describe(rev))
        for hazard in rev.hazards:
            echo(f"      ! {hazard}")
        if not rev.transactional:
            echo("      ! not atomic: commits part way (autocommit_block); not retried")


def _is_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _needs_consent(direction: Direction, path: list[Revision]) -> list[Revision]:
    # Undoing a revision drops what it created, so every downgrade step can lose data.
    return list(path) if direction == "down" else [r for r in path if r.destructive]


def _confirm(yes: bool) -> Callable[[Direction, list[Revision]], None]:
    def confirm(direction: Direction, path: list[Revision]) -> None:
        if not path:
            return
        _show_plan(direction, path)
        risky = _needs_consent(direction, path)
        if not risky or yes:
            return
        names = ", ".join(r.name for r in risky)
        if not _is_terminal():
            raise HazardRefused(f"refusing to run revisions that can lose data: {names}",
                                hint="review them, then run again with --yes")
        if not click.confirm(f"{names} can lose data. Run them?", default=False):
            raise HazardRefused("not confirmed; nothing was run")

    return confirm


class _Progress:
    """A line per revision with its duration; on a terminal, a bar for long runs."""

    def __init__(self) -> None:
        self.bar: Any = None

    def start(self, rev: Revision, index: int, total: int) -> None:
        if self.bar is None and total >= PROGRESS_BAR_FROM and sys.stdout.isatty():
            self.bar = click.progressbar(length=total, label="Migrating",
                                         item_show_func=lambda x: x)
            self.bar.__enter__()
        if self.bar is None:
            echo(f"[{index}/{total}] {rev.name} ...")
        else:
            self.bar.current_item = rev.name
            self.bar.render_progress()

    def done(self, step: StepResult) -> None:
        if self.bar is None:
            retried = f" (after {step.attempts - 1} lock retries)" if step.attempts > 1 else ""
            echo(f"      done in {step.duration_ms} ms{retried}")
        else:
            self.bar.update(1)

    def close(self, result: ApplyResult | None) -> None:
        if self.bar is None:
            return
        self.bar.__exit__(None, None, None)
        for step in result.steps if result else []:
            echo(f"  {step.revision.name}: {step.duration_ms} ms")


def _hooks(yes: bool, lock_wait: float, progress: _Progress) -> Hooks:
    def on_lock_wait(holder: LockHolder | None) -> None:
        who = f" (held by {holder})" if holder else ""
        echo(f"Waiting for another migration run to finish{who}; up to {lock_wait:g}s "
             "(--lock-wait) ...", err=True)

    def on_retry(rev: Revision, attempt: int, pause: float) -> None:
        echo(f"      lock timeout in {rev.name}; rolled back, retry {attempt} in {pause:g}s",
             err=True)

    return Hooks(confirm=_confirm(yes), on_lock_wait=on_lock_wait, on_start=progress.start,
                 on_retry=on_retry, on_done=progress.done)


def _run(ctx: Context, direction: Direction, to: str, database_url: str | None, yes: bool,
         lock_wait: float, **flags: object) -> None:
    project = ctx.project()
    settings = ctx.settings(database_url=database_url, **flags)
    url = _target(settings, project)
    echo(f"Target: {display(url)}")
    progress = _Progress()
    result = None
    hooks = _hooks(yes, lock_wait, progress)
    try:
        if direction == "up":
            result = runner.upgrade(project, settings, url, to, hooks, lock_wait)
        else:
            result = runner.downgrade(project, settings, url, to, hooks, lock_wait)
    finally:
        progress.close(result)
    _summary(result)


def _summary(result: ApplyResult) -> None:
    at = result.after or "base (empty)"
    if not result.steps:
        echo(f"Nothing to do: the database is at revision {at}.")
        return
    total = sum(s.duration_ms for s in result.steps)
    verb = "Applied" if result.direction == "up" else "Undid"
    n = len(result.steps)
    echo(f"{verb} {n} revision{'s' if n != 1 else ''} in {total} ms; "
         f"the database is at revision {at}.")


@main.command()
@_session_options
@click.option("--to", "to", default="head", show_default=True,
              help="Revision to upgrade to.")
@fleet_cmds.fleet_option
@fleet_cmds.rollout_options
@pass_context
@handle_errors
def apply(ctx: Context, to: str, database_url: str | None, yes: bool, lock_wait: float,
          lock_timeout: str | None, lock_retries: int | None,
          statement_timeout: str | None, fleet: str | None, concurrency: int | None,
          canary: str | None, fail_fast: bool) -> None:
    """Bring the database to head (or --to REV): pending revisions in order, each in its own
    transaction, under an advisory lock. Revisions that lose data need confirmation (--yes).
    With --fleet, every target of fleet.yaml: canary first, then the rest."""
    if fleet is not None:
        fleet_cmds.migrate(ctx, "up", to, fleet, yes, lock_wait, canary, concurrency, fail_fast,
                           lock_timeout=lock_timeout, lock_retries=lock_retries,
                           statement_timeout=statement_timeout)
        return
    _run(ctx, "up", to, database_url, yes, lock_wait, lock_timeout=lock_timeout,
         lock_retries=lock_retries, statement_timeout=statement_timeout)


@main.command()
@click.argument("revision")
@_session_options
@fleet_cmds.fleet_option
@fleet_cmds.rollout_options
@pass_context
@handle_errors
def downgrade(ctx: Context, revision: str, database_url: str | None, yes: bool,
              lock_wait: float, lock_timeout: str | None, lock_retries: int | None,
              statement_timeout: str | None, fleet: str | None, concurrency: int | None,
              canary: str | None, fail_fast: bool) -> None:
    """Take the database down to REVISION ("base" undoes all), one revision per transaction,
    under the same lock and checks as apply. Always asks (or needs --yes): undoing loses data.
    With --fleet, every target of fleet.yaml."""
    if fleet is not None:
        fleet_cmds.migrate(ctx, "down", revision, fleet, yes, lock_wait, canary, concurrency,
                           fail_fast, lock_timeout=lock_timeout, lock_retries=lock_retries,
                           statement_timeout=statement_timeout)
        return
    _run(ctx, "down", revision, database_url, yes, lock_wait, lock_timeout=lock_timeout,
         lock_retries=lock_retries, statement_timeout=statement_timeout)


@main.command()
@database_url_option
@fleet_cmds.fleet_option
@click.option("--json", "as_json", is_flag=True, help="With --fleet: the table as JSON.")
@click.option("--drift/--no-drift", default=True,
              help="With --fleet: compare each target with its migrations (a shadow each).")
@pass_context
@handle_errors
def status(ctx: Context, database_url: str | None, fleet: str | None,
           concurrency: int | None, as_json: bool, drift: bool) -> None:
    """The database's revision, pending revisions, and drift from what its migrations say.
    Exit 0 at head with no drift, 3 otherwise. With --fleet, a table of every target,
    failed, drifted and pending ones first (exit 1 when a target could not be read)."""
    if fleet is not None:
        fleet_cmds.status(ctx, fleet, concurrency, as_json, drift)
        return
    project = ctx.project()
    settings = ctx.settings(database_url=database_url)
    url = _target(settings, project)
    report = status_mod.status(project, settings, url)
    echo(f"Target: {display(url)}")
    echo(f"Revision: {report.current or 'base (empty)'}"
         + ("" if report.current == report.head else f" (head: {report.head or 'none'})"))
    _show_status_details(report)
    if not report.clean:
        sys.exit(EXIT_PENDING)


def _show_status_details(report: status_mod.StatusReport) -> None:
    if report.pending:
        _show_plan("up", report.pending)
        echo("  run `schemactl apply` to apply them")
    else:
        echo("Pending: none")
    if report.drift:
        echo(f"Drift: the database differs from its migrations in {len(report.drift)} "
             f"object{'s' if len(report.drift) != 1 else ''}:")
        for item in report.drift:
            echo(f"  {item}")
            for line in item.diff:
                echo(f"      {line}")
        echo("  (+ in the database, - what the migrations create)")
    else:
        echo("Drift: none")
    for problem in report.file_problems:
        echo(f"File changed: {problem}")
    for path in report.edited_after_apply:
        echo(f"Edited after it was applied: {path}")


@main.command()
@click.option("--models", "models_ref", metavar="MODULE:ATTR",
              help="Also compare the application's own SQLAlchemy models (a declarative base, "
                   "registry or MetaData, e.g. app.models:Base) with the YAML: every difference "
                   "is a problem, named with the YAML's file:line.")
@pass_context
@handle_errors
def check(ctx: Context, models_ref: str | None) -> None:
    """For CI, no target database: the YAML matches head, the sum file is valid, there is
    exactly one head, and the generated models named in pyproject.toml are up to date.
    Exit 0, or 3 saying what to run."""
    project = ctx.project()
    report = status_mod.check(project, ctx.settings())
    report.problems += modelgen.check_problems(project, models_ref)
    for note in report.notes:
        echo(f"note: {note}")
    if report.ok:
        echo("OK: migrations are complete and unchanged.")
        return
    for problem in report.problems:
        echo(str(problem), err=True)
    sys.exit(EXIT_PENDING)


@main.command("hash")
@pass_context
@handle_errors
def hash_(ctx: Context) -> None:
    """Re-record migrations/schemactl.sum after a deliberate, reviewed edit of a revision."""
    project = ctx.project()
    if not project.migrations_dir.is_dir():
        raise SchemactlError(f"no migrations directory at {project.migrations_dir}",
                             hint="run `schemactl init` first")
    checksums.record(project)
    n = len(checksums.tracked_files(project))
    echo(f"Recorded the checksums of {n} file{'s' if n != 1 else ''} in "
         f"{project.sum_file.relative_to(project.root)}.")
