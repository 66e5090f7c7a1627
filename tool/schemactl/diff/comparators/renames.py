"""Renames declared with `renamed_from`: tables, columns, enum types and enum values.

Without them a rename looks like a drop plus an add, and the data is lost. A rename is
taken only when the old name still exists and the new one does not yet, so a plan made
after the rename was applied finds nothing to do. These steps are also run on the shadow
database before Alembic compares, so Alembic sees the renamed objects as unchanged.
"""

from __future__ import annotations

from schemactl.diff.catalog import Catalog
from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.spec.types import SchemaSpec
from schemactl.sqltext import qualified, quote_ident, quote_literal


def rename_steps(spec: SchemaSpec, current: Catalog) -> list[SqlStepOp]:
    return [*_tables(spec, current), *_columns(spec, current), *_enums(spec, current)]


def _tables(spec: SchemaSpec, current: Catalog) -> list[SqlStepOp]:
    steps = []
    for table in spec.tables:
        old = table.renamed_from
        if old and (table.schema, old) in current.tables \
                and (table.schema, table.name) not in current.tables:
            steps.append(SqlStepOp(
                [f"ALTER TABLE {qualified(table.schema, old)} RENAME TO {quote_ident(table.name)}"],
                [f"ALTER TABLE {qualified(table.schema, table.name)} RENAME TO {quote_ident(old)}"],
                StepInfo("rename", "table", table.schema, table.name, table.name,
                         f"{old} -> {table.name}")))
    return steps


def _table_names(spec: SchemaSpec, current: Catalog, schema: str, name: str) -> str | None:
    """The table's name in the current database: its own, or the one it is renamed from."""
    if (schema, name) in current.tables:
        return name
    table = spec.table(schema, name)
    if table and table.renamed_from and (schema, table.renamed_from) in current.tables:
        return table.renamed_from
    return None


def _columns(spec: SchemaSpec, current: Catalog) -> list[SqlStepOp]:
    steps = []
    for table in spec.tables:
        existing = _table_names(spec, current, table.schema, table.name)
        if existing is None:
            continue
        for column in table.columns:
            old = column.renamed_from
            if old and (table.schema, existing, old) in current.columns \
                    and (table.schema, existing, column.name) not in current.columns:
                name = qualified(table.schema, table.name)
                steps.append(SqlStepOp(
                    [f"ALTER TABLE {name} RENAME COLUMN {quote_ident(old)} TO {quote_ident(column.name)}"],
                    [f"ALTER TABLE {name} RENAME COLUMN {quote_ident(column.name)} TO {quote_ident(old)}"],
                    StepInfo("rename", "column", table.schema, table.name, column.name,
                             f"{old} -> {column.name}")))
    return steps


def _enums(spec: SchemaSpec, current: Catalog) -> list[SqlStepOp]:
    steps = []
    for enum in spec.enums:
        labels = current.enums.get((enum.schema, enum.name))
        old = enum.renamed_from
        if labels is None and old and (enum.schema, old) in current.enums:
            labels = current.enums[(enum.schema, old)]
            steps.append(SqlStepOp(
                [f"ALTER TYPE {qualified(enum.schema, old)} RENAME TO {quote_ident(enum.name)}"],
                [f"ALTER TYPE {qualified(enum.schema, enum.name)} RENAME TO {quote_ident(old)}"],
                StepInfo("rename", "enum", enum.schema, None, enum.name, f"{old} -> {enum.name}")))
        if labels is None:
            continue
        type_name = qualified(enum.schema, enum.name)
        for value in enum.values:
            if value.renamed_from and value.renamed_from in labels and value.name not in labels:
                steps.append(SqlStepOp(
                    [f"ALTER TYPE {type_name} RENAME VALUE {quote_literal(value.renamed_from)} "
                     f"TO {quote_literal(value.name)}"],
                    [f"ALTER TYPE {type_name} RENAME VALUE {quote_literal(value.name)} "
                     f"TO {quote_literal(value.renamed_from)}"],
                    StepInfo("rename", "enum value", enum.schema, None, enum.name,
                             f"{value.renamed_from} -> {value.name}")))
    return steps
