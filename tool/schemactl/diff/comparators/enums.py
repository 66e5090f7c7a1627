"""Enum types: create, drop, add values, and remove or reorder values.

PostgreSQL can add a value in place (ALTER TYPE ... ADD VALUE) but never remove one, so a
removal or reorder recreates the type: rename the old one away, create the new one, convert
every column that uses it through text, drop the old one. Rows that still hold a removed
value make the conversion fail, so nothing is lost silently.
(Renames of types and values are in renames.py.)
"""

from __future__ import annotations

import re

from schemactl.diff.catalog import Catalog, ColumnInfo, Constraint, Index
from schemactl.diff.comparators import Steps
from schemactl.diff.comparators.constraints import create_sql, drop_sql
from schemactl.diff.ops import Facts, SqlStepOp, StepInfo
from schemactl.sqltext import qualified, quote_ident, quote_literal


def create_type_sql(schema: str, name: str, labels: tuple[str, ...]) -> str:
    values = ", ".join(quote_literal(v) for v in labels)
    return f"CREATE TYPE {qualified(schema, name)} AS ENUM ({values})"


def compare_enums(current: Catalog, desired: Catalog) -> Steps:
    steps = Steps()
    for key in sorted(set(desired.enums) - set(current.enums)):
        schema, name = key
        steps.before.append(SqlStepOp(
            [create_type_sql(schema, name, desired.enums[key])],
            [f"DROP TYPE {qualified(schema, name)}"],
            StepInfo("create", "enum", schema, None, name, detail=", ".join(desired.enums[key]))))
    for key in sorted(set(current.enums) - set(desired.enums)):
        schema, name = key
        steps.last.append(SqlStepOp(
            [f"DROP TYPE {qualified(schema, name)}"],
            [create_type_sql(schema, name, current.enums[key])],
            StepInfo("drop", "enum", schema, None, name)))
    for key in sorted(set(current.enums) & set(desired.enums)):
        old, new = current.enums[key], desired.enums[key]
        if old != new:
            steps.before.append(_change_values(key, old, new, current, desired))
    return steps


def _change_values(key: tuple[str, str], old: tuple[str, ...], new: tuple[str, ...],
                   current: Catalog, desired: Catalog) -> SqlStepOp:
    schema, name = key
    columns = _columns_using(current, schema, name)
    dependents = _dependents(columns, current, desired)
    detail = f"[{', '.join(old)}] -> [{', '.join(new)}]"
    info = StepInfo("alter", "enum", schema, None, name, detail,
                    Facts(removed_values=tuple(v for v in old if v not in new)),
                    Facts(removed_values=tuple(v for v in new if v not in old)))
    back = {(c.schema, c.table, c.name): c.default for c in columns}
    ahead = {k: desired.columns[k].default if k in desired.columns else None for k in back}
    forward = (_add_values(schema, name, old, new) if _is_append_only(old, new)
               else _recreate(schema, name, new, columns, ahead, dependents))
    return SqlStepOp(forward, _recreate(schema, name, old, columns, back, dependents), info)


def _dependents(columns: list[ColumnInfo], current: Catalog,
                desired: Catalog) -> list[Constraint | Index]:
    """Checks and indexes that mention a column of the enum and stay as they are: PostgreSQL
    cannot carry them across the type swap, so they are dropped before it and made again
    after. (Changed or removed ones are dropped earlier by comparators/constraints.py.)"""
    found: list[Constraint | Index] = []
    for column in columns:
        word = re.compile(rf"\b{re.escape(column.name)}\b")
        candidates: list[tuple[tuple[str, str, str], Constraint | Index]] = [
            *current.constraints.items(), *current.indexes.items()]
        for key, obj in candidates:
            if key[:2] != (column.schema, column.table) or obj in found:
                continue
            if isinstance(obj, Constraint) and obj.kind != "c":
                continue
            if word.search(obj.definition) and _desired_same(key, obj, desired):
                found.append(obj)
    return found


def _desired_same(key: tuple[str, str, str], obj: Constraint | Index, desired: Catalog) -> bool:
    other = (desired.constraints if isinstance(obj, Constraint) else desired.indexes).get(key)
    return other is not None and other.definition == obj.definition


def recreated_columns(current: Catalog, desired: Catalog) -> set[tuple[str, str, str]]:
    """Columns whose enum type is recreated: their default is set by the recreation."""
    return {(c.schema, c.table, c.name)
            for key in set(current.enums) & set(desired.enums)
            if not _is_append_only(current.enums[key], desired.enums[key])
            for c in _columns_using(current, *key)}


def _is_append_only(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    """True when new keeps every old value in the same order and only inserts values."""
    kept = [v for v in new if v in old]
    return kept == list(old)


def _add_values(schema: str, name: str, old: tuple[str, ...], new: tuple[str, ...]) -> list[str]:
    statements = []
    for i, value in enumerate(new):
        if value in old:
            continue
        following = next((v for v in new[i + 1:] if v in old), None)
        position = f" BEFORE {quote_literal(following)}" if following else ""
        # IF NOT EXISTS: a run that stopped after it committed (offline SQL run again from
        # the top, a hand-made autocommit block) can run it again.
        statements.append(f"ALTER TYPE {qualified(schema, name)} ADD VALUE IF NOT EXISTS "
                          f"{quote_literal(value)}{position}")
    return statements


def _recreate(schema: str, name: str, labels: tuple[str, ...], columns: list[ColumnInfo],
              defaults: dict[tuple[str, str, str], str | None],
              dependents: list[Constraint | Index]) -> list[str]:
    old_name = f"{name}__old"
    statements = [drop_sql(obj) for obj in dependents]
    statements += [f"ALTER TYPE {qualified(schema, name)} RENAME TO {quote_ident(old_name)}",
                   create_type_sql(schema, name, labels)]
    for column in columns:
        table, col = qualified(column.schema, column.table), quote_ident(column.name)
        array = "[]" if column.type.endswith("[]") else ""
        if column.default is not None:
            statements.append(f"ALTER TABLE {table} ALTER COLUMN {col} DROP DEFAULT")
        statements.append(
            f"ALTER TABLE {table} ALTER COLUMN {col} TYPE {qualified(schema, name)}{array} "
            f"USING {col}::text{array}::{qualified(schema, name)}{array}")
        default = defaults[(column.schema, column.table, column.name)]
        if default is not None:
            statements.append(f"ALTER TABLE {table} ALTER COLUMN {col} SET DEFAULT {default}")
    statements.append(f"DROP TYPE {qualified(schema, old_name)}")
    return statements + [create_sql(obj) for obj in dependents]


def _columns_using(catalog: Catalog, schema: str, name: str) -> list[ColumnInfo]:
    # format_type qualifies a type outside public, so a bare name is public's enum only.
    spellings = {f"{schema}.{name}", qualified(schema, name)} | ({name} if schema == "public" else set())
    return [c for c in catalog.columns.values() if c.type.removesuffix("[]") in spellings]
