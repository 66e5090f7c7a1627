"""Command: lint (the plan's analyzers over the offline SQL of existing revisions)."""

from __future__ import annotations

import sys

import click

from schemactl.cli import output
from schemactl.cli.common import Context, echo, handle_errors, main, pass_context
from schemactl.errors import EXIT_HAZARD
from schemactl.pipeline import lint_revisions


@main.command()
@click.argument("revisions", nargs=-1, metavar="[REV]...")
@click.option("--all", "show_all", is_flag=True, help="Also list acknowledged findings.")
@output.json_option
@pass_context
@handle_errors
def lint(ctx: Context, revisions: tuple[str, ...], show_all: bool, as_json: bool) -> None:
    """Check the SQL of revisions (default: all) for hazards: locks held while a table is
    scanned or rewritten, blocking index builds, drops of data.

    Reads migrations/sql/<rev>_<slug>.sql, hand-edited or not (or the SQL rendered from a
    hand-written revision file), statement by statement, with the same rules as `plan`.
    A finding is acknowledged when the revision records the same hazard code (plan wrote
    it, the revision was reviewed) or a comment `-- schemactl: ack CODE` stands just above
    the statement. Each finding names its revision and line.

    Exit codes: 0 no unacknowledged finding, 1 error, 4 unacknowledged findings.
    """
    project = ctx.project()
    findings = lint_revisions(project, ctx.settings(), revisions)
    open_ = [f for f in findings if not f.acknowledged]
    if as_json:  # every finding, acknowledged or not: a dashboard filters for itself
        output.emit_json("lint", {
            "findings": [{"revision": f.revision, "line": f.line, "acknowledged": f.acknowledged,
                          "hazard": output.hazard_json(f.hazard)} for f in findings],
            "unacknowledged": len(open_)}, ok=not open_)
    for finding in findings if show_all else open_:
        echo(str(finding))
    acknowledged = len(findings) - len(open_)
    echo(f"{len(open_)} unacknowledged finding{'s' if len(open_) != 1 else ''}, "
         f"{acknowledged} acknowledged.")
    if open_:
        sys.exit(EXIT_HAZARD)
