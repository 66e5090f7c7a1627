"""Commands around the plan that a team needs: rebase, stamp, new."""

from __future__ import annotations

import click

from schemactl.cli import output
from schemactl.cli.common import Context, echo, handle_errors, main, pass_context
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
