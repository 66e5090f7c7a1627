"""Commands: inspect (database -> YAML) and baseline (adopt an existing database)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click
from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy.engine import URL

from schemactl.cli import output as cli_output
from schemactl.cli.common import (
    Context,
    database_url_option,
    echo,
    handle_errors,
    main,
    message_text,
    pass_context,
)
from schemactl.db.urls import display
from schemactl.errors import SchemactlError
from schemactl.files import FileTransaction, check_writable
from schemactl.ignore import FILE_NAME as IGNORE_FILE
from schemactl.ignore import Sorted, load_ignore_list
from schemactl.inspect.catalog import Inspection, inspect_database
from schemactl.project import Project
from schemactl.render.yaml_spec import render
from schemactl.settings import Settings, target_url
from schemactl.spec.load import SCHEMA_SUFFIXES

_EXAMPLES = 3  # names shown per unsupported kind


def write_files(files: dict[str, str], out_dir: Path, force: bool,
                transaction: FileTransaction | None = None) -> list[Path]:
    """Write the rendered YAML, all or nothing, and return every file written. A directory
    that already holds YAML is refused unless force, which replaces it: its YAML files are
    removed (and named)."""
    paths = {out_dir / name: text for name, text in files.items()}
    existing = _yaml_files(out_dir)
    if existing and not force:
        raise SchemactlError(
            f"{out_dir} already holds a schema ({', '.join(str(p) for p in existing[:3])}"
            + (", ..." if len(existing) > 3 else "") + "); the inspected YAML would be added "
            "beside it",
            hint="pass --force to replace it, or -o DIR to write elsewhere",
        )
    check_writable([*paths, *existing])
    with contextlib.ExitStack() as stack:
        files_ = transaction or stack.enter_context(FileTransaction())
        for path in existing:
            files_.remove(path)
            if path not in paths:
                echo(f"  removed {_shown(path)}")
        for path, text in paths.items():
            echo(f"  {'replaced' if path in existing else 'wrote   '} {_shown(path)}")
            files_.write_text(path, text)
    return list(paths)


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix in SCHEMA_SUFFIXES and p.is_file())


def report_unsupported(result: Inspection) -> None:
    """The warning that lists, per kind, what the YAML left out (never dropped silently)."""
    counts = result.unsupported_counts()
    if not counts:
        return
    total = sum(counts.values())
    echo(f"warning: {total} object{'s' if total != 1 else ''} the YAML language cannot "
         "express yet were left out of the YAML:", err=True)
    width = max(len(kind) for kind in counts)
    for kind, count in counts.items():
        names = [u.name for u in result.unsupported if u.kind == kind]
        shown = ", ".join(names[:_EXAMPLES]) + (", ..." if count > _EXAMPLES else "")
        echo(f"  {kind:<{width}}  {count:>5}  {shown}", err=True)
    echo(f"  (objects a person manages are named in {IGNORE_FILE}, so that baseline, "
         "plan --against and status leave them alone: docs/ignore-list.md)", err=True)


def _summary(result: Inspection) -> str:
    spec = result.spec
    n_tables, n_enums = len(spec.tables), len(spec.enums)
    empty = len(spec.declared_schemas)
    text = (f"{n_tables} table{'s' if n_tables != 1 else ''}, "
            f"{n_enums} enum{'s' if n_enums != 1 else ''}, "
            f"{len(spec.extensions)} extension{'s' if len(spec.extensions) != 1 else ''}")
    more = [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in (
        ("function", len(spec.functions)), ("view", len(spec.views)),
        ("trigger", len(spec.triggers))) if n]
    if empty:
        more.append(f"{empty} schema{'s' if empty != 1 else ''} with none of those")
    return ", ".join([text, *more])


def _project_or_here(ctx: Context) -> Project:
    try:
        return ctx.project()
    except SchemactlError:
        return Project(Path.cwd().resolve())


def _inspect_to_yaml(settings: Settings, project: Project, schemas: tuple[str, ...],
                     out_dir: Path, split: bool, force: bool,
                     transaction: FileTransaction | None = None,
                     inspected: Inspection | None = None) -> tuple[Inspection, list[Path]]:
    """inspected: the database as already read (its report of what the YAML cannot express
    is then the caller's to show)."""
    url = target_url(settings, project.root)
    result = inspected or inspect_database(url, schemas or None)
    spec = result.spec
    if not (spec.tables or spec.enums or spec.extensions or spec.declared_schemas):
        raise SchemactlError(f"no tables, enums, extensions or schemas found in {display(url)}"
                             + (f" (schemas: {', '.join(schemas)})" if schemas else ""))
    written = write_files(render(result.spec, split), out_dir, force, transaction)
    echo(f"Inspected {display(url)}: {_summary(result)} ({result.queries} queries).")
    if inspected is None:
        report_unsupported(result)
    return result, written


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@main.command()
@database_url_option
@click.option("--schema", "schemas", multiple=True, metavar="NAME",
              help="Only this PostgreSQL schema (repeatable). Default: every user schema.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write the YAML to. Default: the project's schema/.")
@click.option("--split", is_flag=True,
              help="One file per group of tables linked by foreign keys, "
              "under a directory per schema, instead of one file per schema.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@cli_output.json_option
@pass_context
@handle_errors
def inspect(ctx: Context, database_url: str | None, schemas: tuple[str, ...],
            output: Path | None, split: bool, force: bool, as_json: bool) -> None:
    """Write the schema of an existing database as YAML (to adopt it).

    Reads the catalog in a few queries and writes one file per PostgreSQL schema
    (public.yaml, billing.yaml, ...), as a person would write it. Objects the YAML
    language cannot express yet (policies, rules, a partition's own index, ...) are listed
    in a warning with their kind, count and names. The database is only read.

    A serial column keeps its default as `default_sql: nextval('t_id_seq'::regclass)`
    and its sequence is listed: the YAML cannot create sequences, so create it by hand
    or, better, change the column to `identity: true`.
    """
    project = _project_or_here(ctx)
    settings = ctx.settings(database_url=database_url) if _has_project(ctx) else \
        Settings(database_url=database_url)  # type: ignore[arg-type]
    result, written = _inspect_to_yaml(settings, project, schemas, output or project.schema_dir,
                                       split, force)
    if as_json:
        spec = result.spec
        cli_output.emit_json("inspect", {
            "target": display(target_url(settings, project.root)),
            "files": [_shown(path) for path in written],
            "tables": len(spec.tables), "enums": len(spec.enums),
            "extensions": len(spec.extensions), "queries": result.queries,
            "unsupported": [{"kind": u.kind, "name": u.name, "reason": u.reason}
                            for u in result.unsupported]})


def _has_project(ctx: Context) -> bool:
    try:
        ctx.project()
    except SchemactlError:
        return False
    return True


def _has_yaml(directory: Path) -> bool:
    return directory.is_dir() and any(
        p.suffix in SCHEMA_SUFFIXES for p in directory.rglob("*") if p.is_file())


@main.command()
@database_url_option
@click.option("-m", "--message", default="baseline", show_default=True, callback=message_text,
              help="Message of the first revision.")
@click.option("--force", is_flag=True,
              help="Stamp the database even when it differs from the YAML.")
@pass_context
@handle_errors
def baseline(ctx: Context, database_url: str | None, message: str, force: bool) -> None:
    """Adopt an existing database: the first revision = its schema, marked as applied.

    A database holding objects the YAML cannot express (policies, a partition's own index, some
    functions, ...) is refused, naming each, unless schemactl-ignore.yaml names them all:
    then they are left alone, and listed (see docs/ignore-list.md).
    When schema/ holds no YAML yet, the database is inspected first (as `inspect`).
    The YAML is then compared with the database (as `plan --against`): they must match,
    or the stamp would claim a schema the database does not have (--force stamps anyway).
    The first revision is written to create the schema from empty, and the database is
    stamped as being at it WITHOUT running it: its data is not touched. Later plans
    start from there. Needs an empty migration history.
    """
    from schemactl.pipeline import make_plan, write_revision
    from schemactl.render.human import render_plan

    project = ctx.project()
    settings = ctx.settings(database_url=database_url)
    if any(project.versions_dir.glob("*.py")):
        raise SchemactlError(
            f"{_shown(project.versions_dir)} already has revisions: a baseline is the first one",
            hint="to compare an existing history with a database use `schemactl status`",
        )
    ignore = load_ignore_list(project.root)
    url = target_url(settings, project.root)
    _refuse_foreign_history(url)
    inspection = inspect_database(url)
    left = ignore.sort_out(inspection.unsupported)
    for stale in left.stale_warnings():
        cli_output.warn(stale)
    _refuse_what_would_vanish(url, left)
    # All or nothing: the YAML inspect writes, the revision, its SQL and the sum file are
    # taken back if anything fails before the stamp is committed.
    with FileTransaction() as files:
        if not _has_yaml(project.schema_dir):
            _inspect_to_yaml(settings, project, (), project.schema_dir, split=False, force=False,
                             transaction=files, inspected=inspection)
        difference = make_plan(project, settings, against=url, inspection=inspection)
        if difference.has_changes:
            echo(f"The YAML and {display(url)} differ; `plan --against` says:", err=True)
            echo(render_plan(difference), err=True)
            if not force:
                raise SchemactlError(
                    f"the YAML does not match {display(url)} (the steps above would be needed)",
                    hint="fix the YAML until `schemactl plan --against URL` says No changes, "
                    "or pass --force to stamp anyway",
                )
        plan = make_plan(project, settings)
        if not plan.has_changes:
            raise SchemactlError("the YAML describes an empty schema: nothing to baseline")
        files.track(project.sum_file)
        path = files.created(write_revision(project, plan, message))
        files.created(project.sql_dir / (path.stem + ".sql"))
        revision = path.name.split("_", 1)[0]
        _after_revision_written(project, revision)
        stamp(project, url, revision)
    echo(f"  wrote  {_shown(path)}")
    echo(f"Marked {display(url)} as being at revision {revision} (nothing was run on it).")
    if left.left_alone:
        n = len(left.left_alone)
        echo(f"Left alone ({IGNORE_FILE}): {n} object{'s' if n != 1 else ''} of the database "
             "that the revision does not hold:")
        for item in left.left_alone:
            echo(f"  {item}")


def _refuse_what_would_vanish(url: URL, left: Sorted) -> None:
    """A baseline leaves out of the project what the YAML cannot express: only what the
    ignore list names may be left out, else the objects would vanish from it silently."""
    if not left.not_compared:
        return
    n = len(left.not_compared)
    listed = "\n".join(f"  {item}" for item in left.not_compared)
    raise SchemactlError(
        f"{display(url)} holds {n} object{'s' if n != 1 else ''} the YAML cannot express; "
        f"the baseline would leave {'them' if n != 1 else 'it'} out of the project:\n{listed}",
        hint=f"if a person manages {'them' if n != 1 else 'it'}, name each in {IGNORE_FILE} "
        "(kind and name as listed; see docs/ignore-list.md), then run baseline again")


def _refuse_foreign_history(url: URL) -> None:
    """A database that already records Alembic revisions belongs to another history: the
    stamp would fail after the files are written, or claim a revision it never ran."""
    from sqlalchemy import create_engine, pool

    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    if current:
        raise SchemactlError(
            f"{display(url)} already records Alembic revision {', '.join(current)} "
            "(table alembic_version), which this project's empty history does not have",
            hint="baseline adopts a database without a migration history; if that table is "
            "left from another project, remove it only once you are sure",
        )


def _after_revision_written(project: Project, revision: str) -> None:
    """The offline SQL and the checksums, as `plan` writes them after a revision."""
    from schemactl.apply import checksums
    from schemactl.render.offline_sql import write_revision_sql

    checksums.record(project, [write_revision_sql(project, revision)])


def stamp(project: Project, url: object, revision: str) -> None:
    """Set the database's revision without running anything, and record it in the history
    with the file's checksum (so a later edit of it is noticed like any applied revision)."""
    from sqlalchemy import create_engine, pool

    from schemactl.apply import checksums, history

    engine = create_engine(url, poolclass=pool.NullPool)  # type: ignore[call-overload]
    try:
        with engine.connect() as conn:
            config = project.alembic_config()
            config.attributes["connection"] = conn
            command.stamp(config, revision)
            conn.commit()
            history.ensure(conn)
            path = next(project.versions_dir.glob(f"{revision}_*.py"))
            history.insert(conn, revision, checksums.file_checksum(path), "up", 0)
            conn.commit()
    finally:
        engine.dispose()
