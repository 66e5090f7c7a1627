"""Column properties Alembic gets wrong or cannot change: defaults, identity, generated.

Defaults are compared as PostgreSQL prints them (pg_get_expr on both sides), which is
exact; Alembic's own server-default comparison guesses at spelling and is turned off.
"""

from __future__ import annotations

import re

from schemactl.diff.catalog import Catalog, ColumnInfo
from schemactl.diff.comparators import Steps
from schemactl.diff.comparators.enums import recreated_columns
from schemactl.diff.comparators.sequences import sequence_as
from schemactl.diff.ops import Facts, SqlStepOp, StepInfo
from schemactl.sqltext import qualified, quote_ident, quote_literal

_SERIAL = re.compile(r"^nextval\('(?P<seq>[^']+)'::regclass\)$")


def compare_columns(current: Catalog, desired: Catalog) -> Steps:
    steps = Steps()
    recreated = recreated_columns(current, desired)
    for key in sorted(set(current.columns) & set(desired.columns)):
        old, new = current.columns[key], desired.columns[key]
        if old.generated != new.generated:
            steps.after.append(_generated(old, new, desired.column_sql.get(key)))
            continue
        if old.identity != new.identity:
            steps.after.append(_identity(old, new))
        elif old.default != new.default and not _is_serial(old, new) and key not in recreated \
                and not (old.type != new.type and old.default is not None):  # see autogen.py
            steps.after.append(_default(old, new))
    return steps


def _alter(column: ColumnInfo, action: str) -> str:
    return (f"ALTER TABLE {qualified(column.schema, column.table)} "
            f"ALTER COLUMN {quote_ident(column.name)} {action}")


def _set_default(column: ColumnInfo, default: str | None) -> str:
    return _alter(column, f"SET DEFAULT {default}" if default is not None else "DROP DEFAULT")


def _default(old: ColumnInfo, new: ColumnInfo) -> SqlStepOp:
    return SqlStepOp([_set_default(new, new.default)], [_set_default(old, old.default)],
                     StepInfo("alter", "column", new.schema, new.table, new.name,
                              f"default {old.default or '(none)'} -> {new.default or '(none)'}"))


def _is_serial(old: ColumnInfo, new: ColumnInfo) -> bool:
    """A serial column's nextval default is part of identity handling, never a plain default."""
    return bool(old.default and _SERIAL.match(old.default) and new.identity)


def _identity_on(column: ColumnInfo, identity: str) -> list[str]:
    """Make a column an identity column that continues after the values it already holds."""
    table, col = qualified(column.schema, column.table), quote_ident(column.name)
    statements = []
    serial = _SERIAL.match(column.default or "")
    if serial:
        statements += [_alter(column, "DROP DEFAULT"), f"DROP SEQUENCE {serial['seq']}"]
    elif column.default is not None:
        statements.append(_alter(column, "DROP DEFAULT"))
    if column.nullable:  # PostgreSQL adds identity only to a NOT NULL column
        statements.append(_alter(column, "SET NOT NULL"))
    statements += [
        _alter(column, f"ADD GENERATED {identity.upper()} AS IDENTITY"),
        # The column argument is a name, not an identifier: no quotes inside the literal.
        f"SELECT setval(pg_get_serial_sequence({quote_literal(table)}, {quote_literal(column.name)}), "
        f"COALESCE(MAX({col}), 0) + 1, false) FROM {table}",
    ]
    return statements


def _identity_off(column: ColumnInfo, target: ColumnInfo) -> list[str]:
    """Back from identity to target's state; a serial's sequence is made again, owned by the
    column and set past its values, as `identity on` dropped it."""
    statements = [_alter(column, "DROP IDENTITY IF EXISTS")]
    if target.nullable:
        statements.append(_alter(column, "DROP NOT NULL"))
    serial = _SERIAL.match(target.default or "")
    if serial:
        table, col = qualified(column.schema, column.table), quote_ident(column.name)
        statements += [f"CREATE SEQUENCE {serial['seq']}{sequence_as(target.type)} "
                       f"OWNED BY {table}.{col}",
                       f"SELECT setval({quote_literal(serial['seq'])}, COALESCE(MAX({col}), 0) + 1, "
                       f"false) FROM {table}"]
    if target.default is not None:
        statements.append(_set_default(target, target.default))
    return statements


def _identity(old: ColumnInfo, new: ColumnInfo) -> SqlStepOp:
    info = StepInfo("alter", "column", new.schema, new.table, new.name,
                    f"identity {old.identity or '(none)'} -> {new.identity or '(none)'}")
    if old.identity and new.identity:
        return SqlStepOp([_alter(new, f"SET GENERATED {new.identity.upper()}")],
                         [_alter(old, f"SET GENERATED {old.identity.upper()}")], info)
    if new.identity:
        return SqlStepOp(_identity_on(old, new.identity), _identity_off(new, old), info)
    assert old.identity
    return SqlStepOp(_identity_off(old, new), _identity_on(new, old.identity), info)


def _add_generated(column: ColumnInfo, source: str | None = None) -> str:
    definition = source or (
        f"{quote_ident(column.name)} {column.type} GENERATED ALWAYS AS ({column.generated}) STORED"
        + ("" if column.nullable else " NOT NULL"))
    return f"ALTER TABLE {qualified(column.schema, column.table)} ADD COLUMN {definition}"


def _drop_column(column: ColumnInfo) -> str:
    return (f"ALTER TABLE {qualified(column.schema, column.table)} "
            f"DROP COLUMN {quote_ident(column.name)}")


def _generated(old: ColumnInfo, new: ColumnInfo, source: str | None) -> SqlStepOp:
    detail = f"generated {old.generated or '(none)'} -> {new.generated or '(none)'}"
    # Dropping a generated column loses nothing (the expression gives its values back); a
    # plain column made generated loses its own values.
    recompute = Facts(recomputed=True)
    if new.generated is None:
        # DROP EXPRESSION keeps the stored values as ordinary data.
        return SqlStepOp([_alter(old, "DROP EXPRESSION")], [_drop_column(old), _add_generated(old)],
                         StepInfo("alter", "column", new.schema, new.table, new.name, detail,
                                  reverse_facts=Facts(recomputed=True, replaces_values=True)))
    facts = Facts(recomputed=True, replaces_values=old.generated is None)
    reverse = ([_alter(new, "DROP EXPRESSION")] if old.generated is None
               else [_drop_column(new), _add_generated(old)])
    return SqlStepOp([_drop_column(old), _add_generated(new, source)], reverse,
                     StepInfo("alter", "column", new.schema, new.table, new.name, detail,
                              facts, Facts() if old.generated is None else recompute,
                              replaces=True))
