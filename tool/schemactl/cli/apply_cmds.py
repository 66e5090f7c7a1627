"""Commands that touch real databases and the migration files' integrity:
apply, downgrade, status, check, hash."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError

from schemactl import modelgen, progress
from schemactl.apply import checksums, runner
from schemactl.apply import status as status_mod
from schemactl.apply.lock import LockHolder
from schemactl.apply.revisions import Revision
from schemactl.apply.revisions import get as get_revision
from schemactl.apply.runner import ApplyResult, Direction, Hooks, StepResult
from schemactl.cli import fleet_cmds, output
from schemactl.cli.common import (
    Context,
    database_url_option,
    echo,
    handle_errors,
    main,
    pass_context,
)
from schemactl.db.urls import InvalidURL, display, redact
from schemactl.errors import EXIT_PENDING, HazardRefused, SchemactlError
from schemactl.ignore import FILE_NAME as IGNORE_FILE
from schemactl.pipeline import lint_revisions
from schemactl.project import Project
from schemactl.settings import Settings, duration_seconds, target_url

if TYPE_CHECKING:
    from schemactl.inspect.sizes import TableSize

PROGRESS_BAR_FROM = 5  # revisions; fewer than this and a line per revision says enough


def target_of(settings: Settings, project: Project) -> URL:
    """The target URL; a malformed one is bad input (exit 1), never a traceback."""
    try:
        return target_url(settings, project.root)
    except InvalidURL:
        raise
    except (ValueError, ArgumentError) as exc:  # sqlalchemy's make_url, or not PostgreSQL
        raise SchemactlError(f"invalid database URL: {redact(str(exc))}",
                             hint="expected e.g. postgresql://app@db.example.com:5432/app") from None


class _Duration(click.ParamType):
    """5s, 500ms, 2min, or a bare number of seconds -> seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return duration_seconds(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


_DURATION = _Duration()


def _session_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by apply and downgrade (the runs that take the migration lock)."""
    options = [
        database_url_option,
        click.option("--yes", "-y", is_flag=True,
                     help="Do not ask before revisions that lose data (required without a TTY)."),
        click.option("--lock-wait", type=_DURATION, default=f"{runner.DEFAULT_LOCK_WAIT:g}s",
                     show_default=True,
                     help="How long to wait for another migration run's lock on the database "
                          "(5s, 500ms, 2min; a bare number is seconds)."),
        click.option("--lock-timeout", default=None,
                     help="PostgreSQL lock_timeout per migration statement (setting LOCK_TIMEOUT, "
                          "default 5s); a lock not had in time is retried."),
        click.option("--lock-retries", type=click.IntRange(min=0), default=None,
                     help="Retries after a lock timeout, with backoff (LOCK_RETRIES, default 3)."),
        click.option("--statement-timeout", default=None,
                     help="PostgreSQL statement_timeout (STATEMENT_TIMEOUT, default 0 = none)."),
        click.option("--dry-run", is_flag=True,
                     help="Only show the revisions that would run and their SQL; takes no "
                          "lock and changes nothing."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return output.json_option(fn, expose=False)


def _describe(rev: Revision) -> str:
    title = rev.message.splitlines()[0] if rev.message else ""
    return f"  {rev.name}" + (f"  {title}" if title and title not in rev.name else "")


def _show_plan(direction: Direction, path: list[Revision],
               sizes: Mapping[str, TableSize] | None = None) -> None:
    """The revisions and their hazards; a rewrite or long lock says how big its table is
    on this database (`sizes`)."""
    verb = "apply" if direction == "up" else "undo"
    echo(f"Revisions to {verb} ({len(path)}):")
    for rev in path:
        echo(_describe(rev))
        hazards = rev.hazards if direction == "up" else rev.downgrade_hazards
        if hazards is None:
            echo("      ? the hazards of undoing it were not recorded (planned by an older "
                 "schemactl): review its downgrade()")
        for hazard in hazards or ():
            table = hazard.costly_table
            size = f" ({table}: {sizes[table]})" if sizes and table and table in sizes else ""
            echo("      " + output.style(f"! {hazard}{size}", "hazard"))
        if not rev.transactional:
            echo("      ! not atomic: commits part way (autocommit_block); not retried")


def _is_terminal() -> bool:
    # Under --json stdout belongs to the document: no prompt may go there.
    return sys.stdin.isatty() and sys.stdout.isatty() and not output.json_requested()


def _needs_consent(direction: Direction, path: list[Revision]) -> list[Revision]:
    # Undoing a revision drops what it created, so every downgrade step can lose data.
    return list(path) if direction == "down" else [r for r in path if r.destructive]


def _confirm(yes: bool, url: URL) -> Callable[[Direction, list[Revision]], None]:
    def confirm(direction: Direction, path: list[Revision]) -> None:
        if not path:
            return
        _show_plan(direction, path, status_mod.costly_table_sizes(url, path)
                   if direction == "up" else None)
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
        self.running = ExitStack()  # the revision running now, as a step shown on a terminal

    def start(self, rev: Revision, index: int, total: int) -> None:
        self.running.close()
        self.running.enter_context(progress.step(f"running {rev.name}"))
        if self.bar is None and total >= PROGRESS_BAR_FROM and _is_terminal():
            self.bar = click.progressbar(length=total, label="Migrating",
                                         item_show_func=lambda x: x)
            self.bar.__enter__()
        if self.bar is None:
            echo(f"[{index}/{total}] {rev.name} ...")
        else:
            self.bar.current_item = rev.name
            self.bar.render_progress()

    def done(self, step: StepResult) -> None:
        self.running.close()
        if self.bar is None:
            retried = f" (after {step.attempts - 1} lock retries)" if step.attempts > 1 else ""
            echo(f"      done in {step.duration_ms} ms{retried}")
        else:
            self.bar.update(1)

    def close(self, result: ApplyResult | None) -> None:
        self.running.close()
        if self.bar is None:
            return
        self.bar.__exit__(None, None, None)
        for step in result.steps if result else []:
            echo(f"  {step.revision.name}: {step.duration_ms} ms")


def _hooks(yes: bool, lock_wait: float, progress: _Progress, url: URL) -> Hooks:
    def on_lock_wait(holder: LockHolder | None) -> None:
        who = f" (held by {holder})" if holder else ""
        echo(f"Waiting for another migration run to finish{who}; up to {lock_wait:g}s "
             "(--lock-wait) ...", err=True)

    def on_retry(rev: Revision, attempt: int, pause: float) -> None:
        echo(f"      lock timeout in {rev.name}; rolled back, retry {attempt} in {pause:g}s",
             err=True)

    def on_note(rev: Revision, message: str) -> None:
        echo(f"      {rev.name}: {message}", err=True)

    return Hooks(confirm=_confirm(yes, url), on_lock_wait=on_lock_wait, on_start=progress.start,
                 on_retry=on_retry, on_done=progress.done, on_note=on_note)


def _run(ctx: Context, direction: Direction, to: str, database_url: str | None, yes: bool,
         lock_wait: float, rebased: bool = False, dry_run: bool = False,
         **flags: object) -> None:
    project = ctx.project()
    settings = ctx.settings(database_url=database_url, **flags)
    url = target_of(settings, project)
    echo(f"Target: {display(url)}")
    output.detail(f"lock_timeout={settings.lock_timeout} statement_timeout="
                  f"{settings.statement_timeout} lock_retries={settings.lock_retries} "
                  f"lock_wait={lock_wait:g}s")
    if dry_run:
        _dry_run(project, settings, url, direction, to)
        return
    progress = _Progress()
    result = None
    hooks = _hooks(yes, lock_wait, progress, url)
    try:
        if direction == "up":
            result = runner.upgrade(project, settings, url, to, hooks, lock_wait,
                                    rebased=rebased)
        else:
            result = runner.downgrade(project, settings, url, to, hooks, lock_wait)
    finally:
        progress.close(result)
    _summary(result)
    if output.json_requested():
        output.emit_json("apply" if direction == "up" else "downgrade",
                         _result_json(url, result))


def _dry_run(project: Project, settings: Settings, url: URL, direction: Direction,
             to: str) -> None:
    from schemactl.render.offline_sql import offline_script

    result = runner.preview(project, settings, url, direction, to)
    if result.steps:
        path = [step.revision for step in result.steps]
        _show_plan(direction, path, status_mod.costly_table_sizes(url, path)
                   if direction == "up" else None)
        start, end = (result.before, result.after or "base") if direction == "up" \
            else (result.before or "base", result.after or "base")
        echo(offline_script(project, start, end, downgrade=direction == "down",
                            settings=settings))
        echo(f"Dry run: nothing was run; the database stays at {result.before or 'base (empty)'}.")
    else:
        echo(f"Nothing to do: the database is at revision {result.before or 'base (empty)'}.")
    if output.json_requested():
        output.emit_json("apply" if direction == "up" else "downgrade",
                         _result_json(url, result))


def _result_json(url: URL, result: ApplyResult) -> dict[str, Any]:
    return {"target": display(url), "direction": result.direction, "before": result.before,
            "after": result.after,
            "steps": [{"revision": output.revision_json(step.revision),
                       "duration_ms": step.duration_ms, "attempts": step.attempts}
                      for step in result.steps]}


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


def revision_given(_ctx: click.Context, param: click.Parameter, value: str) -> str:
    """An empty revision would mean "nothing" to Alembic in some places and fail in others."""
    if not value.strip():
        raise click.BadParameter("must name a revision, e.g. head, base, -1 or a revision id",
                                 param=param)
    return value


@main.command()
@_session_options
@click.option("--to", "to", default="head", show_default=True, callback=revision_given,
              help="Revision to upgrade to.")
@click.option("--rebased", is_flag=True,
              help="The database applied revisions that `schemactl rebase` has since moved: "
                   "undo them first (with their moved files' downgrade(), confirmed like any "
                   "downgrade), then apply the history in its new order.")
@fleet_cmds.fleet_option
@fleet_cmds.rollout_options
@pass_context
@handle_errors
def apply(ctx: Context, to: str, rebased: bool, database_url: str | None, yes: bool,
          lock_wait: float, lock_timeout: str | None, lock_retries: int | None,
          statement_timeout: str | None, dry_run: bool, fleet: str | None,
          concurrency: int | None, canary: str | None, fail_fast: bool) -> None:
    """Bring the database to head (or --to REV, also relative: --to +1): pending revisions
    in order, each in its own transaction, under an advisory lock. Revisions that lose data
    need confirmation (--yes). With --fleet, every target of fleet.yaml: canary first, then
    the rest."""
    if fleet is not None:
        _single_database_only(rebased=rebased, dry_run=dry_run)
        fleet_cmds.migrate(ctx, "up", to, fleet, yes, lock_wait, canary, concurrency, fail_fast,
                           lock_timeout=lock_timeout, lock_retries=lock_retries,
                           statement_timeout=statement_timeout)
        return
    _run(ctx, "up", to, database_url, yes, lock_wait, rebased, dry_run,
         lock_timeout=lock_timeout, lock_retries=lock_retries,
         statement_timeout=statement_timeout)


def _single_database_only(**flags: bool) -> None:
    used = [f"--{name.replace('_', '-')}" for name, on in flags.items() if on]
    if used:
        raise click.UsageError(f"{', '.join(used)} works on one database, not with --fleet")


# ignore_unknown_options: `downgrade -1` is a revision (one back), not an unknown option.
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("revision", callback=revision_given)
@_session_options
@fleet_cmds.fleet_option
@fleet_cmds.rollout_options
@pass_context
@handle_errors
def downgrade(ctx: Context, revision: str, database_url: str | None, yes: bool,
              lock_wait: float, lock_timeout: str | None, lock_retries: int | None,
              statement_timeout: str | None, dry_run: bool, fleet: str | None,
              concurrency: int | None, canary: str | None, fail_fast: bool) -> None:
    """Take the database down to REVISION: an id, -1 (one back), -N, or "base" (undo all);
    one revision per transaction, under the same lock and checks as apply. Shows the hazards
    of each undo (recorded when it was planned). Always asks (or needs --yes): undoing
    loses data. With --fleet, every target of fleet.yaml."""
    if revision.startswith("-") and not revision[1:].isdigit():
        raise click.UsageError(f"no such option: {revision}")
    if fleet is not None:
        _single_database_only(dry_run=dry_run)
        fleet_cmds.migrate(ctx, "down", revision, fleet, yes, lock_wait, canary, concurrency,
                           fail_fast, lock_timeout=lock_timeout, lock_retries=lock_retries,
                           statement_timeout=statement_timeout)
        return
    _run(ctx, "down", revision, database_url, yes, lock_wait, dry_run=dry_run,
         lock_timeout=lock_timeout, lock_retries=lock_retries,
         statement_timeout=statement_timeout)


@main.command()
@database_url_option
@fleet_cmds.fleet_option
@output.json_option
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
    url = target_of(settings, project)
    report = status_mod.status(project, settings, url)
    if as_json:
        output.emit_json("status", _status_json(url, report), ok=report.clean)
    for warning in report.warnings:
        output.warn(warning)
    echo(f"Target: {display(url)}")
    echo(f"Revision: {report.current or 'base (empty)'}"
         + ("" if report.current == report.head else f" (head: {report.head or 'none'})"))
    _show_status_details(report)
    if not report.clean:
        sys.exit(EXIT_PENDING)


def _status_json(url: URL, report: status_mod.StatusReport) -> dict[str, Any]:
    return {
        "target": display(url), "current": report.current, "head": report.head,
        "clean": report.clean,
        "pending": [output.revision_json(rev) for rev in report.pending],
        "table_sizes": {table: {"rows": size.rows, "total_bytes": size.total_bytes}
                        for table, size in sorted(report.sizes.items())},
        "drift": [{"object": item.object, "change": item.change, "diff": item.diff}
                  for item in report.drift],
        "file_problems": [{"path": p.path, "reason": p.reason} for p in report.file_problems],
        "edited_after_apply": report.edited_after_apply,
        "warnings": report.warnings,
        "left_alone": [item.as_dict() for item in report.left_alone],
        "not_compared": [item.as_dict() for item in report.not_compared],
    }


def _show_status_details(report: status_mod.StatusReport) -> None:
    if report.pending:
        _show_plan("up", report.pending, report.sizes)
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
        echo("Drift: " + output.style("none", "ok"))
    if report.left_alone:
        n = len(report.left_alone)
        echo(f"Left alone: {n} object{'s' if n != 1 else ''} that {IGNORE_FILE} names "
             "(never drift):")
        for alone in report.left_alone:
            echo(f"  {alone}")
    if report.not_compared:
        n = len(report.not_compared)
        echo(f"Not compared: {n} object{'s' if n != 1 else ''} the YAML cannot express "
             f"(drift in them is not seen; name them in {IGNORE_FILE} to leave them alone):")
        for unseen in report.not_compared:
            echo(f"  {unseen}")
    for problem in report.file_problems:
        echo(f"File changed: {problem}")
    for path in report.edited_after_apply:
        echo(f"Edited after it was applied: {path}")


@main.command()
@click.option("--models", "models_ref", metavar="MODULE:ATTR",
              help="Also compare the application's own SQLAlchemy models (a declarative base, "
                   "registry or MetaData, e.g. app.models:Base) with the YAML: every difference "
                   "is a problem, named with the YAML's file:line.")
@output.json_option
@pass_context
@handle_errors
def check(ctx: Context, models_ref: str | None, as_json: bool) -> None:
    """For CI, no target database: the YAML matches head, the sum file is valid, there is
    exactly one head, the generated models named in pyproject.toml are up to date, and
    `schemactl lint` finds no unacknowledged hazard in any revision.
    Exit 0, or 3 saying what to run."""
    project = ctx.project()
    report = status_mod.check(project, ctx.settings())
    report.problems += modelgen.check_problems(project, models_ref)
    if not report.problems and project.versions_dir.is_dir():
        report.problems += [
            status_mod.CheckProblem(f"lint: {finding}", "use the safe form, or acknowledge it "
                                    f"with `-- schemactl: ack {finding.hazard.code}` above the "
                                    "statement, then `schemactl hash`")
            for finding in lint_revisions(project, ctx.settings()) if not finding.acknowledged]
    if as_json:
        output.emit_json("check", {
            "problems": [{"message": p.message, "fix": p.fix} for p in report.problems],
            "notes": report.notes}, ok=report.ok)
    for note in report.notes:
        echo(f"note: {note}")
    if report.ok:
        echo(output.style("OK", "ok") + ": migrations are complete and unchanged.")
        return
    for problem in report.problems:
        echo(str(problem), err=True)
    sys.exit(EXIT_PENDING)


@main.command("hash")
@click.option("--sql", "sql_of", metavar="REV", multiple=True,
              help="First render REV's offline SQL again (checked, like at plan time), after "
                   "editing a hand-written revision (`schemactl new`). Repeatable.")
@pass_context
@handle_errors
def hash_(ctx: Context, sql_of: tuple[str, ...]) -> None:
    """Re-record migrations/schemactl.sum after a deliberate, reviewed edit of a revision."""
    from schemactl.render.offline_sql import write_revision_sql

    project = ctx.project()
    if not project.migrations_dir.is_dir():
        raise SchemactlError(f"no migrations directory at {project.migrations_dir}",
                             hint="run `schemactl init` first")
    project.alembic_config()  # never record the checksums of files that do not even load
    rendered = []
    for rev in sql_of:
        rendered.append(write_revision_sql(project, get_revision(project, rev).id,
                                           ctx.settings()))
        echo(f"  wrote  {rendered[-1].relative_to(project.root)}")
    checksums.record(project, rendered)
    n = len(checksums.tracked_files(project))
    echo(f"Recorded the checksums of {n} file{'s' if n != 1 else ''} in "
         f"{project.sum_file.relative_to(project.root)}.")
