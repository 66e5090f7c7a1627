"""The diff stage: desired MetaData vs the baseline database -> one ordered UpgradeOps.

Alembic autogenerate compares tables and columns (add, drop, type, nullability, comment);
our comparators cover what it cannot see (diff/comparators/). The order of the result is
what makes it run: renames; then schemas, extensions, enum changes and the drops of
changed constraints; then Alembic's table and column steps; then constraints, indexes and
column properties that need those tables; last, drops of types nothing uses any more.
downgrade is the exact reverse.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import ops
from sqlalchemy import Column, MetaData
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from schemactl.diff.catalog import INTERNAL_TABLES, Catalog, read_catalog
from schemactl.diff.comparators import Steps
from schemactl.diff.comparators.columns import compare_columns
from schemactl.diff.comparators.constraints import compare_constraints
from schemactl.diff.comparators.enums import compare_enums
from schemactl.diff.comparators.namespaces import compare_extensions, compare_schemas
from schemactl.diff.comparators.renames import rename_steps
from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.plan.hazards import Hazard, is_narrowing
from schemactl.spec.types import DEFAULT_SCHEMA, SchemaSpec
from schemactl.sqltext import qualified, quote_ident

# Alembic's handling of these is replaced by comparators/constraints.py for tables that
# exist on both sides (for new tables, create_table carries them).
_OURS_ON_EXISTING_TABLES = {"index", "unique_constraint", "foreign_key_constraint"}


def diff(metadata: MetaData, spec: SchemaSpec, baseline: Connection,
         desired: Catalog) -> ops.UpgradeOps:
    """Compare; the baseline connection must be to a database we may change (the shadow):
    renames are run on it first so that Alembic sees renamed objects as unchanged."""
    renames = rename_steps(spec, read_catalog(baseline))
    for step in renames:
        for statement in step.statements:
            baseline.exec_driver_sql(statement.replace("%", "%%"))
    current = read_catalog(baseline)
    steps = Steps()
    for compare in (compare_schemas, compare_extensions, compare_enums, compare_constraints,
                    compare_columns):
        steps.extend(compare(current, desired))
    alembic_ops = _autogenerate(metadata, baseline, current)
    return ops.UpgradeOps(ops=[*renames, *steps.before, *alembic_ops, *steps.after, *steps.last])


def without_renames(upgrade_ops: ops.UpgradeOps) -> ops.UpgradeOps:
    """The steps other than the renames diff() already ran on the baseline."""
    return ops.UpgradeOps(ops=[
        op for op in upgrade_ops.ops
        if not (isinstance(op, SqlStepOp) and op.step is not None and op.step.verb == "rename"
                and op.step.kind in ("table", "column", "enum", "enum value"))])


def _autogenerate(metadata: MetaData, connection: Connection,
                  current: Catalog) -> list[ops.MigrateOperation]:
    def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                       compare_to: Any) -> bool:
        if type_ == "table":
            return name not in INTERNAL_TABLES
        if type_ in _OURS_ON_EXISTING_TABLES:
            table = obj.table
            return (table.schema or DEFAULT_SCHEMA, table.name) not in current.tables
        return True

    context = MigrationContext.configure(connection, opts={
        "compare_type": True,
        # Defaults, identity and generated columns are compared in comparators/columns.py.
        "compare_server_default": False,
        "include_schemas": True,
        "include_object": include_object,
    })
    produced = produce_migrations(context, metadata).upgrade_ops
    assert produced is not None
    for op in _walk(produced):
        _no_create_types(op)
    for op in produced.ops:
        if isinstance(op, ops.ModifyTableOps):
            op.ops = [step for inner in op.ops for step in _split_type_change(inner)]
    return [op for op in produced.ops if not _is_empty(op)]


def _walk(container: ops.OpContainer) -> list[ops.MigrateOperation]:
    return [inner for op in container.ops
            for inner in (op.ops if isinstance(op, ops.ModifyTableOps) else [op])]


def _no_create_types(op: ops.MigrateOperation) -> None:
    """Enum types are created by comparators/enums.py; a column using one must not
    create it again."""
    columns = (op.columns if isinstance(op, ops.CreateTableOp)
               else [op.column] if isinstance(op, ops.AddColumnOp) else [])
    for column in columns:
        if isinstance(column, Column):
            _no_create_type(column.type)
    if isinstance(op, ops.AlterColumnOp):
        _no_create_type(op.modify_type)
        _no_create_type(op.existing_type)


def _split_type_change(op: ops.MigrateOperation) -> list[ops.MigrateOperation]:
    """A type change as our own step with an explicit USING cast: PostgreSQL needs one for
    most conversions (text -> integer), and Alembic's renderer drops postgresql_using."""
    if not isinstance(op, ops.AlterColumnOp) or op.modify_type is None:
        return [op]
    old, new = op.existing_type, op.modify_type
    assert old is not None, "autogenerate always records the existing type"
    dialect = postgresql.dialect()
    old_sql, new_sql = old.compile(dialect=dialect), new.compile(dialect=dialect)
    table, column = qualified(op.schema, op.table_name), quote_ident(op.column_name)

    def alter(type_sql: str) -> str:
        return f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {type_sql} USING {column}::{type_sql}"

    where = f"table {op.table_name}, column {op.column_name}"
    hazard = (Hazard("DS106", where, "values that do not fit are lost or rejected")
              if is_narrowing(old, new)
              else Hazard("MF105", where, "existing values are cast to the new type"))
    reverse_hazard = (Hazard("DS106", where, "values that do not fit are lost or rejected")
                      if is_narrowing(new, old) else None)
    step = SqlStepOp([alter(new_sql)], [alter(old_sql)], StepInfo(
        "alter", "column", op.schema or DEFAULT_SCHEMA, op.table_name, op.column_name,
        f"type {old_sql} -> {new_sql}", (hazard,), (reverse_hazard,) if reverse_hazard else ()))
    op.existing_type, op.modify_type = new, None
    untouched = (op.modify_nullable is None and op.modify_comment is False
                 and op.modify_server_default is False and op.modify_name is None)
    return [step] if untouched else [step, op]


def _no_create_type(type_: Any) -> None:
    type_ = getattr(type_, "item_type", type_)  # arrays of enums
    if isinstance(type_, postgresql.ENUM):
        type_.create_type = False


def _is_empty(op: ops.MigrateOperation) -> bool:
    return isinstance(op, ops.ModifyTableOps) and not op.ops


def is_empty(upgrade_ops: ops.UpgradeOps) -> bool:
    return not [op for op in upgrade_ops.ops if not _is_empty(op)]


__all__ = ["diff", "is_empty", "SqlStepOp"]
