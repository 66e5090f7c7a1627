"""The body of every project's migrations/env.py (which only calls run()).

Keeping it in the package means `schemactl init` scaffolds a two-line env.py, and a fix
here reaches every project. Online, it uses the connection schemactl passes in
(config.attributes["connection"]) or opens one to the configured target; offline, it
renders PostgreSQL SQL. Each revision runs in its own transaction.

Plain Alembic in a schemactl project is made as safe as schemactl itself:
- `alembic revision --autogenerate` refuses and points to `schemactl plan` (plain
  autogenerate drops schemactl's history table, turns renames into drop + add, loses checks);
  `alembic revision -m` gets an id like schemactl's (a timestamp, not a hex id);
- `alembic upgrade` / `downgrade` run like `schemactl apply`: the files must match the sum
  file (and applied ones their history), under the migration lock, with LOCK_TIMEOUT and
  STATEMENT_TIMEOUT, and a schemactl_history row per revision in its transaction.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData

from schemactl.diff import ops as _ops  # registers op.run_sql for revision files
from schemactl.project import Project

VERSION_TABLE = "alembic_version"
# A tenant schema to migrate (fleet, schema per tenant): the version table lives in it. The
# caller's connection already has search_path set to it, so the revisions need not name it.
SCHEMA_ATTRIBUTE = "schemactl_schema"


def _project(config: Any) -> Project:
    project = config.attributes.get("schemactl_project")
    if project is not None:
        return project
    return Project(Path(config.config_file_name or ".").resolve().parent)


def _target_metadata(config: Any, project: Project) -> MetaData | None:
    """The compiled YAML, only for `alembic revision --autogenerate` (upgrades never need it)."""
    if "target_metadata" in config.attributes:
        return config.attributes["target_metadata"]
    if not getattr(config.cmd_opts, "autogenerate", False):
        return None
    from schemactl.compile import compile_spec
    from schemactl.spec.load import load
    from schemactl.spec.validate import validate

    return compile_spec(validate(load(project.schema_dir, base=project.root)))


def _options(config: Any, project: Project) -> dict[str, Any]:
    return {
        "target_metadata": _target_metadata(config, project),
        "transaction_per_migration": True,
        "include_schemas": True,
        "compare_type": True,
        "compare_server_default": True,
        "version_table": VERSION_TABLE,
        "version_table_schema": config.attributes.get(SCHEMA_ATTRIBUTE),
        # apply: record each completed transaction group, resume after the last (diff/ops.py)
        **{key: config.attributes[key] for key in (_ops.PROGRESS_OPTION, _ops.RESUME_OPTION,
                                                  _ops.NOTE_OPTION)
           if key in config.attributes},
    }


def _command(config: Any) -> str | None:
    """The alembic CLI command being run (None when called from Python, e.g. by schemactl)."""
    cmd = getattr(config.cmd_opts, "cmd", None)
    return getattr(cmd[0], "__name__", None) if cmd else None


def _revision(context: Any, config: Any, project: Project) -> None:
    """`alembic revision`: never autogenerate; a plain revision gets a schemactl-style id."""
    from alembic.util import CommandError

    if getattr(config.cmd_opts, "autogenerate", False):
        raise CommandError(
            "this is a schemactl project: plan revisions with `schemactl plan -m MESSAGE` "
            "(plain autogenerate would drop schemactl_history, turn renames into drop + add "
            "and miss CHECK constraints); for a hand-written data migration use "
            "`schemactl new -m MESSAGE`")

    def directives(_context: Any, _revision: Any, found: list[Any]) -> None:
        from schemactl.pipeline import next_revision_id

        for script in found:
            script.rev_id = next_revision_id(project)

    # No database: a revision is only a file (run_migrations here just calls the directives).
    context.configure(dialect_name="postgresql", as_sql=True, output_buffer=io.StringIO(),
                      process_revision_directives=directives, version_table=VERSION_TABLE)
    context.run_migrations()


def run(context: Any) -> None:
    config = context.config
    project = _project(config)
    if _command(config) == "revision":
        _revision(context, config, project)
        return
    if context.is_offline_mode():
        context.configure(
            dialect_name="postgresql",
            literal_binds=True,
            # Alembic's own offline recipe: with the driver's "pyformat" style, text() SQL
            # would be written with every % doubled (100% -> 100%%), which psql runs as is.
            dialect_opts={"paramstyle": "named"},
            **_options(config, project),
        )
        with context.begin_transaction():
            context.run_migrations()
        return

    connection = config.attributes.get("connection")
    if connection is not None:
        _run_online(context, connection, config, project)
        return
    _run_guarded(context, config, project)


def _run_guarded(context: Any, config: Any, project: Project) -> None:
    """Plain `alembic upgrade/downgrade`: the checks, lock, timeouts and history of apply."""
    from alembic.util import CommandError

    from schemactl.apply import history, runner
    from schemactl.apply.lock import migration_lock
    from schemactl.apply.session import migration_session
    from schemactl.errors import SchemactlError
    from schemactl.settings import load_settings, target_url

    try:
        settings = load_settings(project.root)
        url = target_url(settings, project.root)
        runner.verify_files(project)
        with migration_session(url, settings) as conn, \
                migration_lock(conn, runner.DEFAULT_LOCK_WAIT, _waiting):
            history.ensure(conn)
            edited = runner.edited_after_apply(project, conn, runner.current_revision(conn))
            if edited:
                raise SchemactlError("revision files changed after they were applied to this "
                                     "database: " + ", ".join(edited))
            _run_online(context, conn, config, project, _history_writer(project))
            conn.commit()
    except SchemactlError as exc:
        raise CommandError(f"schemactl: {exc}") from None


def _waiting(holder: Any) -> None:
    print(f"Waiting for another migration run to finish (held by {holder}) ...", file=sys.stderr)


def _history_writer(project: Project) -> Callable[..., None]:
    """on_version_apply: a schemactl_history row per revision, inside its transaction."""
    from schemactl.apply import checksums, history

    started = [time.monotonic()]

    def record(ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        script = ctx.script.get_revision(step.up_revision_id) if ctx.script else None
        path = Path(script.path) if script is not None else None
        now = time.monotonic()
        history.insert(ctx.connection, step.up_revision_id,
                       checksums.file_checksum(path) if path else "",
                       "up" if step.is_upgrade else "down", round((now - started[0]) * 1000))
        started[0] = now

    return record


def _run_online(context: Any, connection: Any, config: Any, project: Project,
                on_version_apply: Callable[..., None] | None = None) -> None:
    extra = {"on_version_apply": on_version_apply} if on_version_apply else {}
    context.configure(connection=connection, **_options(config, project), **extra)
    if config.attributes.get(_ops.RESUME_OPTION):
        _ops.resume(context.get_context(), config.attributes[_ops.RESUME_OPTION])
    with context.begin_transaction():
        context.run_migrations()
