"""Commands around the plan that a team needs: rebase, stamp, new."""

from __future__ import annotations

import click

from schemactl.apply import runner
from schemactl.cli import output
from schemactl.cli.apply_cmds import target_of as target_url_of
from schemactl.cli.common import (
    Context,
    database_url_option,
    echo,
    handle_errors,
    main,
    pass_context,
)
from schemactl.data_migration import new_revision
from schemactl.db.urls import display
from schemactl.rebase import rebase as rebase_history


@main.command()
@click.option("--move", metavar="HEAD",
              help="The head whose revisions move on top of the other head. Default: the one "
                   "whose revision files the --upstream branch does not have (yours).")
@click.option("--upstream", default="main", show_default=True,
              help="The git branch you merged; its revisions stay where they are.")
@click.option("--replan", is_flag=True,
              help="Instead of moving this branch's revisions, delete them and plan one new "
                   "revision from the merged YAML (when the moved ones no longer apply).")
@output.json_option
@pass_context
@handle_errors
def rebase(ctx: Context, move: str | None, upstream: str, replan: bool, as_json: bool) -> None:
    """After merging a branch that also added revisions: put yours on top of it.

    Your branch's revisions (not yet in --upstream) get new ids after the other branch's
    head, keep their reviewed code, and get their offline SQL and sum entries made again.
    The whole history is then rehearsed on a shadow database; if your revisions no longer
    apply after the other branch's, nothing is changed and --replan is the way out.
    A database that applied one of your revisions under its old id is told so by apply
    and status (`schemactl apply --rebased` brings a development database along).
    """
    project = ctx.project()
    result = rebase_history(project, ctx.settings(), move, upstream, replan)
    if as_json:
        output.emit_json("rebase", {
            "onto": result.onto,
            "moved": [{"from": old, "to": new} for old, new in result.moved],
            "replanned": result.replanned,
            "pending_yaml_changes": result.pending_yaml_changes,
        })
    for old, new in result.moved:
        echo(f"  moved  {old}  ->  {new}")
    if result.replanned:
        echo(f"  planned {result.replanned} (your revisions, re-planned after {result.onto})")
    echo(f"The history is one line again, with your revisions after {result.onto}.")
    if result.pending_yaml_changes:
        output.warn("the merged YAML has changes no revision contains: run `schemactl plan`")


@main.command()
@click.argument("revision")
@database_url_option
@output.json_option
@pass_context
@handle_errors
def stamp(ctx: Context, revision: str, database_url: str | None, as_json: bool) -> None:
    """Mark the database as being at REVISION without running anything.

    For a database whose schema you made match REVISION by other means (restored, fixed by
    hand, migrated by another tool), or one that applied a revision the files no longer have.
    Under the migration lock; the files must match the sum file; each revision passed gets a
    history row (duration 0) with its file's checksum, so later edits are noticed.
    REVISION: an id, "head", or "base".
    """
    project = ctx.project()
    settings = ctx.settings(database_url=database_url)
    url = target_url_of(settings, project)
    echo(f"Target: {display(url)}")
    result = runner.stamp(project, settings, url, revision)
    if as_json:
        output.emit_json("stamp", {"target": display(url), "before": result.before,
                                   "after": result.after, "direction": result.direction,
                                   "revisions": [output.revision_json(s.revision)
                                                 for s in result.steps]})
    echo(f"Stamped: the database is now at revision {result.after or 'base (empty)'} (was "
         f"{result.before or 'base (empty)'}); nothing was run.")


@main.command()
@click.option("-m", "--message", required=True, help="What the migration does; names the file.")
@click.option("--sql", "upgrade_sql", multiple=True, metavar="STATEMENT",
              help="An SQL statement of the upgrade (repeatable, run in order).")
@click.option("--down-sql", "downgrade_sql", multiple=True, metavar="STATEMENT",
              help="An SQL statement of the downgrade (repeatable). Default: none (undoing "
                   "the revision leaves the data as it is).")
@click.option("--python", is_flag=True,
              help="Write a Python template to fill in instead (then `schemactl hash --sql REV`).")
@pass_context
@handle_errors
def new(ctx: Context, message: str, upgrade_sql: tuple[str, ...],
        downgrade_sql: tuple[str, ...], python: bool) -> None:
    """A hand-written revision after head, for a data migration (backfill, fix rows).

    \b
      schemactl new -m "backfill bio" --sql "UPDATE users SET bio = '' WHERE bio IS NULL"
      schemactl new -m "split names" --python

    The revision gets an id like every planned one, its offline SQL (checked statement by
    statement: one that loses data or changes the schema is refused, since a data migration
    declares no hazards; schema changes belong in the YAML) and its sum entry.
    """
    project = ctx.project()
    path = new_revision(project, message, list(upgrade_sql), list(downgrade_sql), python,
                        ctx.settings())
    sql = project.sql_dir / f"{path.stem}.sql"
    echo(f"Wrote {path.relative_to(project.root)}\n  and {sql.relative_to(project.root)}")
    if python:
        echo(f"Fill in upgrade() (and downgrade()), then run `schemactl hash --sql "
             f"{path.name.split('_', 1)[0]}`.")
