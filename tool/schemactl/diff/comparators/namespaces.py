"""PostgreSQL schemas and extensions: Alembic creates neither."""

from __future__ import annotations

from schemactl.diff.catalog import Catalog
from schemactl.diff.comparators import Steps
from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.spec.types import DEFAULT_SCHEMA
from schemactl.sqltext import quote_ident, quote_literal


def compare_schemas(current: Catalog, desired: Catalog) -> Steps:
    steps = Steps()
    for name in sorted(desired.schemas - current.schemas):
        steps.before.append(SqlStepOp(
            [f"CREATE SCHEMA {quote_ident(name)}"], [f"DROP SCHEMA {quote_ident(name)}"],
            StepInfo("create", "schema", name, None, name)))
    return steps


def _alter_extension(name: str, current: Catalog, desired: Catalog) -> list[SqlStepOp]:
    """Another schema (SET SCHEMA) or another version (UPDATE TO) of an installed extension."""
    ident, steps = quote_ident(name), []
    old_schema, new_schema = current.extensions[name], desired.extensions[name]
    if old_schema != new_schema:
        steps.append(SqlStepOp(
            [f"ALTER EXTENSION {ident} SET SCHEMA {quote_ident(new_schema)}"],
            [f"ALTER EXTENSION {ident} SET SCHEMA {quote_ident(old_schema)}"],
            StepInfo("alter", "extension", new_schema, None, name,
                     f"schema {old_schema} -> {new_schema}")))
    old_version = current.extension_versions[name][0]
    new_version = desired.extension_versions[name][0]
    if old_version != new_version:
        # No reverse: extensions ship update scripts forward only (hstore has no path from
        # 1.8 back to 1.7), so a downgrade leaves the newer version installed.
        steps.append(SqlStepOp(
            [f"ALTER EXTENSION {ident} UPDATE TO {quote_literal(new_version)}"], [],
            StepInfo("alter", "extension", new_schema, None, name,
                     f"version {old_version} -> {new_version} (a downgrade keeps {new_version})")))
    return steps


def drop_schemas(current: Catalog, desired: Catalog) -> list[SqlStepOp]:
    """Schemas the YAML no longer names that hold nothing but what the plan itself drops or
    moves out (a table moved to another schema leaves its old one empty). They go last,
    after every drop. A schema holding anything schemactl does not manage stays: dropping
    it would take that along. `public` always stays."""
    gone = current.schemas - desired.schemas - current.busy_schemas - {DEFAULT_SCHEMA}
    return [SqlStepOp([f"DROP SCHEMA {quote_ident(name)}"], [f"CREATE SCHEMA {quote_ident(name)}"],
                      StepInfo("drop", "schema", name, None, name, "empty once the plan has run"))
            for name in sorted(gone)]


def create_extension_sql(name: str, schema: str | None, version: str | None) -> str:
    """CREATE EXTENSION, with SCHEMA outside public and VERSION when one is pinned."""
    return (f"CREATE EXTENSION IF NOT EXISTS {quote_ident(name)}"
            + (f" SCHEMA {quote_ident(schema)}" if schema and schema != DEFAULT_SCHEMA else "")
            + (f" VERSION {quote_literal(version)}" if version else ""))


def _pinned(catalog: Catalog, name: str) -> str | None:
    """The installed version when it is not the server's default (the YAML pinned it)."""
    installed, default = catalog.extension_versions.get(name, (None, None))
    return installed if installed != default else None


def compare_extensions(current: Catalog, desired: Catalog) -> Steps:
    steps = Steps()
    for name in sorted(set(desired.extensions) - set(current.extensions)):
        steps.before.append(SqlStepOp(
            [create_extension_sql(name, desired.extensions[name], _pinned(desired, name))],
            [f"DROP EXTENSION IF EXISTS {quote_ident(name)}"],
            StepInfo("create", "extension", desired.extensions[name], None, name)))
    for name in sorted(set(desired.extensions) & set(current.extensions)):
        steps.before += _alter_extension(name, current, desired)
    for name in sorted(set(current.extensions) - set(desired.extensions)):
        steps.last.append(SqlStepOp(
            [f"DROP EXTENSION {quote_ident(name)}"],
            [f"CREATE EXTENSION IF NOT EXISTS {quote_ident(name)}"],
            StepInfo("drop", "extension", current.extensions[name], None, name)))
    return steps
