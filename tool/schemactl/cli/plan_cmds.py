"""Commands: init, plan."""

from __future__ import annotations

import shutil
import sys
from importlib import resources
from pathlib import Path

import click

from schemactl.cli import output
from schemactl.cli.common import Context, echo, handle_errors, main, pass_context
from schemactl.db.urls import display, normalize
from schemactl.errors import EXIT_HAZARD, EXIT_PENDING
from schemactl.pipeline import make_plan, write_revision
from schemactl.plan.build import Plan
from schemactl.project import Project
from schemactl.render.human import NO_CHANGES, render_plan
from schemactl.settings import Settings, shadow_server_url, version_warning

# What `init` writes, from the package's templates/ (copies of this repository's own files).
_SCAFFOLD = {
    "alembic.ini": "alembic.ini",
    "env.py": "migrations/env.py",
    "script.py.mako": "migrations/script.py.mako",
    "example.yaml": "schema/app.yaml",
}


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(directory: Path) -> None:
    """Create a schemactl project in DIRECTORY (default: here).

    Writes alembic.ini, migrations/ (env.py, script.py.mako, versions/, sql/) and an
    example schema/app.yaml. Existing files are never overwritten.
    """
    templates = resources.files("schemactl") / "templates"
    for source, target in _SCAFFOLD.items():
        path = directory / target
        if path.exists():
            echo(f"  exists   {path}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with resources.as_file(templates / source) as template:
            shutil.copyfile(template, path)
        echo(f"  created  {path}")
    for folder in ("migrations/versions", "migrations/sql"):
        (directory / folder).mkdir(parents=True, exist_ok=True)
    gitignore = directory / ".gitignore"
    if ".schemactl/" not in (gitignore.read_text() if gitignore.exists() else ""):
        with gitignore.open("a") as handle:
            handle.write(".schemactl/\n.env\n")
        echo(f"  updated  {gitignore}  (.schemactl/ holds the embedded database; .env secrets)")
    attributes = directory / ".gitattributes"
    if _SUM_MERGE not in (attributes.read_text() if attributes.exists() else ""):
        with attributes.open("a") as handle:
            handle.write(_SUM_MERGE + "\n")
        echo(f"  updated  {attributes}  (two branches' sum files merge; rebase records it afresh)")
    echo("\nNext: edit schema/app.yaml, then run `schemactl plan -m \"first schema\"`.")


# Both branches add lines to the sum file: git's union driver merges them without a conflict,
# and `schemactl rebase` (or `hash`) records the file afresh.
_SUM_MERGE = "migrations/schemactl.sum merge=union"


def _default_message(plan: Plan) -> str:
    first = plan.steps[0]
    verb = {"+": "add", "-": "drop", "~": "change", "-/+": "replace"}[first.action]
    more = len(plan.steps) - 1
    return f"{verb} {first.kind} {first.name}" + (f" and {more} more" if more else "")


@main.command()
@click.option("-m", "--message", help="Revision message; also names the file. "
              "Default: a summary of the first step.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 3 when changes are pending, 0 when none (for CI).")
@output.json_option
@click.option("--allow-destructive", is_flag=True,
              help="Write steps that lose data (drop table/column/enum value, narrowing type).")
@click.option("--against", metavar="URL",
              help="Compare with this live database instead of the migration history, and "
              "only print the plan (drift, adoption). The database answers catalog queries "
              "only; nothing is written. To adopt it, use `schemactl baseline`.")
@click.option("--no-cache", is_flag=True,
              help="Build the shadow and desired databases from scratch, ignoring what earlier "
              "plans kept (see `schemactl cache`). The plan is the same.")
@pass_context
@handle_errors
def plan(ctx: Context, message: str | None, check: bool, as_json: bool,
         allow_destructive: bool, against: str | None, no_cache: bool) -> None:
    """Compare schema/*.yaml with the migrations and write the next revision.

    The baseline is a throwaway shadow database upgraded through every existing
    revision; your own database is never touched. Prints the plan (+ add, ~ change,
    - drop, -/+ replace, with hazards), then writes migrations/versions/<rev>_<slug>.py
    and its offline SQL in migrations/sql/. Nothing is written when there are no changes.

    Exit codes: 0 written or no changes, 1 error, 3 changes pending (--check),
    4 destructive steps without --allow-destructive.
    """
    project = ctx.project()
    settings = ctx.settings()
    output.detail(f"schema: {_shown(project.root, project.schema_dir)}; shadow server: "
                  f"{display(shadow_server_url(settings, project.root))}")
    result = make_plan(project, settings, normalize(against) if against else None,
                       cache=not no_cache)
    warning = version_warning(settings) if against is None else None
    if warning:
        output.warn(warning)
    echo(output.plan_text(render_plan(result, NO_CHANGES if against is None
                                      else "No changes. The schema matches the database.")))
    exit_code, written = _write_or_refuse(project, settings, result, message, check,
                                          allow_destructive, against is not None)
    if as_json:
        output.emit_json("plan", {**result.as_dict(), "written": written,
                                  "warnings": [warning] if warning else []},
                         ok=exit_code == 0)
    if exit_code:
        sys.exit(exit_code)


def _write_or_refuse(project: Project, settings: Settings, result: Plan, message: str | None,
                     check: bool, allow_destructive: bool,
                     against: bool) -> tuple[int, dict[str, str] | None]:
    """(exit code, the files written)."""
    if not result.has_changes:
        return 0, None
    if check:
        echo("\nChanges pending: run `schemactl plan` to write the revision.", err=True)
        return EXIT_PENDING, None
    if against:
        # A revision planned against one database would not follow from the history.
        echo("\nNothing written: --against only compares.", err=True)
        return 0, None
    destructive = result.destructive
    if destructive and not allow_destructive:
        echo("\nRefused: the plan loses data:", err=True)
        for hazard in destructive:
            echo(f"  {hazard}", err=True)
        echo("Check the steps (a rename needs `renamed_from`), then run again with "
             "--allow-destructive to write them.", err=True)
        return EXIT_HAZARD, None
    path = write_revision(project, result, message or _default_message(result), settings)
    sql = project.sql_dir / (path.stem + ".sql")
    echo(f"\nWrote {_shown(project.root, path)}\n  and {_shown(project.root, sql)}")
    return 0, {"revision": _shown(project.root, path), "sql": _shown(project.root, sql),
               "id": path.name.split("_", 1)[0]}


def _shown(root: Path, path: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
