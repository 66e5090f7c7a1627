"""Sequences behind `default_sql: nextval('...')`: what `create_all()` made of integer keys.

An app that grew up on create_all() has serial columns: an integer, a sequence owned by the
column, and a nextval default. schemactl keeps that as written (inspect gives
`default_sql: nextval('users_id_seq'::regclass)`); the sequence it needs is created here,
owned by its column like a serial's, and set past the values the column already holds.
A sequence owned by a column goes away with it, as in PostgreSQL; others are left alone.
Like a serial's, the sequence has its column's integer type (`AS integer` for an integer
column), and follows it when the column's type changes (bigserial -> serial).
"""

from __future__ import annotations

from schemactl.diff.catalog import Catalog
from schemactl.diff.comparators import Steps
from schemactl.diff.ops import SqlStepOp, StepInfo
from schemactl.sqltext import qualified, quote_ident, quote_literal


def compare_sequences(current: Catalog, desired: Catalog) -> Steps:
    steps = Steps()
    for key in sorted(set(desired.sequences) - set(current.sequences)):
        schema, name = key
        sequence = qualified(schema, name)
        steps.before.append(SqlStepOp(
            [f"CREATE SEQUENCE {sequence}{sequence_as(desired.sequence_types.get(key))}"],
            [f"DROP SEQUENCE IF EXISTS {sequence}"],
            StepInfo("create", "sequence", schema, None, name)))
        owner = desired.sequences[key]
        if owner is not None:
            steps.after.append(_own(sequence, owner))
    for key in sorted(set(desired.sequences) & set(current.sequences)):
        old, new = current.sequence_types.get(key), desired.sequence_types.get(key)
        if old and new and old != new:
            sequence = qualified(*key)
            steps.after.append(SqlStepOp(
                [f"ALTER SEQUENCE {sequence} AS {new}"], [f"ALTER SEQUENCE {sequence} AS {old}"],
                StepInfo("alter", "sequence", key[0], None, key[1], f"type {old} -> {new}")))
    return steps


def sequence_as(type_: str | None) -> str:
    """The AS clause of CREATE SEQUENCE for a column of type_ (format_type's spelling):
    a serial's sequence has its column's type; bigint is the default and needs no clause."""
    return f" AS {type_}" if type_ in ("smallint", "integer") else ""


def _own(sequence: str, owner: tuple[str, str, str]) -> SqlStepOp:
    schema, table, column = owner
    table_sql, column_sql = qualified(schema, table), quote_ident(column)
    return SqlStepOp(
        [f"ALTER SEQUENCE {sequence} OWNED BY {table_sql}.{column_sql}",
         f"SELECT setval({quote_literal(sequence)}, COALESCE(MAX({column_sql}), 0) + 1, false) "
         f"FROM {table_sql}"],
        [f"ALTER SEQUENCE {sequence} OWNED BY NONE"],
        StepInfo("alter", "sequence", schema, table, sequence, f"owned by {table}.{column}"))
