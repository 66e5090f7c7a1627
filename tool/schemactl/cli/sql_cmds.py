"""Command: sql (offline SQL for a range of revisions, for a DBA to review and run)."""

from __future__ import annotations

from pathlib import Path

import click
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL

from schemactl.alembic_env import VERSION_TABLE
from schemactl.cli import fleet_cmds
from schemactl.cli.common import Context, database_url_option, echo, handle_errors, main, pass_context
from schemactl.errors import EXIT_USAGE, SchemactlError
from schemactl.render.offline_sql import BASE, offline_script
from schemactl.settings import target_url


class UsageError(SchemactlError):
    exit_code = EXIT_USAGE


@main.command("sql")
@click.argument("revisions", metavar="[FROM:TO]", required=False)
@click.option("--downgrade", is_flag=True,
              help="Render the downgrade from FROM back to TO (TO is required; it may be base).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the script to FILE instead of standard output.")
@click.option("--lock-timeout", metavar="DURATION",
              help="SET lock_timeout at the top of the script (default: settings, 5s).")
@click.option("--statement-timeout", metavar="DURATION",
              help="SET statement_timeout at the top of the script (default: settings, 0 = none).")
@database_url_option
@fleet_cmds.fleet_option
@pass_context
@handle_errors
def sql(ctx: Context, revisions: str | None, downgrade: bool, output: Path | None,
        lock_timeout: str | None, statement_timeout: str | None,
        database_url: str | None, fleet: str | None, concurrency: int | None) -> None:
    """Print the offline SQL script for a range of revisions.

    FROM:TO are revision ids (or base / head). Without FROM, the range starts at the
    target database's current revision (base when it has none); without TO it ends at
    head. A single id means TO. The database is only read, and only when FROM is omitted.

    \b
      schemactl sql                      current revision -> head
      schemactl sql base:head -o all.sql the whole history, for a new database
      schemactl sql 0003:0005            just revisions 0004 and 0005
      schemactl sql --downgrade 0005:0003

    The script sets lock_timeout and statement_timeout, runs each revision in
    BEGIN ... COMMIT together with its alembic_version update, and puts statements that
    cannot run in a transaction (CREATE INDEX CONCURRENTLY, ...) between transactions
    with a comment. Every statement is checked with sqlglot first; statements it could
    only read as opaque commands are marked. Run it with:

        psql -v ON_ERROR_STOP=1 -f script.sql

    With --fleet -o DIR: one script per database of fleet.yaml, each from that target's
    own revision to head; tenant schemas share their database's script, one section each
    (CREATE SCHEMA IF NOT EXISTS, SET search_path, then the revisions).
    """
    project = ctx.project()
    settings = ctx.settings(database_url=database_url, lock_timeout=lock_timeout,
                            statement_timeout=statement_timeout)
    if fleet is not None:
        if revisions or downgrade:
            raise UsageError("sql --fleet renders each target's own range to head; "
                             "it takes no FROM:TO and no --downgrade")
        fleet_cmds.sql_scripts(ctx, fleet, output, concurrency, settings)
        return
    start, end = _parse_range(revisions, downgrade)
    if start is None:
        current = _current_revision(target_url(settings, project.root))
        if downgrade and current is None:
            raise SchemactlError("the database has no revision to downgrade from",
                                 hint="give FROM explicitly: schemactl sql --downgrade FROM:TO")
        start = current or BASE
    script = offline_script(project, start, end, downgrade=downgrade, settings=settings)
    if output is None:
        # The script goes out byte for byte (a DBA pipes it to psql); it holds no URL.
        click.echo(script, nl=False)
        return
    output.write_text(script, encoding="utf-8")
    echo(f"Wrote {output}", err=True)


def _parse_range(revisions: str | None, downgrade: bool) -> tuple[str | None, str]:
    """(FROM or None for the database's revision, TO)."""
    text = (revisions or "").strip()
    if text.count(":") > 1:
        raise UsageError(f"not a range: {text!r}", hint="schemactl sql [FROM:TO], e.g. 0001:head")
    start, end = text.split(":", 1) if ":" in text else ("", text)
    if downgrade and not end.strip():
        raise UsageError("--downgrade needs the revision to go back to",
                         hint="schemactl sql --downgrade [FROM:]TO  (TO may be base)")
    return (start.strip() or None), (end.strip() or "head")


def _current_revision(url: URL) -> str | None:
    """The revision the database is at (None: none yet). The command's only query."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()
    except SchemactlError:
        raise
    except Exception as exc:
        raise SchemactlError(f"cannot read the database's current revision: {exc}") from None
    finally:
        engine.dispose()
