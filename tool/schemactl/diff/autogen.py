"""Alembic autogenerate, and the corrections its output needs before it can run.

- Enum types are created by comparators/enums.py; a column using one must not create it.
- A type change becomes our own step with an explicit USING cast (PostgreSQL needs one for
  most conversions, and Alembic's renderer drops postgresql_using); it also carries the
  column's default across, since an old default rarely casts to the new type.
- A foreign key between new tables that are not yet created in order (a cycle, or a table
  created later) is added after all the tables exist.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import ops
from sqlalchemy import ARRAY, Column, ForeignKeyConstraint, MetaData, Table, event
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.types import NullType

from schemactl.diff.catalog import INTERNAL_TABLES, Catalog
from schemactl.diff.comparators.constraints import create_sql
from schemactl.diff.ops import Facts, SqlStepOp, StepInfo
from schemactl.plan.hazards import is_narrowing, is_widening
from schemactl.plan.locks import type_change_rewrites
from schemactl.spec.types import DEFAULT_SCHEMA
from schemactl.sqltext import qualified, quote_ident
from schemactl.sqltypes import PgType

# Alembic's handling of these is replaced by comparators/constraints.py for tables that
# exist on both sides (for new tables, create_table carries them).
_OURS_ON_EXISTING_TABLES = {"index", "unique_constraint", "foreign_key_constraint"}


def autogenerate(metadata: MetaData, connection: Connection, current: Catalog,
                 desired: Catalog) -> list[ops.MigrateOperation]:
    def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                       compare_to: Any) -> bool:
        if type_ == "table":
            # Partitions are reflected as tables; comparators/partitions.py has them.
            key = (obj.schema or DEFAULT_SCHEMA, name)
            return (name not in INTERNAL_TABLES and key not in current.partitions
                    and key not in desired.partitions)
        if type_ in _OURS_ON_EXISTING_TABLES:
            table = obj.table
            return (table.schema or DEFAULT_SCHEMA, table.name) not in current.tables
        return True

    def compare_type(context: Any, inspected: Column[Any], metadata_column: Column[Any],
                     inspected_type: Any, metadata_type: Any) -> bool | None:
        # PostgreSQL's format_type() on both sides is exact for every type (precision,
        # interval fields, extension types), where Alembic's guess from SQLAlchemy types
        # misses some (timestamptz(3) vs timestamptz) and knows nothing of others.
        key = _column_key(metadata_column)
        if key in current.columns and key in desired.columns:
            old, new = current.columns[key].type, desired.columns[key].type
            return old != new and not _moved_extension_type(old, new, current, desired)
        return None

    context = MigrationContext.configure(connection, opts={
        "compare_type": compare_type,
        # Defaults, identity and generated columns are compared in comparators/columns.py.
        "compare_server_default": False,
        "include_schemas": True,
        "include_object": include_object,
    })
    with warnings.catch_warnings(), _reflected_types(current):
        # Cycles of foreign keys between new tables are handled below.
        warnings.filterwarnings("ignore", message="Cannot correctly sort tables")
        # Types SQLAlchemy cannot name are taken from the catalog (_reflected_types).
        warnings.filterwarnings("ignore", message="Did not recognize type")
        # Indexes of existing tables are compared by comparators/constraints.py, by
        # PostgreSQL's printed definition, operator classes and collations included.
        warnings.filterwarnings("ignore", message=".*detected to include an operator clause")
        produced = produce_migrations(context, metadata).upgrade_ops
    assert produced is not None
    for op in walk(produced):
        _no_create_types(op)
    for op in produced.ops:
        if isinstance(op, ops.ModifyTableOps):
            op.ops = [step for inner in op.ops
                      for step in _split_type_change(inner, current, desired)]
    result = [op for op in produced.ops if not is_empty_op(op)]
    _dropped_tables_keep_their_settings(result, current)
    result = _dropped_tables_keep_their_indexes(result, current)
    return result + _defer_forward_foreign_keys(result)


def _dropped_tables_keep_their_settings(result: list[ops.MigrateOperation],
                                        current: Catalog) -> None:
    """A downgrade re-creates a dropped table from reflection, which knows nothing of
    UNLOGGED, the table's storage parameters or its PARTITION BY: take them from the
    catalog."""
    for op in result:
        if not isinstance(op, ops.DropTableOp):
            continue
        key = (op.schema or DEFAULT_SCHEMA, op.table_name)
        if key in current.unlogged_tables:
            op.prefixes = ["UNLOGGED"]
        if key in current.table_storage:
            op.table_kw["postgresql_with"] = dict(current.table_storage[key])
        if key in current.partition_keys:
            op.table_kw["postgresql_partition_by"] = current.partition_keys[key]


def _dropped_tables_keep_their_indexes(result: list[ops.MigrateOperation],
                                       current: Catalog) -> list[ops.MigrateOperation]:
    """A downgrade re-creates a dropped table from reflection, but not its indexes (Alembic
    compares indexes only of tables that stay, see include_object): before each drop, a
    step that does nothing on the way up and creates them again on the way down."""
    out: list[ops.MigrateOperation] = []
    for op in result:
        if isinstance(op, ops.DropTableOp):
            key = (op.schema or DEFAULT_SCHEMA, op.table_name)
            out += [SqlStepOp([], [create_sql(index)], StepInfo(
                        "drop", "index", schema, table, name, index.definition))
                    for (schema, table, name), index in sorted(current.indexes.items())
                    if (schema, table) == key]
        out.append(op)
    return out


def _moved_extension_type(old: str, new: str, current: Catalog, desired: Catalog) -> bool:
    """The same type of an extension that moves to another schema (ALTER EXTENSION ... SET
    SCHEMA moves its types along): only format_type's qualifier differs."""
    def bare(type_: str, schema: str) -> str:
        return type_ if schema == DEFAULT_SCHEMA else type_.removeprefix(f"{schema}.")
    return any(bare(old, current.extensions[name]) == bare(new, desired.extensions[name])
               for name in set(current.extensions) & set(desired.extensions)
               if current.extensions[name] != desired.extensions[name])


def _column_key(column: Column[Any]) -> tuple[str, str, str]:
    return (column.table.schema or DEFAULT_SCHEMA, column.table.name, column.name)


@contextmanager
def _reflected_types(current: Catalog) -> Iterator[None]:
    """While Alembic reflects the baseline: a column whose type SQLAlchemy does not know
    (xml, pg_lsn, ltree, an array of them, ...) gets the catalog's own spelling of it, so
    that a downgrade that re-creates the column or its table can still name the type."""
    def fix(inspector: Any, table: Any, column_info: dict[str, Any]) -> None:
        type_ = column_info["type"]
        if isinstance(getattr(type_, "item_type", type_), NullType):
            key = (table.schema or DEFAULT_SCHEMA, table.name, column_info["name"])
            if key in current.columns:
                column_info["type"] = PgType(current.columns[key].type)

    event.listen(Table, "column_reflect", fix)
    try:
        yield
    finally:
        event.remove(Table, "column_reflect", fix)


def reverse(upgrade_ops: ops.UpgradeOps) -> ops.DowngradeOps:
    """The downgrade: every step undone, in reverse order. Tables Alembic re-creates from
    reflection get enum columns too, and the enum types stay ours to create."""
    downgrade = upgrade_ops.reverse()
    for op in walk(downgrade):
        _no_create_types(op)
    return downgrade


def walk(container: ops.OpContainer) -> list[ops.MigrateOperation]:
    return [inner for op in container.ops
            for inner in (op.ops if isinstance(op, ops.ModifyTableOps) else [op])]


def is_empty_op(op: ops.MigrateOperation) -> bool:
    return isinstance(op, ops.ModifyTableOps) and not op.ops


def _no_create_types(op: ops.MigrateOperation) -> None:
    columns = (op.columns if isinstance(op, ops.CreateTableOp)
               else [op.column] if isinstance(op, ops.AddColumnOp) else [])
    for column in columns:
        if isinstance(column, Column):
            _no_create_type(column.type)
    if isinstance(op, ops.AlterColumnOp):
        _no_create_type(op.modify_type)
        _no_create_type(op.existing_type)
        # MySQL-only arguments; on PostgreSQL Alembic warns about them at every upgrade.
        op.kw.pop("autoincrement", None)
        op.kw.pop("existing_autoincrement", None)


def _no_create_type(type_: Any) -> None:
    type_ = getattr(type_, "item_type", type_)  # arrays of enums
    if isinstance(type_, postgresql.ENUM):
        type_.create_type = False


def _split_type_change(op: ops.MigrateOperation, current: Catalog,
                       desired: Catalog) -> list[ops.MigrateOperation]:
    if not isinstance(op, ops.AlterColumnOp) or op.modify_type is None:
        return [op]
    old, new = op.existing_type, op.modify_type
    assert old is not None, "autogenerate always records the existing type"
    key = (op.schema or DEFAULT_SCHEMA, op.table_name, op.column_name)
    dialect = postgresql.dialect()
    old_sql, new_sql = old.compile(dialect=dialect), new.compile(dialect=dialect)
    old_default = current.columns[key].default if key in current.columns else None
    new_default = desired.columns[key].default if key in desired.columns else None
    table, column = qualified(op.schema, op.table_name), quote_ident(op.column_name)

    # Between an enum and anything else (another enum included) PostgreSQL casts only via text.
    via = ("::text[]" if isinstance(new, ARRAY) else "::text") if _is_enum(old) or _is_enum(new) else ""

    def change(type_sql: str, default: str | None) -> list[str]:
        prefix = f"ALTER TABLE {table} ALTER COLUMN {column}"
        statements = [f"{prefix} TYPE {type_sql} USING {column}{via}::{type_sql}"]
        if old_default is None:  # no default to carry: comparators/columns.py sets any new one
            return statements
        return [f"{prefix} DROP DEFAULT", *statements,
                *([f"{prefix} SET DEFAULT {default}"] if default is not None else [])]

    step = SqlStepOp(change(new_sql, new_default), change(old_sql, old_default), StepInfo(
        "alter", "column", key[0], op.table_name, op.column_name,
        f"type {old_sql} -> {new_sql}", _type_facts(old, new), _type_facts(new, old)))
    op.existing_type, op.modify_type = new, None
    untouched = (op.modify_nullable is None and op.modify_comment is False
                 and op.modify_server_default is False and op.modify_name is None)
    return [step] if untouched else [step, op]


def _type_facts(old: Any, new: Any) -> Facts:
    """How a type change treats the values there are, and whether it rewrites the table."""
    judged = ("narrowing" if is_narrowing(old, new) else "widening" if is_widening(old, new)
              else "cast")
    return Facts(type_change=judged, rewrites=type_change_rewrites(old, new))


def _is_enum(type_: Any) -> bool:
    return isinstance(getattr(type_, "item_type", type_), postgresql.ENUM)


def without_foreign_keys(result: list[ops.MigrateOperation],
                         names: set[tuple[str, str, str]]) -> None:
    """Leave these foreign keys out of the tables drop_table re-creates in a downgrade: a
    step of our own drops them earlier, and its reverse adds them back at the right time."""
    for op in result:
        if not isinstance(op, ops.DropTableOp) or op._reverse is None:
            continue
        table = (op.schema or DEFAULT_SCHEMA, op.table_name)
        op._reverse.columns = [
            item for item in op._reverse.columns
            if not (isinstance(item, ForeignKeyConstraint) and (*table, item.name) in names)]


def _defer_forward_foreign_keys(
        result: list[ops.MigrateOperation]) -> list[ops.MigrateOperation]:
    """Take out of each create_table the foreign keys to new tables not created before it;
    return them as create_foreign_key steps to run once every table exists."""
    creates = [op for op in result if isinstance(op, ops.CreateTableOp)]
    new_tables = {(op.schema, op.table_name) for op in creates}
    created: set[tuple[str | None, str]] = set()
    deferred: list[ops.MigrateOperation] = []
    for op in creates:
        created.add((op.schema, op.table_name))
        later = sorted((item for item in op.columns if isinstance(item, ForeignKeyConstraint)
                        and _target(item) in new_tables - created), key=_fk_order)
        moved = {id(fk) for fk in later}  # by identity: == on SQLAlchemy objects builds SQL
        op.columns = [item for item in op.columns if id(item) not in moved]
        deferred += [ops.CreateForeignKeyOp.from_constraint(fk) for fk in later]
    return deferred


def foreign_keys_to_new_keys(result: list[ops.MigrateOperation],
                             gaining: set[tuple[str, str]]) -> list[ops.MigrateOperation]:
    """Take out of each create_table the foreign keys to existing tables that gain a key or
    unique index in the same revision (PostgreSQL needs the key first); return them as
    create_foreign_key steps, to run after those keys are made."""
    deferred: list[ops.MigrateOperation] = []
    for op in result:
        if not isinstance(op, ops.CreateTableOp):
            continue
        later = sorted((item for item in op.columns if isinstance(item, ForeignKeyConstraint)
                        and _qualified_target(item) in gaining), key=_fk_order)
        moved = {id(fk) for fk in later}  # by identity: == on SQLAlchemy objects builds SQL
        op.columns = [item for item in op.columns if id(item) not in moved]
        deferred += [ops.CreateForeignKeyOp.from_constraint(fk) for fk in later]
    return deferred


def _fk_order(fk: ForeignKeyConstraint) -> tuple[str, list[str]]:
    """A table's constraints are a set: the steps made from them are sorted, so that the same
    schema always gives the same plan."""
    return str(fk.name or ""), [column.name for column in fk.columns]


def _qualified_target(fk: ForeignKeyConstraint) -> tuple[str, str]:
    schema, table = _target(fk)
    return schema or DEFAULT_SCHEMA, table


def _target(fk: ForeignKeyConstraint) -> tuple[str | None, str]:
    table = fk.elements[0].column.table
    return table.schema, table.name
