"""Command: history (the runs recorded in a target's schemactl_history, newest first)."""

from __future__ import annotations

from typing import Any

import click

from schemactl.cli import fleet_cmds, output
from schemactl.cli.apply_cmds import target_of
from schemactl.cli.common import (
    Context,
    database_url_option,
    echo,
    handle_errors,
    main,
    pass_context,
)
from schemactl.db.urls import display
from schemactl.errors import SchemactlError
from schemactl.fleet.targets import Target
from schemactl.fleet.tasks import Job, run


def show_runs(runs: list[dict[str, Any]], indent: str = "") -> None:
    if not runs:
        echo(f"{indent}no runs recorded")
        return
    for r in runs:
        verb = "applied" if r["direction"] == "up" else "undone"
        if r["result"] != "ok":
            verb = "FAILED" + (" (downgrade)" if r["direction"] == "down" else "")
        elif r.get("group"):  # one transaction group of a revision that commits part way
            verb = f"group {r['group']} " + ("applied" if r["direction"] == "up" else "undone")
        echo(f"{indent}{r['applied_at'][:19].replace('T', ' ')}  {r['revision']:<8} {verb:<8} "
             f"by {r['applied_by']}  {r['duration_ms']} ms")
        if r.get("error"):
            echo(f"{indent}    error: {r['error'].splitlines()[0]}")


@main.command()
@database_url_option
@output.json_option
@click.option("--limit", "-n", type=click.IntRange(min=1), default=None,
              help="Only the last N runs of each target.")
@fleet_cmds.fleet_option
@pass_context
@handle_errors
def history(ctx: Context, database_url: str | None, as_json: bool, limit: int | None,
            fleet: str | None, concurrency: int | None) -> None:
    """Revisions run on the database, newest first: revision, when, by whom, how long, and
    the result (a failed run is rolled back and recorded with its error). With --fleet,
    the history of every target."""
    if fleet is not None:
        fleet_cmds.history(ctx, fleet, concurrency, as_json, limit)
        return
    project = ctx.project()
    settings = ctx.settings(database_url=database_url)
    url = target_of(settings, project)
    outcome = run(Job(project.root, settings, "history", limit=limit), Target(url))
    if outcome.failed:  # one target: its failure is the command's error (a document too)
        raise SchemactlError(f"cannot read the history of {display(url)}: {outcome.error}")
    runs = outcome.detail.get("runs", [])
    if as_json:
        output.emit_json("history", {"target": display(url), "revision": outcome.after,
                                     "runs": runs})
    else:
        echo(f"Target: {display(url)} (at {outcome.after or 'base'})")
        show_runs(runs)
