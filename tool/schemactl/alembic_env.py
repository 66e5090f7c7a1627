"""The body of every project's migrations/env.py (which only calls run()).

Keeping it in the package means `schemactl init` scaffolds a two-line env.py, and a fix
here reaches every project. Online, it uses the connection schemactl passes in
(config.attributes["connection"]) or opens one to the configured target; offline, it
renders PostgreSQL SQL. Each revision runs in its own transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, pool

from schemactl.diff import ops as _ops  # noqa: F401  registers op.run_sql for revision files
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
    }


def run(context: Any) -> None:
    config = context.config
    project = _project(config)
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
    from schemactl.settings import load_settings, target_url

    url = target_url(load_settings(project.root), project.root)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            _run_online(context, conn, config, project)
    finally:
        engine.dispose()


def _run_online(context: Any, connection: Any, config: Any, project: Project) -> None:
    context.configure(connection=connection, **_options(config, project))
    with context.begin_transaction():
        context.run_migrations()
