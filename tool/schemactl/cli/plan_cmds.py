"""Commands: init, plan."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import click

from schemactl.cli import output
from schemactl.cli.common import Context, echo, handle_errors, main, message_text, pass_context
from schemactl.diff import noop_cache
from schemactl.errors import EXIT_HAZARD, EXIT_PENDING
from schemactl.files import FileTransaction, check_writable
from schemactl.plan.locks import Lock
from schemactl.project import Project
from schemactl.render.texts import EMPTY_PLAN, NO_CHANGES

if TYPE_CHECKING:
    from schemactl.plan.build import Plan
    from schemactl.settings import Settings

# A plan of files known to plan to "No changes." (diff/noop_cache.py) answers from this
# module alone: SQLAlchemy, Alembic, psycopg, pydantic and sqlglot are imported below, by
# the plans that compare.

# What `init` writes, from the package's templates/ (copies of this repository's own files).
_SCAFFOLD = {
    "alembic.ini": "alembic.ini",
    "env.py": "migrations/env.py",
    "script.py.mako": "migrations/script.py.mako",
    "example.yaml": "schema/app.yaml",
}


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True,
              help="Replace the files init writes where they exist, and replace an existing "
              "schema/ (its YAML files are removed) by the example.")
@handle_errors
def init(directory: Path, force: bool) -> None:
    """Create a schemactl project in DIRECTORY (default: here).

    Writes alembic.ini, migrations/ (env.py, script.py.mako, versions/, sql/) and an
    example schema/app.yaml. Existing files are never overwritten, and no example is
    added to a schema/ that already holds YAML, unless --force (which says what it replaced).
    All or nothing: if any file cannot be written, nothing is.
    """
    templates = resources.files("schemactl") / "templates"
    existing_schema = _yaml_files(directory / "schema")
    targets = [directory / target for target in _SCAFFOLD.values()]
    check_writable([*targets, directory / ".gitignore", directory / ".gitattributes"])
    with FileTransaction() as files:
        if existing_schema and force:
            for path in existing_schema:
                files.remove(path)
                echo(f"  removed  {path}")
        for source, target in _SCAFFOLD.items():
            path = directory / target
            if target.startswith("schema/") and existing_schema and not force:
                echo(f"  kept     {directory / 'schema'}  (it already holds "
                     f"{len(existing_schema)} YAML file{'s' if len(existing_schema) != 1 else ''};"
                     " no example added)")
                continue
            if path.exists() and not force:
                echo(f"  exists   {path}")
                continue
            verb = "replaced" if path.exists() else "created "
            files.write_text(path, (templates / source).read_text(encoding="utf-8"))
            echo(f"  {verb} {path}")
        for folder in ("migrations/versions", "migrations/sql"):
            files.mkdir(directory / folder)
        if _append_line(files, directory / ".gitignore", ".schemactl/", ".schemactl/\n.env\n"):
            echo(f"  updated  {directory / '.gitignore'}  (.schemactl/ holds the embedded "
                 "database; .env secrets)")
        if _append_line(files, directory / ".gitattributes", _SUM_MERGE, _SUM_MERGE + "\n"):
            echo(f"  updated  {directory / '.gitattributes'}  (two branches' sum files merge; "
                 "rebase records it afresh)")
    echo("\nNext: edit schema/app.yaml, then run `schemactl plan -m \"first schema\"`.")


# Both branches add lines to the sum file: git's union driver merges them without a conflict,
# and `schemactl rebase` (or `hash`) records the file afresh.
_SUM_MERGE = "migrations/schemactl.sum merge=union"


def _append_line(files: FileTransaction, path: Path, marker: str, text: str) -> bool:
    """Add text to path (within the transaction) unless it already holds marker."""
    before = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    if marker in before:
        return False
    files.write_text(path, before + ("" if not before or before.endswith("\n") else "\n") + text)
    return True


def _yaml_files(directory: Path) -> list[Path]:
    from schemactl.spec.load import SCHEMA_SUFFIXES  # here: it loads PyYAML

    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix in SCHEMA_SUFFIXES and p.is_file())


def _default_message(plan: Plan) -> str:
    first = plan.steps[0]
    verb = {"+": "add", "-": "drop", "~": "change", "-/+": "replace"}[first.action]
    more = len(plan.steps) - 1
    return f"{verb} {first.kind} {first.name}" + (f" and {more} more" if more else "")


@main.command()
@click.option("-m", "--message", callback=message_text, help="Revision message; also names the file. "
              "Default: a summary of the first step.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 3 when changes are pending, 0 when none (for CI).")
@output.json_option
@click.option("--allow-destructive", is_flag=True,
              help="Write steps that lose data (drop table/column/enum value, narrowing type).")
@click.option("--against", metavar="URL",
              help="Compare with this live database instead of the migration history, and "
              "only print the plan (drift, adoption). The database answers catalog queries "
              "only; nothing is written. To adopt it, use `schemactl baseline`. What the YAML "
              "cannot express is listed as not compared, or as left alone when "
              "schemactl-ignore.yaml names it.")
@click.option("--no-cache", is_flag=True,
              help="Build the shadow and desired databases from scratch, ignoring what earlier "
              "plans kept (see `schemactl cache`). The plan is the same.")
@click.option("--max-lock", metavar="LEVEL",
              help="Lock budget: refuse (exit 4) any step on an existing table that holds a "
              "lock stronger than LEVEL while it scans, rewrites or builds an index, e.g. "
              "'SHARE UPDATE EXCLUSIVE' (reads and writes go on). Catalog-only steps are "
              "brief and never count. Setting: MAX_LOCK.")
@click.option("--atomic", is_flag=True, default=None,
              help="Write the revision as one transaction, all or nothing, in the blocking "
              "forms (CREATE INDEX without CONCURRENTLY, constraints validated at once). "
              "By default, steps on existing tables take lock-safe forms, in transaction "
              "groups that apply resumes after a failure. Setting: ATOMIC.")
@pass_context
@handle_errors
def plan(ctx: Context, message: str | None, check: bool, as_json: bool,
         allow_destructive: bool, against: str | None, no_cache: bool,
         max_lock: str | None, atomic: bool | None) -> None:
    """Compare schema/*.yaml with the migrations and write the next revision.

    The baseline is a throwaway shadow database upgraded through every existing
    revision; your own database is never touched. Prints the plan (+ add, ~ change,
    - drop, -/+ replace, with hazards), then writes migrations/versions/<rev>_<slug>.py
    and its offline SQL in migrations/sql/. Nothing is written when there are no changes.

    Each step on an existing table shows its lock and cost, e.g.
    [SHARE UPDATE EXCLUSIVE, scan] (see docs/locks.md).

    Exit codes: 0 written or no changes, 1 error, 3 changes pending (--check),
    4 destructive steps without --allow-destructive, or steps over the --max-lock budget.
    """
    project = ctx.project()
    _budget(max_lock)  # a bad flag is refused, also when there is nothing to plan
    if against is None and not no_cache and _known_empty(project, as_json):
        return
    from schemactl.db.urls import display, normalize
    from schemactl.pipeline import make_plan, planned_from
    from schemactl.render.human import no_changes_against, render_left, render_plan
    from schemactl.settings import shadow_server_url, version_warning

    settings = ctx.settings(max_lock=max_lock, atomic=atomic)
    budget = _budget(settings.max_lock)
    output.detail(f"schema: {_shown(project.root, project.schema_dir)}; shadow server: "
                  f"{display(shadow_server_url(settings, project.root))}")
    made_from = planned_from(project) if against is None else None
    result = make_plan(project, settings, normalize(against) if against is not None else None,
                       cache=not no_cache)
    warning = version_warning(settings) if against is None else None
    if warning:
        output.warn(warning)
    if against is not None:  # what was not compared is said, never left out silently
        for stale in result.left.stale_warnings():
            output.warn(stale)
        left = render_left(result.left)
        if left:
            echo(left + "\n")
    echo(output.plan_text(render_plan(result, NO_CHANGES if against is None
                                      else no_changes_against(result.left))))
    exit_code, written = _write_or_refuse(project, settings, result, message, check,
                                          allow_destructive, against is not None, budget,
                                          made_from)
    if as_json:
        output.emit_json("plan", {**result.as_dict(), "written": written,
                                  "warnings": ([warning] if warning else [])
                                  + result.left.stale_warnings()},
                         ok=exit_code == 0)
    if exit_code:
        sys.exit(exit_code)


def _known_empty(project: Project, as_json: bool) -> bool:
    """Say "No changes." when the files are known to plan to it (diff/noop_cache.py): no
    settings read, no database connected to, no YAML loaded (the same bytes were valid when
    it became known). The same output as the plan that compares."""
    how = noop_cache.known_empty(project, noop_cache.key(project))
    if how is None:
        return False
    output.detail({noop_cache.MARKER: "no changes: an earlier plan compared these very files",
                   noop_cache.PLANNED: "no changes: head was planned from this very YAML "
                   f"({_shown(project.root, project.sum_file)} verifies)"}[how])
    echo(output.plan_text(NO_CHANGES))
    if as_json:
        output.emit_json("plan", {**EMPTY_PLAN, "written": None, "warnings": []})
    return True


def _write_or_refuse(project: Project, settings: Settings, result: Plan, message: str | None,
                     check: bool, allow_destructive: bool, against: bool,
                     budget: Lock | None = None,
                     made_from: tuple[str, str | None] | None = None,
                     ) -> tuple[int, dict[str, str] | None]:
    """(exit code, the files written)."""
    if not result.has_changes:
        return 0, None
    if budget is not None and not _within_budget(result, budget):
        return EXIT_HAZARD, None
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
    from schemactl.pipeline import write_revision

    path = write_revision(project, result, message or _default_message(result), settings,
                          made_from)
    sql = project.sql_dir / (path.stem + ".sql")
    echo(f"\nWrote {_shown(project.root, path)}\n  and {_shown(project.root, sql)}")
    return 0, {"revision": _shown(project.root, path), "sql": _shown(project.root, sql),
               "id": path.name.split("_", 1)[0]}


def _budget(level: str | None) -> Lock | None:
    if level is None:
        return None
    try:
        return Lock.parse(level)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--max-lock / MAX_LOCK") from None


def _within_budget(result: Plan, budget: Lock) -> bool:
    from schemactl.plan.analyze import budget_violations

    over = budget_violations(result.steps, budget)
    if over:
        echo(f"\nRefused: {len(over)} step(s) over the lock budget {budget.label}:", err=True)
        for line in over:
            echo(f"  {line}", err=True)
    return not over


def _shown(root: Path, path: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
